"""The chain rule of probability, as a table: p(x) = prod_d p(x_{o_d} | x_{o_1}, ..., x_{o_{d-1}}).

Any distribution over D binary pixels factorizes, in any ordering o of the pixels, as

    log p(x) = sum_{d=1}^{D} log p(x_{o_d} | x_{o_<d})

For a small D every conditional can be stored in a table and estimated by counting (lecture
10 does it for the 2x2 bars: 16 images, 1 + 2 + 4 + 8 = 15 conditionals). The table at step
d holds p(x_{o_d} = 1 | prefix) for each of the 2^(d-1) prefixes, indexed by the prefix read
as a binary number with x_{o_1} as its most significant bit. A network replaces the table
when D grows (``dgmlab.models.made``, ``dgmlab.models.pixelcnn``); orderings, inverse-CDF
sampling and ``ChainRuleNetwork`` (what every such network does with its conditionals: the exact
log-likelihood and sequential sampling) live here and are shared by all.
"""

from __future__ import annotations

import torch
from torch import nn

from dgmlab import checks
from dgmlab.densities import log_categorical

_MAX_TABLE_PIXELS = 20  # a table has 2^D - 1 entries


def raster_order(num_pixels: int) -> torch.Tensor:
    """The raster ordering o = (0, 1, ..., D-1): row by row, left to right. (D,) int64."""
    return torch.arange(checks.positive_int("num_pixels", num_pixels))


def column_order(size: int) -> torch.Tensor:
    """Column by column, top to bottom, for ``size x size`` images stored row by row. (D,) int64.

    o = (0, size, 2 size, ..., 1, size + 1, ...): pixel (r, c) = r * size + c comes at
    position c * size + r.
    """
    size = checks.positive_int("size", size)
    return torch.arange(size * size).view(size, size).T.reshape(-1)


def check_order(order: object, num_pixels: int) -> torch.Tensor:
    """Check that ``order`` is a permutation of 0..D-1 (an int tensor of shape (D,))."""
    checks.tensor("order", order, ndim=1, floating=False, shape_hint=f"({num_pixels},)")
    if order.numel() != num_pixels or not torch.equal(
        order.sort().values.cpu(), torch.arange(num_pixels)
    ):
        raise ValueError(
            f"order must be a permutation of 0..{num_pixels - 1} (D = {num_pixels}), found "
            f"{order.tolist()}"
        )
    return order


def check_categories(x: torch.Tensor, num_categories: int, num_pixels: int) -> torch.Tensor:
    """Check that ``x`` is (B, D) with whole numbers in {0, ..., K-1} (ints or whole floats)."""
    checks.tensor("x", x, ndim=2, floating=False, last_dim=num_pixels,
                  shape_hint=f"(B, {num_pixels})")  # fmt: skip
    if checks.validation_enabled() and x.numel() > 0:
        bad = (x < 0) | (x > num_categories - 1)
        if x.is_floating_point():
            bad = bad | (x != x.round())
        if bool(bad.any()):
            raise ValueError(
                f"x must hold whole numbers in {{0, ..., {num_categories - 1}}} "
                f"(K = {num_categories}), found {x[bad].flatten()[0].item()!r}"
            )
    return x


def _prefix_index(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """(B, D) binary -> (B, D): entry d is the prefix x_{o_1..o_d-1} read as a binary number."""
    bits = x[:, order].long()  # (B, D) in visiting order
    index = torch.zeros_like(bits)  # (B, D); the empty prefix is 0
    for d in range(1, bits.shape[1]):
        index[:, d] = 2 * index[:, d - 1] + bits[:, d - 1]
    return index


def conditional_table(
    x: torch.Tensor,
    weights: torch.Tensor | None = None,
    order: torch.Tensor | None = None,
    alpha: float = 0.0,
) -> list[torch.Tensor]:
    """Estimate every conditional p(x_{o_d} = 1 | x_{o_<d}) by (weighted) counting.

        p(x_{o_d} = 1 | prefix) = (n(prefix, 1) + alpha) / (n(prefix) + 2 alpha)

    A prefix never seen (n(prefix) = 0, alpha = 0) gets 1/2: it has probability 0 under the
    counts, so any value leaves p(x) unchanged.

    Args:
        x: (N, D) binary images (float or int, entries 0 or 1).
        weights: (N,) non-negative weight of each image (default 1 each); pass all 2^D images
            with weights p_data(x) to get the exact conditionals of p_data.
        order: (D,) the ordering o (default raster).
        alpha: pseudo-count added to both outcomes (>= 0).

    Returns:
        A list of D tensors; entry d has shape (2^d,) (d = 0..D-1) and dtype float64.
    """
    checks.tensor("x", x, ndim=2, floating=False, shape_hint="(N, D)")
    N, D = x.shape
    if D > _MAX_TABLE_PIXELS:
        raise ValueError(f"x must have at most {_MAX_TABLE_PIXELS} pixels for a table, found {D}")
    if checks.validation_enabled() and bool(((x != 0) & (x != 1)).any()):
        raise ValueError("x must hold binary pixels 0 or 1, found other values")
    order = raster_order(D).to(x.device) if order is None else check_order(order, D)
    if weights is None:
        weights = torch.ones(N, dtype=torch.float64, device=x.device)
    checks.tensor("weights", weights, ndim=1, shape_hint=f"({N},)")
    if weights.shape[0] != N or bool((weights < 0).any()):
        raise ValueError(
            f"weights must be {N} non-negative numbers, found shape {tuple(weights.shape)}"
        )
    if not (isinstance(alpha, (int, float)) and alpha >= 0):
        raise ValueError(f"alpha must be a number >= 0, found {alpha!r}")
    index = _prefix_index(x, order)  # (N, D)
    bits = x[:, order].double()  # (N, D)
    w = weights.double()
    table = []
    for d in range(D):
        seen = torch.zeros(2**d, dtype=torch.float64, device=x.device).index_add(0, index[:, d], w)
        ones = torch.zeros_like(seen).index_add(0, index[:, d], w * bits[:, d])
        p_one = (ones + alpha) / (seen + 2 * alpha)  # (2^d,)
        table.append(torch.where(seen + 2 * alpha > 0, p_one, 0.5))
    return table


def table_log_prob(
    x: torch.Tensor, table: list[torch.Tensor], order: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x) by the chain rule, reading each conditional from ``table``.

        log p(x) = sum_d log p(x_{o_d} | x_{o_<d})

    Args:
        x: (B, D) binary images.
        table: D tensors, entry d of shape (2^d,): p(x_{o_d} = 1 | prefix) (``conditional_table``).
        order: (D,) the ordering the table was built with (default raster).

    Returns:
        (B,) log p(x), float64.
    """
    checks.tensor("x", x, ndim=2, floating=False, shape_hint="(B, D)")
    D = x.shape[1]
    if len(table) != D or any(t.shape != (2**d,) for d, t in enumerate(table)):
        raise ValueError(
            f"table must hold D = {D} tensors of shapes (1,), (2,), (4,), ..., found shapes "
            f"{[tuple(t.shape) for t in table]}"
        )
    order = raster_order(D).to(x.device) if order is None else check_order(order, D)
    index = _prefix_index(x, order)  # (B, D)
    bits = x[:, order].double()  # (B, D)
    log_p = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    for d in range(D):
        p_one = table[d].double()[index[:, d]]  # (B,)
        log_p = log_p + torch.log(torch.where(bits[:, d] == 1, p_one, 1 - p_one))
    return log_p


def sample_categorical(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: the category k with F(k-1) <= u < F(k), F the softmax's CDF.

        x = #{k < K - 1 : F(k) <= u}

    Passing the uniforms u makes a draw reproducible (and the same draw for two
    implementations), like passing eps to a Gaussian.

    Args:
        logits: (..., K) unnormalized log-probabilities.
        u: (...,) uniforms in [0, 1).

    Returns:
        (...,) int64 categories in {0, ..., K-1}.
    """
    checks.tensor("logits", logits, min_ndim=1, shape_hint="(..., K)")
    checks.tensor("u", u, shape_hint=str(tuple(logits.shape[:-1])))
    if u.shape != logits.shape[:-1]:
        raise ValueError(
            f"u must have shape {tuple(logits.shape[:-1])} (logits without its last axis), "
            f"found {tuple(u.shape)}"
        )
    checks.in_unit_interval("u", u)
    cdf = torch.softmax(logits.double(), dim=-1).cumsum(-1)  # (..., K)
    return (cdf[..., :-1] <= u.double().unsqueeze(-1)).sum(-1)  # (...,)


class ChainRuleNetwork(nn.Module):
    """A network whose output d is the conditional p(x_{o_d} | x_{o_<d}): the exact likelihood
    and sequential sampling, once for every such network.

    A subclass sets ``data_dim`` (D) and ``order`` (a (D,) permutation), and defines
    ``_logits(x)``: (B, D) int64 images -> (B, D, K) logits, output i depending only on the
    pixels before i in the ordering; ``forward`` checks its input and calls it.
    """

    data_dim: int
    order: torch.Tensor

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) by the chain rule: sum_d log softmax(l_{o_d}(x_{o_<d}))[x_{o_d}]. (B,)."""
        return log_categorical(x, self(x))

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        generator: torch.Generator | None = None,
        u: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw images pixel by pixel in the ordering: D network passes.

            x_{o_d} ~ p(x_{o_d} | x_{o_<d}),  d = 1, ..., D   (inverse CDF of uniforms u)

        Args:
            num_samples: B, how many images.
            generator: an optional ``torch.Generator`` for the uniforms.
            u: (B, D) uniforms in [0, 1) to use instead (u[:, i] decides pixel i).

        Returns:
            (B, D) int64 images.
        """
        B = checks.positive_int("num_samples", num_samples)
        device = next(self.parameters()).device
        if u is None:
            u = torch.rand(B, self.data_dim, generator=generator, device=device)
        checks.tensor("u", u, ndim=2, shape_hint=f"({B}, {self.data_dim})")
        if u.shape != (B, self.data_dim):
            raise ValueError(f"u must have shape ({B}, {self.data_dim}), found {tuple(u.shape)}")
        x = torch.zeros(B, self.data_dim, dtype=torch.long, device=device)
        for i in self.order.tolist():
            x[:, i] = sample_categorical(self._logits(x)[:, i], u[:, i])  # sees only drawn pixels
        return x
