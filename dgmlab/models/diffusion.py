"""The networks of the diffusion models (lecture 13): a noise predictor and a masked denoiser.

``EpsMLP``: eps_hat(x_t, t) for Gaussian diffusion on R^D; the step t enters through a
sinusoidal embedding of t / T concatenated to x_t. ``MaskedDenoiser``: the logits of
p(x_{0,d} | x_t) for masking diffusion on K categories; x_t is one-hot over K + 1 symbols
(the last is the mask). The masking model needs no t: how many pixels are masked tells it.
The bounds, losses and samplers that use them are in ``dgmlab.diffusion``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dgmlab import checks

__all__ = ["EpsMLP", "MaskedDenoiser"]


class EpsMLP(nn.Module):
    """eps_hat(x_t, t): an MLP on [x_t, sin/cos(2^k pi t / T)] -> (B, D).

    Args:
        D: data dimension.
        T: number of steps (t is read as t / T).
        hidden: width of the hidden layers.
        layers: number of hidden layers.
        frequencies: sinusoidal frequencies 2^0..2^(frequencies - 1) of the time embedding.
    """

    def __init__(self, D: int, T: int, hidden: int = 128, layers: int = 3, frequencies: int = 6):
        super().__init__()
        for name, value in (("D", D), ("T", T), ("hidden", hidden), ("layers", layers),
                            ("frequencies", frequencies)):  # fmt: skip
            checks.positive_int(name, value)
        self.D, self.T = D, T
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(frequencies))
        sizes = [D + 2 * frequencies] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            blocks += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(hidden, D))

    def forward(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """xt (B, D), t (B,) integer steps in 1..T -> eps_hat (B, D)."""
        checks.tensor("xt", xt, ndim=2, last_dim=self.D, shape_hint=f"(B, {self.D})")
        checks.tensor("t", t, ndim=1, floating=False, shape_hint="(B,)")
        angle = (t.to(xt.dtype) / self.T)[:, None] * self.freqs.to(xt.dtype)
        return self.net(torch.cat([xt, angle.sin(), angle.cos()], dim=-1))


class MaskedDenoiser(nn.Module):
    """Logits of p(x_{0,d} | x_t) for every pixel: one-hot x_t (K + 1 symbols) -> (B, D, K).

    Pixels already revealed are copied by the reverse process, so only the masked pixels'
    logits are ever used.

    Args:
        D: pixels per image.
        K: categories (the mask token is K).
        hidden: width of the two hidden layers.
        dropout: dropout after each hidden layer (the digits' 1000 training images overfit).
    """

    def __init__(self, D: int, K: int, hidden: int = 512, dropout: float = 0.5):
        super().__init__()
        checks.positive_int("D", D)
        checks.positive_int("K", K, minimum=2)
        checks.positive_int("hidden", hidden)
        checks.probability("dropout", dropout, open_upper=True)
        self.D, self.K = D, K
        self.net = nn.Sequential(
            nn.Linear(D * (K + 1), hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, D * K),
        )  # fmt: skip

    def forward(self, xt: torch.Tensor) -> torch.Tensor:
        """xt (B, D) int64 in 0..K -> logits (B, D, K)."""
        checks.tensor("xt", xt, ndim=2, floating=False, shape_hint=f"(B, {self.D})")
        if xt.shape[1] != self.D:
            raise ValueError(f"xt must have shape (B, {self.D}), found {tuple(xt.shape)}")
        one_hot = nn.functional.one_hot(xt.long(), self.K + 1).flatten(1)
        return self.net(one_hot.to(self.net[0].weight.dtype)).view(-1, self.D, self.K)
