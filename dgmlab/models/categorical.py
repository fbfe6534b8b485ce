"""A decoder for K-level pixels: p(x | z) = prod_d Categorical(x_d; softmax(l_d(z))).

The 8x8 digits have grey levels 0..16, so a pixel is one of K = 17 categories.
The decoder is the same MLP as ``GenerativeNetwork`` with K outputs per pixel:

    logits = MLP(z).view(..., D, K),   p(x_d = k | z) = softmax(logits_d)_k

Use it with ``densities.log_categorical`` as the bounds' likelihood:

    elbo(x, encoder, decoder, log_likelihood=log_categorical)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dgmlab import checks
from dgmlab.models.vae import _check_input, _mlp


class CategoricalGenerativeNetwork(nn.Module):
    """Decoder: z (..., L) -> categorical logits (..., D, K), an MLP.

        logits = (W_K a( ... a(W_1 z + b_1) ... ) + b_K).view(..., D, K)

    Args:
        latent_dim: L, the size of z.
        data_dim: D, the number of pixels (64 for the 8x8 digits).
        num_categories: K, levels per pixel (17 for grey levels 0..16).
        hidden_dims: widths of the hidden layers.
        activation: 'tanh', 'relu', 'softplus' or 'elu'.
    """

    def __init__(
        self,
        latent_dim: int = 2,
        data_dim: int = 64,
        num_categories: int = 17,
        hidden_dims: Sequence[int] = (256,),
        activation: str = "tanh",
    ):
        super().__init__()
        self.latent_dim = checks.positive_int("latent_dim", latent_dim)
        self.data_dim = checks.positive_int("data_dim", data_dim)
        self.num_categories = checks.positive_int("num_categories", num_categories, minimum=2)
        self.net = _mlp(latent_dim, hidden_dims, data_dim * num_categories, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (..., L) -> logits: (..., D, K)."""
        _check_input("z", z, self.latent_dim, self)
        return self.net(z).unflatten(-1, (self.data_dim, self.num_categories))  # (..., D, K)
