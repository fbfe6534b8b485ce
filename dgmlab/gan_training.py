"""Training a GAN (lecture 12): alternate a discriminator step and a generator step.

    D step:  minimize  -V(D, G) = -E_data[log D(x)] - E_z[log (1 - D(g(z)))]
    G step:  minimize  -E_z[log D(g(z))]   (non-saturating)   or   E_z[log (1 - D(g(z)))]

Adam with beta_1 = 0.5 for both, as is usual for GANs. The losses are ``dgmlab.adversarial``'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from dgmlab import checks
from dgmlab.adversarial import discriminator_loss, generator_loss

__all__ = ["GanHistory", "fit_gan"]


@dataclass
class GanHistory:
    """The losses of every step of ``fit_gan`` and its wall-clock seconds."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def fit_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    saturating: bool = False,
    generator_rng: torch.Generator | None = None,
) -> GanHistory:
    """Train a generator (anything with ``.sample(n, generator)``) against a discriminator.

    Args:
        generator: draws (n, D) samples differentiable in its parameters.
        discriminator: (B, D) -> logits (B,).
        data: (N, D) training data, on the models' device.
        steps: alternating (D, G) steps.
        batch_size: samples of each kind per step.
        lr: Adam's learning rate for both.
        saturating: the generator minimizes E[log (1 - D)] instead of -E[log D].
        generator_rng: for minibatches, latents and pixel noise.

    Returns:
        GanHistory with one discriminator and one generator loss per step.
    """
    checks.tensor("data", data, ndim=2, shape_hint="(N, D)")
    checks.positive_int("steps", steps, minimum=0)
    checks.positive_int("batch_size", batch_size, minimum=2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    history = GanHistory()
    start = time.perf_counter()
    for _ in range(steps):
        index = torch.randint(len(data), (batch_size,), generator=generator_rng)
        real = data[index.to(data.device)]
        fake = generator.sample(batch_size, generator_rng)
        d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        fake = generator.sample(batch_size, generator_rng)
        g_loss = generator_loss(discriminator(fake), saturating=saturating)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        history.d_loss.append(float(d_loss.detach()))
        history.g_loss.append(float(g_loss.detach()))
    history.seconds = time.perf_counter() - start
    return history
