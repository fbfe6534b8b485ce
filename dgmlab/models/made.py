"""MADE: a masked MLP whose outputs for pixel o_d see only the pixels before it in the ordering.

An autoregressive model writes any distribution over D pixels as a product of conditionals,

    log p(x) = sum_{d=1}^{D} log p(x_{o_d} | x_{o_<d}),
    p(x_{o_d} = k | x_{o_<d}) = softmax(l_{o_d})_k

and computes all D conditionals' logits l (B, D, K) in one pass of an MLP whose weights are
multiplied by 0/1 masks (Germain et al., 2015). Give every unit a degree: input pixel i has
degree m(i) = its position in the ordering (0..D-1), hidden units degrees in 0..D-2. A weight
from unit a to hidden unit b is kept when m(b) >= m(a); a weight into output pixel i is kept
when m(i) > m(a), strictly. Then every path from input j to output i passes degrees
m(j) <= ... < m(i): output i depends only on pixels earlier in the ordering, which is what
makes the product of the conditionals a normalized distribution. Pixels enter one-hot (K
inputs each). Sampling is sequential: D passes, one pixel each.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dgmlab import checks
from dgmlab.chain_rule import ChainRuleNetwork, check_categories, check_order


def mask(in_degrees: torch.Tensor, out_degrees: torch.Tensor, strict: bool) -> torch.Tensor:
    """The 0/1 mask of one masked layer: M[b, a] = [m(b) > m(a)] if strict else [m(b) >= m(a)].

    Args:
        in_degrees: (A,) integer degrees of the layer's inputs.
        out_degrees: (O,) integer degrees of its outputs.
        strict: True for the layer into the outputs (a pixel must not see itself).

    Returns:
        (O, A) float32 mask, in ``nn.Linear``'s weight layout (out, in).
    """
    checks.tensor("in_degrees", in_degrees, ndim=1, floating=False, shape_hint="(A,)")
    checks.tensor("out_degrees", out_degrees, ndim=1, floating=False, shape_hint="(O,)")
    if strict:
        return (out_degrees[:, None] > in_degrees[None, :]).float()
    return (out_degrees[:, None] >= in_degrees[None, :]).float()


class MaskedLinear(nn.Linear):
    """y = (W * M) a + b: a linear layer whose weight is multiplied by a fixed 0/1 mask M (O, A)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.clone())

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a: (..., A) -> (..., O)."""
        return F.linear(a, self.weight * self.mask, self.bias)


class MADE(ChainRuleNetwork):
    """A masked autoregressive MLP over D pixels with K categories each.

        logits = MADE(x): (B, D, K),  logits[:, o_d] depends only on x_{o_1}, ..., x_{o_{d-1}}

    Args:
        data_dim: D, the number of pixels.
        num_categories: K (2 for binary pixels, 17 for the digits' grey levels).
        hidden_dims: widths of the masked hidden layers (ReLU between them).
        order: (D,) the ordering o, a permutation of 0..D-1 (default raster: 0, 1, ..., D-1).
        direct: add a masked linear map straight from the inputs to the outputs (as MADE's
            paper does), which is cheap and fits the linear part of each conditional.
    """

    def __init__(
        self,
        data_dim: int,
        num_categories: int = 2,
        hidden_dims: Sequence[int] = (128,),
        order: torch.Tensor | None = None,
        direct: bool = True,
    ):
        super().__init__()
        D = self.data_dim = checks.positive_int("data_dim", data_dim)
        K = self.num_categories = checks.positive_int("num_categories", num_categories, minimum=2)
        if isinstance(hidden_dims, int) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden_dims
        ):
            raise ValueError(
                f"hidden_dims must be a sequence of positive ints, found {hidden_dims!r}"
            )
        order = torch.arange(D) if order is None else check_order(order, D).cpu()
        self.register_buffer("order", order.clone())
        position = torch.empty(D, dtype=torch.long)
        position[order] = torch.arange(D)  # m(i): where pixel i comes in the ordering
        pixel_degrees = position.repeat_interleave(K)  # (D K,): one-hot unit (i, k) has m(i)
        degrees = [pixel_degrees]
        for h in hidden_dims:
            degrees.append(torch.arange(h) % max(D - 1, 1))  # hidden degrees cycle 0..D-2
        self.hidden = nn.ModuleList(
            MaskedLinear(mask(a, b, strict=False))
            for a, b in zip(degrees[:-1], degrees[1:], strict=True)
        )
        self.out = MaskedLinear(mask(degrees[-1], pixel_degrees, strict=True))
        self.direct = (
            MaskedLinear(mask(pixel_degrees, pixel_degrees, strict=True)) if direct else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D) categories in {0..K-1} (int or whole floats) -> logits (B, D, K)."""
        check_categories(x, self.num_categories, self.data_dim)
        return self._logits(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        B, D, K = x.shape[0], self.data_dim, self.num_categories
        one_hot = F.one_hot(x.long(), K).to(self.out.weight.dtype).reshape(B, D * K)  # (B, D K)
        h = one_hot
        for layer in self.hidden:
            h = torch.relu(layer(h))  # (B, H)
        logits = self.out(h)  # (B, D K)
        if self.direct is not None:
            logits = logits + self.direct(one_hot)
        return logits.view(B, D, K)  # (B, D, K)
