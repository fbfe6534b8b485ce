"""A causal convolution (PixelCNN-style) over square images: the autoregressive model for digits.

The same chain rule as MADE, log p(x) = sum_d log p(x_{o_d} | x_{o_<d}), with the conditionals
computed by convolutions whose kernels are masked so that the output at pixel (r, c) sees only
pixels earlier in the raster ordering (the rows above, and the pixels to its left) (van den
Oord et al., 2016). The first layer's mask also hides the centre pixel (type "A"); later
layers may use the centre (type "B"), which at that point holds only information from earlier
pixels. The weights are shared across positions, so the model has few parameters for what it
can see, which is what a training set of 1000 digits needs. A pixel enters as one number,
its level scaled to [0, 1], so that neighbouring grey levels look alike to the network (a
one-hot input overfits the digits by about 3 nats). A learned bias per pixel and
category lets it know where in the image it is (the digits' borders are always blank).

The column ordering is the raster ordering of the transposed image, so ``order`` may be
either; other orderings need MADE (``dgmlab.models.made``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dgmlab import checks
from dgmlab.chain_rule import ChainRuleNetwork, check_categories, column_order, raster_order


def causal_mask(kernel_size: int, include_centre: bool) -> torch.Tensor:
    """(k, k) 0/1 mask: 1 on the rows above the centre and left of it (and on it if asked)."""
    k = checks.positive_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd, found {k}")
    m = torch.ones(k, k)
    c = k // 2
    m[c, c + int(include_centre) :] = 0  # the centre row: only pixels to the left (and centre)
    m[c + 1 :] = 0  # the rows below
    return m


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose kernel is multiplied by ``causal_mask``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, include_centre: bool):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", causal_mask(kernel_size, include_centre))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a: (B, C_in, s, s) -> (B, C_out, s, s)."""
        return F.conv2d(a, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(ChainRuleNetwork):
    """Causal convolutions over ``size x size`` images with K categories per pixel.

        h_0 = relu(conv_A(x / (K - 1))),  h_l = h_{l-1} + dropout(relu(conv_B(h_{l-1})))
        logits = conv_1x1(h_L) + b_pixel:  (B, D, K), pixel o_d seeing only x_{o_<d}

    Args:
        size: images are size x size, D = size^2 pixels stored row by row.
        num_categories: K (2 for binary pixels, 17 for the digits' grey levels).
        channels: C, the width of every hidden layer.
        num_layers: residual type-B layers after the first.
        kernel_size: of the type-B layers (odd).
        first_kernel_size: of the type-A first layer (odd); 2 size - 1 lets it see every
            earlier pixel.
        dropout: dropout probability on each residual branch while training.
        order: ``raster_order(D)`` (default) or ``column_order(size)``.
    """

    def __init__(
        self,
        size: int,
        num_categories: int = 2,
        channels: int = 32,
        num_layers: int = 2,
        kernel_size: int = 3,
        first_kernel_size: int = 5,
        dropout: float = 0.0,
        order: torch.Tensor | None = None,
    ):
        super().__init__()
        self.size = checks.positive_int("size", size)
        self.data_dim = size * size
        K = self.num_categories = checks.positive_int("num_categories", num_categories, minimum=2)
        C = checks.positive_int("channels", channels)
        checks.positive_int("num_layers", num_layers, minimum=0)
        self.dropout = checks.probability("dropout", dropout, open_upper=True)
        self.transpose = False
        if order is not None:
            checks.tensor("order", order, ndim=1, floating=False, shape_hint=f"({self.data_dim},)")
            if torch.equal(order.cpu(), column_order(size)):
                self.transpose = True
            elif not torch.equal(order.cpu(), raster_order(self.data_dim)):
                raise ValueError(
                    f"order must be raster_order or column_order for a convolution, found "
                    f"{order.tolist()}; use MADE for other orderings"
                )
        self.register_buffer(
            "order", column_order(size) if self.transpose else raster_order(size * size)
        )
        self.first = MaskedConv2d(1, C, first_kernel_size, include_centre=False)
        self.layers = nn.ModuleList(
            MaskedConv2d(C, C, kernel_size, include_centre=True) for _ in range(num_layers)
        )
        self.out = nn.Conv2d(C, K, 1)
        self.pixel_bias = nn.Parameter(torch.zeros(K, size, size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D) categories in {0..K-1} (int or whole floats) -> logits (B, D, K)."""
        check_categories(x, self.num_categories, self.data_dim)
        return self._logits(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        B, s, K = x.shape[0], self.size, self.num_categories
        image = x.long().view(B, s, s)  # (B, s, s), row by row
        if self.transpose:
            image = image.transpose(1, 2)  # column order = raster order of the transpose
        a = (image / (K - 1)).to(self.out.weight.dtype)[:, None]  # (B, 1, s, s) in [0, 1]
        h = torch.relu(self.first(a))  # (B, C, s, s)
        for layer in self.layers:
            h = h + F.dropout(torch.relu(layer(h)), self.dropout, self.training)
        logits = self.out(h) + self.pixel_bias  # (B, K, s, s)
        if self.transpose:
            logits = logits.transpose(2, 3)
        return logits.permute(0, 2, 3, 1).reshape(B, s * s, K)  # (B, D, K)
