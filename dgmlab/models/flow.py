"""Normalizing flows (lecture 11): change of variables, one invertible layer at a time.

A flow is an invertible map ``z = f(x)`` to a standard normal ``z``; the density of ``x`` is

    log p(x) = log N(f(x); 0, I) + log |det df/dx|,

and a stack of layers adds its layers' log-determinants. Every layer here has
``forward(x) -> (z, log_det)`` with ``log_det = log |det dz/dx|`` of shape ``(B,)`` and
``inverse(z) -> x``:

- ``TanhMap``: lecture 11's one-dimensional monotone map ``x = a + b z + c tanh(z / w)``
  (generative direction, plain numbers), its inverse by bisection, its pushed-forward density;
- ``ElementwiseAffine``: ``z = (x - shift) * exp(-log_scale)``, e.g. standardizing the data;
- ``AffineCoupling``: RealNVP's coupling layer (Dinh et al. 2017), a triangular Jacobian;
- ``CategoricalCDF``: the per-pixel piecewise-linear CDF of a categorical over ``K`` levels,
  then the normal quantile: on dequantized pixels ``x + u`` it is, alone, exactly the model of
  independent categorical pixels (the starting point of the digits flow);
- ``Flow``: a stack of layers with a standard normal base: ``log_prob``, ``sample``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dgmlab import checks, gaussian

__all__ = [
    "AffineCoupling",
    "CategoricalCDF",
    "ElementwiseAffine",
    "Flow",
    "TanhMap",
    "checkerboard_masks",
    "real_nvp",
]


class TanhMap:
    """The 1-D monotone map x = f(z) = a + b z + c tanh(z / w), with z ~ N(0, 1).

        f'(z) = b + (c / w) sech^2(z / w) > 0   (b > 0, c >= 0, w > 0)
        p_x(x) = N(z; 0, 1) / f'(z)  at  z = f^{-1}(x)

    A bump c > 0 stretches the middle of the line: the density of x thins there and, for a
    large c / (b w), splits in two. Works elementwise on tensors of any shape.

    Args:
        a: shift. b: slope, > 0. c: bump height, >= 0. w: bump width, > 0.
    """

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 0.0, w: float = 1.0):
        for name, value in (("a", a), ("b", b), ("c", c), ("w", w)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a float, found {type(value).__name__}")
        if not b > 0:
            raise ValueError(f"b must be positive (the map must increase), found {b}")
        if not c >= 0:
            raise ValueError(f"c must be >= 0 (a negative bump can fold the map), found {c}")
        if not w > 0:
            raise ValueError(f"w must be positive, found {w}")
        self.a, self.b, self.c, self.w = float(a), float(b), float(c), float(w)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """x = f(z), elementwise."""
        checks.tensor("z", z)
        return self.a + self.b * z + self.c * torch.tanh(z / self.w)

    def log_derivative(self, z: torch.Tensor) -> torch.Tensor:
        """log f'(z) = log(b + (c / w) sech^2(z / w)), elementwise: the 1-D log-determinant."""
        checks.tensor("z", z)
        sech2 = 1.0 - torch.tanh(z / self.w).pow(2)
        return torch.log(self.b + (self.c / self.w) * sech2)

    def inverse(self, x: torch.Tensor, iterations: int = 80) -> torch.Tensor:
        """z = f^{-1}(x) by bisection: |f(z) - a - b z| <= c brackets the root."""
        checks.tensor("x", x)
        low = (x - self.a - self.c) / self.b
        high = (x - self.a + self.c) / self.b
        for _ in range(iterations):
            mid = 0.5 * (low + high)
            above = self(mid) > x
            high = torch.where(above, mid, high)
            low = torch.where(above, low, mid)
        return 0.5 * (low + high)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_x(x) = log N(f^{-1}(x); 0, 1) - log f'(f^{-1}(x)), elementwise."""
        z = self.inverse(x)
        return gaussian.log_prob_standard(z[..., None]) - self.log_derivative(z)

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        """P(X <= x) = Phi(f^{-1}(x)): f increases, so it keeps the order."""
        return torch.special.ndtr(self.inverse(x))


class ElementwiseAffine(nn.Module):
    """z = (x - shift) * exp(-log_scale); log |det dz/dx| = -sum_d log_scale_d.

    Args:
        shift, log_scale: (D,) tensors. learnable: make them parameters (else buffers).
    """

    def __init__(self, shift: torch.Tensor, log_scale: torch.Tensor, learnable: bool = False):
        super().__init__()
        checks.tensor("shift", shift, ndim=1, shape_hint="(D,)")
        checks.tensor("log_scale", log_scale, ndim=1, shape_hint="(D,)")
        if shift.shape != log_scale.shape:
            raise ValueError(
                f"shift and log_scale must have the same shape (D,), found {tuple(shift.shape)} "
                f"and {tuple(log_scale.shape)}"
            )
        if learnable:
            self.shift = nn.Parameter(shift.clone())
            self.log_scale = nn.Parameter(log_scale.clone())
        else:
            self.register_buffer("shift", shift.clone())
            self.register_buffer("log_scale", log_scale.clone())

    @classmethod
    def standardizing(cls, x: torch.Tensor) -> ElementwiseAffine:
        """The layer that maps the data x (N, D) to mean 0 and standard deviation 1."""
        checks.tensor("x", x, ndim=2, shape_hint="(N, D)")
        return cls(x.mean(0), x.std(0).log())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (x - self.shift) * torch.exp(-self.log_scale)
        return z, (-self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.exp(self.log_scale) + self.shift


class AffineCoupling(nn.Module):
    """RealNVP's affine coupling: the pixels where mask = 1 pass through and set the others'
    scale and shift,

        z = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)),
        log |det dz/dx| = sum_d (1 - m_d) s_d(m * x),

    since dz/dx is triangular (after ordering the kept pixels first) with diagonal 1 on the kept
    pixels and exp(s) on the others. Inverse: x = m * z + (1 - m) * (z - t(m * z)) * exp(-s(m * z)).
    s = scale * tanh(.) keeps the first steps of training stable; the last layer starts at
    zero, so a new layer is the identity.

    Args:
        mask: (D,) of 0s and 1s, at least one of each.
        hidden: width of the MLP (m * x) -> (s, t). num_hidden: its hidden layers.
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 64, num_hidden: int = 2):
        super().__init__()
        checks.tensor("mask", mask, ndim=1, floating=False, shape_hint="(D,)")
        if not bool(((mask == 0) | (mask == 1)).all()) or mask.min() == mask.max():
            raise ValueError(
                f"mask must hold 0s and 1s with at least one of each, found {mask.tolist()}"
            )
        checks.positive_int("hidden", hidden)
        checks.positive_int("num_hidden", num_hidden)
        D = mask.shape[0]
        self.register_buffer("mask", mask.float())
        layers, width = [], D
        for _ in range(num_hidden):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.01)]
            width = hidden
        last = nn.Linear(width, 2 * D)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.scale = nn.Parameter(torch.ones(D))

    def _s_t(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(kept).chunk(2, dim=-1)  # (B, D) each
        free = 1.0 - self.mask
        return self.scale * torch.tanh(s) * free, t * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self._s_t(x * self.mask)
        return x * torch.exp(s) + t, s.sum(-1)  # s = t = 0 on the kept pixels

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        s, t = self._s_t(z * self.mask)  # the kept pixels of z are those of x
        return (z - t) * torch.exp(-s)


class CategoricalCDF(nn.Module):
    """Per pixel, a categorical over K levels as a monotone map of the dequantized value:

        F_d(v) = sum_{j < k} p_dj + p_dk (v - k)   for v in [k, k + 1),   z_d = Phi^{-1}(F_d(v)),
        log |dz_d / dv| = log p_dk - log N(z_d; 0, 1).

    With a standard normal base the two normal terms cancel: log p(x + u) = sum_d log p_{d, x_d}
    for every u in [0, 1)^D, the independent-pixel model exactly. Flow layers after it can only
    add what the pixels share.

    Args:
        logits: (D, K) initial log-probabilities (learnable), e.g. from smoothed counts.
    """

    EPS = 1e-6  # F is kept in [EPS, 1 - EPS], so z stays finite at the ends of the range

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        checks.tensor("logits", logits, ndim=2, shape_hint="(D, K)")
        self.logits = nn.Parameter(logits.clone())

    @classmethod
    def from_counts(cls, x: torch.Tensor, num_levels: int, alpha: float = 0.3) -> CategoricalCDF:
        """Start at the smoothed pixel histograms of integer data x (N, D): (count + alpha)."""
        checks.tensor("x", x, ndim=2, floating=False, shape_hint="(N, D)")
        checks.positive_int("num_levels", num_levels, minimum=2)
        counts = nn.functional.one_hot(x.long(), num_levels).sum(0).double()  # (D, K)
        return cls((counts + alpha).log().float())

    def _tables(self, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.logits.to(dtype).softmax(-1)  # (D, K)
        left = torch.cumsum(p, -1) - p  # (D, K): F at the left end of each level
        return p, left

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p, left = self._tables(v.dtype)
        K = p.shape[-1]
        k = v.floor().clamp(0, K - 1)
        idx = k.long().T  # (D, B)
        p_k, left_k = p.gather(1, idx).T, left.gather(1, idx).T  # (B, D)
        F = (left_k + p_k * (v - k)).clamp(self.EPS, 1 - self.EPS)
        z = torch.special.ndtri(F)
        log_p_k = self.logits.to(v.dtype).log_softmax(-1).gather(1, idx).T  # (B, D)
        return z, log_p_k.sum(-1) - gaussian.log_prob_standard(z)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        p, left = self._tables(z.dtype)
        K = p.shape[-1]
        F = torch.special.ndtr(z)  # (B, D)
        k = torch.searchsorted(left.contiguous(), F.T.contiguous(), right=True) - 1  # (D, B)
        k = k.clamp(0, K - 1)
        p_k, left_k = p.gather(1, k).T, left.gather(1, k).T
        return k.T.to(z.dtype) + ((F - left_k) / p_k).clamp(0, 1)


class Flow(nn.Module):
    """A stack of invertible layers on a standard normal base.

        z = f_L(... f_1(x)),  log p(x) = log N(z; 0, I) + sum_l log |det df_l/dh_{l-1}|

    Args:
        layers: modules with forward(x) -> (z, log_det (B,)) and inverse(z) -> x.
    """

    def __init__(self, layers: Sequence[nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D) -> z (B, D) and log |det dz/dx| (B,)."""
        checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> x (B, D), the layers undone in reverse order."""
        checks.tensor("z", z, ndim=2, shape_hint="(B, D)")
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) (B,) by the change of variables."""
        z, log_det = self(x)
        return gaussian.log_prob_standard(z) + log_det

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws x = f^{-1}(z), z ~ N(0, I): (n, D)."""
        checks.positive_int("n", n)
        buffer = next(iter(self.parameters()))
        D = self._dim()
        z = torch.randn(n, D, generator=generator, dtype=buffer.dtype)
        return self.inverse(z.to(buffer.device))

    def _dim(self) -> int:
        for layer in self.layers:
            for name in ("mask", "shift", "logits"):
                if hasattr(layer, name):
                    return getattr(layer, name).shape[0]
        raise ValueError("Flow.sample needs a layer that knows the dimension D")


def checkerboard_masks(height: int, width: int, count: int) -> list[torch.Tensor]:
    """``count`` masks (H * W,) alternating a checkerboard and its complement."""
    checks.positive_int("count", count)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    board = ((rows + cols) % 2).flatten()
    return [board if i % 2 == 0 else 1 - board for i in range(count)]


def real_nvp(
    masks: Sequence[torch.Tensor],
    hidden: int = 64,
    num_hidden: int = 2,
    first: Sequence[nn.Module] = (),
) -> Flow:
    """A RealNVP flow: the ``first`` layers (e.g. standardizing), then one coupling per mask."""
    return Flow([*first, *(AffineCoupling(m, hidden, num_hidden) for m in masks)])
