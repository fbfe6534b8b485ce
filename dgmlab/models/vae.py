"""The decoder p(x | z) and the encoder q(z | x) of a variational autoencoder.

The lecture's two functions:

    def generative_network(z, ...):   # decoder
        ...
        return bernoulli_logits       # for binary pixels

    def inference_network(x, latent_dim=1):   # encoder
        ...
        return mu, sigma

are here as small ``torch.nn.Module`` multi-layer perceptrons.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dgmlab import bounds, checks, gaussian

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "softplus": nn.Softplus, "elu": nn.ELU}


def _mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int, activation: str) -> nn.Sequential:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, found {activation!r}")
    if isinstance(hidden_dims, int) or not all(
        isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden_dims
    ):
        raise ValueError(
            f"hidden_dims must be a sequence of positive ints, e.g. (32,), found {hidden_dims!r}"
        )
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden_dims:
        layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _check_input(name: str, value: torch.Tensor, last_dim: int, module: nn.Module) -> None:
    checks.tensor(name, value, min_ndim=1, last_dim=last_dim, shape_hint=f"(..., {last_dim})")
    param = next(module.parameters())
    if value.device != param.device:
        raise ValueError(
            f"{name} must be on the network's device {param.device}, found {value.device}; "
            f"move it with {name}.to({str(param.device)!r})"
        )
    if value.dtype != param.dtype:
        raise TypeError(f"{name} must have the network's dtype {param.dtype}, found {value.dtype}")


class GenerativeNetwork(nn.Module):
    """Decoder: z -> Bernoulli logits over D pixels, an MLP.

        logits = W_K a( ... a(W_1 z + b_1) ... ) + b_K,   p(x_d = 1 | z) = sigmoid(logits_d)

    Args:
        latent_dim: L, the size of z (1 for the bar images).
        data_dim: D, the number of pixels (16 for 4x4 bars).
        hidden_dims: widths of the hidden layers.
        activation: 'tanh' (default: smooth, so exact quadrature converges fast),
            'relu', 'softplus' or 'elu'.
    """

    def __init__(
        self,
        latent_dim: int = 1,
        data_dim: int = 16,
        hidden_dims: Sequence[int] = (32,),
        activation: str = "tanh",
    ):
        super().__init__()
        self.latent_dim = checks.positive_int("latent_dim", latent_dim)
        self.data_dim = checks.positive_int("data_dim", data_dim)
        self.net = _mlp(latent_dim, hidden_dims, data_dim, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (..., L) -> logits: (..., D)."""
        _check_input("z", z, self.latent_dim, self)
        return self.net(z)


class InferenceNetwork(nn.Module):
    """Encoder: x -> (mu, sigma) of the Gaussian q(z | x) = N(mu, diag(sigma^2)), an MLP.

        h = MLP(x),   mu = h[:L],   sigma = softplus(h[L:]) + min_sigma

    softplus keeps sigma positive without the overflow of exp.

    Args:
        data_dim: D, the number of pixels.
        latent_dim: L, the size of z.
        hidden_dims: widths of the hidden layers.
        activation: as for ``GenerativeNetwork``.
        min_sigma: a floor on sigma, keeping log q finite.
    """

    def __init__(
        self,
        data_dim: int = 16,
        latent_dim: int = 1,
        hidden_dims: Sequence[int] = (32,),
        activation: str = "tanh",
        min_sigma: float = 1e-4,
    ):
        super().__init__()
        self.data_dim = checks.positive_int("data_dim", data_dim)
        self.latent_dim = checks.positive_int("latent_dim", latent_dim)
        bad_type = not isinstance(min_sigma, (int, float)) or isinstance(min_sigma, bool)
        if bad_type or not 0 <= min_sigma < float("inf"):  # also rejects NaN
            raise ValueError(f"min_sigma must be a number >= 0, found {min_sigma!r}")
        self.min_sigma = float(min_sigma)
        self.net = _mlp(data_dim, hidden_dims, 2 * latent_dim, activation)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (..., D) -> mu: (..., L), sigma: (..., L)."""
        _check_input("x", x, self.data_dim, self)
        h = self.net(x)  # (..., 2L)
        mu, pre_sigma = h.split(self.latent_dim, dim=-1)  # (..., L) each
        sigma = F.softplus(pre_sigma) + self.min_sigma
        return mu, sigma


def generative_network(
    latent_dim: int = 1, data_dim: int = 16, hidden_dims: Sequence[int] = (32,), activation="tanh"
) -> GenerativeNetwork:
    """The lecture's ``generative_network``: a decoder z (..., L) -> Bernoulli logits (..., D)."""
    return GenerativeNetwork(latent_dim, data_dim, hidden_dims, activation)


def inference_network(
    data_dim: int = 16, latent_dim: int = 1, hidden_dims: Sequence[int] = (32,), activation="tanh"
) -> InferenceNetwork:
    """The lecture's ``inference_network``: an encoder x (..., D) -> (mu, sigma), each (..., L)."""
    return InferenceNetwork(data_dim, latent_dim, hidden_dims, activation)


def count_parameters(module: nn.Module) -> int:
    """The number of tunable numbers in a network (every entry of every weight and bias)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, found {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class VAE(nn.Module):
    """A variational autoencoder: an ``InferenceNetwork`` q(z | x) and a ``GenerativeNetwork``
    p(x | z) with Bernoulli pixels and the prior p(z) = N(0, I).

        ELBO(x) = E_q[ log p(x | z) ] - KL( q(z | x) || p(z) ),   loss = -ELBO(x).mean()

    Args:
        data_dim: D, pixels per image.
        latent_dim: L.
        hidden_dims: hidden widths of both networks (unless given separately).
        activation: as for ``GenerativeNetwork``.
        encoder_hidden_dims, decoder_hidden_dims: per-network widths, overriding hidden_dims.
    """

    def __init__(
        self,
        data_dim: int = 16,
        latent_dim: int = 1,
        hidden_dims: Sequence[int] = (32,),
        activation: str = "tanh",
        encoder_hidden_dims: Sequence[int] | None = None,
        decoder_hidden_dims: Sequence[int] | None = None,
    ):
        super().__init__()
        self.encoder = InferenceNetwork(
            data_dim, latent_dim, encoder_hidden_dims or hidden_dims, activation
        )
        self.decoder = GenerativeNetwork(
            latent_dim, data_dim, decoder_hidden_dims or hidden_dims, activation
        )

    def elbo(
        self,
        x: torch.Tensor,
        num_samples: int = 1,
        generator: torch.Generator | None = None,
        analytic_kl: bool = True,
    ) -> torch.Tensor:
        """x: (B, D) -> (B,) the ELBO of each image (see ``dgmlab.bounds.elbo``)."""
        return bounds.elbo(x, self.encoder, self.decoder, num_samples, generator, analytic_kl)

    def iwae_bound(
        self, x: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """x: (B, D) -> (B,) the importance-weighted bound L_K (``dgmlab.bounds.iwae_bound``)."""
        return bounds.iwae_bound(x, self.encoder, self.decoder, num_samples, generator)

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral samples of images: x ~ p(x) = integral p(x | z) p(z) dz (see ``sample``)."""
        return sample(self.decoder, num_samples, generator)


def sample(
    decoder: nn.Module,
    num_samples: int,
    generator: torch.Generator | None = None,
    latent_dim: int | None = None,
) -> torch.Tensor:
    """Ancestral sampling from a Bernoulli decoder: first z from the prior, then the pixels.

        z ~ N(0, I),   x_d ~ Bernoulli( sigmoid(decoder(z)_d) ),   so x ~ p(x)

    Both draws are made on the generator's device (the CPU by default: the same numbers on
    every device), in the decoder's dtype, outside any graph.

    Args:
        decoder: z (N, L) -> Bernoulli logits (N, D), e.g. a ``GenerativeNetwork``.
        num_samples: N, images to draw.
        generator: optional ``torch.Generator`` for reproducible draws.
        latent_dim: L; by default ``decoder.latent_dim``.

    Returns:
        x: (N, D) binary images, 0.0 or 1.0, on the decoder's device.
    """
    N = checks.positive_int("num_samples", num_samples)
    if not isinstance(decoder, nn.Module):
        raise TypeError(f"decoder must be a torch.nn.Module, found {type(decoder).__name__}")
    if latent_dim is None:
        latent_dim = getattr(decoder, "latent_dim", None)
        if latent_dim is None:
            raise TypeError(
                f"decoder {type(decoder).__name__} has no latent_dim: pass latent_dim=L"
            )
    L = checks.positive_int("latent_dim", latent_dim)
    param = next(decoder.parameters())
    draw_device = generator.device if generator is not None else torch.device("cpu")
    zero = torch.zeros(L, dtype=param.dtype, device=draw_device)  # (L,)
    z = gaussian.standard_normal_noise(N, zero, generator)  # (N, L)
    with torch.no_grad():
        probs = torch.sigmoid(decoder(z.to(param.device)))  # (N, D)
    u = torch.rand(probs.shape, generator=generator, dtype=probs.dtype, device=draw_device)
    return (u.to(probs.device) < probs).to(probs.dtype)  # (N, D)
