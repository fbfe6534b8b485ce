"""Generators and discriminators for GANs (lecture 12). Training is ``dgmlab.gan_training``.

A generator is a sampler x = g(z), z ~ N(0, I_L), trained only through a discriminator D(x)
that tells its samples from the data's. Two generators:

- ``BarGenerator``: z -> pixel probabilities s(z) = sigmoid(logits(z)) and a hard binary image
  x ~ Bernoulli(s(z)). The discriminator sees hard images; the generator's gradient passes them
  by the straight-through estimator, x + s - stop_gradient(s) (forward: x, backward: the
  derivative of s). With a 1-D latent its distribution over all 2^D images is computed after
  training by quadrature, p_G(x) = integral N(z) prod_d Bern(x_d; s_d(z)) dz; nothing in the
  GAN's training uses it.
- ``PointGenerator``: z -> a point in R^d (the ring of Gaussians). With L < d its samples lie on
  an L-dimensional surface: p_G has no density on R^d, so no likelihood at all.

``Discriminator`` is an MLP x -> logit; with ``minibatch_std=True`` each input is also shown the
per-feature standard deviation of its whole minibatch, so a generator whose batch is too
uniform (mode collapse) is easy to reject.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dgmlab import checks
from dgmlab.evidence import log_evidence
from dgmlab.models.vae import GenerativeNetwork, _check_input, _mlp

__all__ = ["BarGenerator", "Discriminator", "PointGenerator", "straight_through"]


def straight_through(probs: torch.Tensor, generator: torch.Generator | None = None):
    """Hard Bernoulli samples whose gradient is that of their probabilities.

        x = [u < s] + s - stop_gradient(s),  u ~ U(0, 1):  forward x in {0, 1}, dx/ds := 1

    Args:
        probs: (..., D) probabilities s in [0, 1].
        generator: for u.

    Returns:
        (..., D) binary values in the dtype of probs, differentiable through probs.
    """
    checks.tensor("probs", probs, min_ndim=1, shape_hint="(..., D)")
    u = torch.rand(probs.shape, generator=generator, dtype=probs.dtype).to(probs.device)
    hard = (u < probs).to(probs.dtype)
    return hard + (probs - probs.detach())  # exactly hard: the bracket is 0 in the forward


def _latent(module: nn.Module, n: int, latent_dim: int, generator) -> torch.Tensor:
    checks.positive_int("n", n, minimum=0)
    param = next(module.parameters())
    z = torch.randn(n, latent_dim, generator=generator, dtype=param.dtype)
    return z.to(param.device)


class BarGenerator(nn.Module):
    """z ~ N(0, I_L) -> pixel probabilities sigmoid(logits(z)) -> a hard binary image.

    Args:
        latent_dim: L (1 gives an exact p_G by quadrature).
        data_dim: D pixels.
        hidden_dims, activation: the MLP (``models.vae.GenerativeNetwork``, the VAE's decoder).
    """

    def __init__(
        self,
        latent_dim: int = 1,
        data_dim: int = 16,
        hidden_dims: Sequence[int] = (32, 32),
        activation: str = "tanh",
    ):
        super().__init__()
        self.network = GenerativeNetwork(latent_dim, data_dim, hidden_dims, activation)
        self.latent_dim, self.data_dim = latent_dim, data_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (..., L) -> pixel probabilities (..., D)."""
        return torch.sigmoid(self.network(z))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, D) hard images, differentiable by the straight-through estimator."""
        z = _latent(self, n, self.latent_dim, generator)
        return straight_through(self(z), generator)

    def log_prob(self, x: torch.Tensor, num_points: int = 2001) -> torch.Tensor:
        """Exact log p_G(x) by quadrature over a 1-D latent (``evidence.log_evidence``).

        Args:
            x: (B, D) binary images.
            num_points: the quadrature grid (odd).

        Returns:
            (B,) log p_G(x) in nats.
        """
        if self.latent_dim != 1:
            raise ValueError(
                f"log_prob needs latent_dim 1 (quadrature over z), found {self.latent_dim}; "
                "with more latent dimensions p_G has no exact form here"
            )
        return log_evidence(x, self.network, num_points=num_points)


class PointGenerator(nn.Module):
    """z ~ N(0, I_L) -> x = g(z) in R^d, an MLP: no noise, so p_G lives on g's image.

    Args:
        latent_dim: L.
        data_dim: d.
        hidden_dims, activation: the MLP.
    """

    def __init__(
        self,
        latent_dim: int = 2,
        data_dim: int = 2,
        hidden_dims: Sequence[int] = (64, 64),
        activation: str = "relu",
    ):
        super().__init__()
        self.latent_dim = checks.positive_int("latent_dim", latent_dim)
        self.data_dim = checks.positive_int("data_dim", data_dim)
        self.net = _mlp(latent_dim, hidden_dims, data_dim, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (..., L) -> x: (..., d)."""
        _check_input("z", z, self.latent_dim, self)
        return self.net(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, d) points x = g(z), differentiable in g's parameters."""
        return self(_latent(self, n, self.latent_dim, generator))


class Discriminator(nn.Module):
    """x -> the logit of D(x), the probability that x is real, an MLP.

        D(x) = sigmoid(f([x, sd(batch)]))   with ``minibatch_std``, else sigmoid(f(x))

    where sd(batch) (D,) is each feature's standard deviation over the minibatch x belongs to.

    Args:
        data_dim: D.
        hidden_dims, activation: the MLP.
        minibatch_std: show every input its minibatch's per-feature standard deviation.
    """

    def __init__(
        self,
        data_dim: int = 16,
        hidden_dims: Sequence[int] = (64, 64),
        activation: str = "relu",
        minibatch_std: bool = False,
    ):
        super().__init__()
        self.data_dim = checks.positive_int("data_dim", data_dim)
        if not isinstance(minibatch_std, bool):
            raise TypeError(f"minibatch_std must be a bool, found {type(minibatch_std).__name__}")
        self.minibatch_std = minibatch_std
        in_dim = 2 * data_dim if minibatch_std else data_dim
        self.net = _mlp(in_dim, hidden_dims, 1, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D) one minibatch -> logits (B,)."""
        _check_input("x", x, self.data_dim, self)
        if x.dim() != 2:
            raise ValueError(f"x must have shape (B, {self.data_dim}), found {tuple(x.shape)}")
        if self.minibatch_std:
            if x.shape[0] < 2:
                raise ValueError(
                    f"x must hold at least 2 rows for minibatch_std, found {x.shape[0]}"
                )
            sd = x.std(dim=0, keepdim=True).expand_as(x)
            x = torch.cat([x, sd], dim=1)
        return self.net(x).squeeze(-1)
