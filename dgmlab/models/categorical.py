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

from dgmlab import checks, gaussian
from dgmlab.chain_rule import sample_categorical
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

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral samples of images: z ~ N(0, I), then each pixel from its categorical.

            z ~ N(0, I_L),   x_d ~ Categorical( softmax(logits_d(z)) ),   so x ~ p(x)

        The draws are made on the generator's device (the CPU by default), outside any graph.

        Args:
            num_samples: N, images to draw.
            generator: optional ``torch.Generator`` for reproducible draws.

        Returns:
            x: (N, D) int64 levels in {0, ..., K-1}, on the decoder's device.
        """
        N = checks.positive_int("num_samples", num_samples)
        param = next(self.parameters())
        draw_device = generator.device if generator is not None else torch.device("cpu")
        zero = torch.zeros(self.latent_dim, dtype=param.dtype, device=draw_device)
        z = gaussian.standard_normal_noise(N, zero, generator)  # (N, L)
        u = torch.rand(N, self.data_dim, generator=generator, dtype=param.dtype,
                       device=draw_device)  # fmt: skip
        with torch.no_grad():
            logits = self(z.to(param.device))  # (N, D, K)
        return sample_categorical(logits, u.to(param.device))  # (N, D)
