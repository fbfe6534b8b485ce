"""Bar images: the course's data set, with a generator we know exactly.

An image is ``size x size`` binary pixels. To draw one:

    1. pick a column c with probability pi_c            (``column_probs``)
    2. switch on every pixel in column c: the template t_c
    3. flip each pixel independently with probability rho   (``flip_prob``)

so the data distribution is a mixture we can write down:

    p_data(x) = sum_c pi_c prod_d rho^[x_d != t_cd] (1 - rho)^[x_d == t_cd]

Because p_data is known, so is its entropy H(p_data): no model can have an
expected log-likelihood above -H(p_data). That is the yardstick for every model
trained on bars in the course.

Images are flattened row by row: ``x.view(B, size, size)[:, :, c]`` is column c.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dgmlab import checks

_MAX_EXACT_SIZE = 7  # (size + 1) ** size column-count patterns: 2.1 million at size 7


def _column_probs_tensor(size: int, column_probs: Sequence[float] | torch.Tensor | None):
    if column_probs is None:
        return torch.full((size,), 1.0 / size, dtype=torch.float64)
    if isinstance(column_probs, torch.Tensor):
        probs = column_probs.detach().to("cpu", torch.float64).flatten()
        if column_probs.dim() != 1:
            raise ValueError(
                f"column_probs must be 1-D with {size} entries, found shape "
                f"{tuple(column_probs.shape)}"
            )
    else:
        try:
            probs = torch.tensor([float(p) for p in column_probs], dtype=torch.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"column_probs must be a sequence of {size} numbers, found {column_probs!r}"
            ) from None
    if probs.numel() != size:
        raise ValueError(
            f"column_probs must have one entry per column ({size}), found {probs.numel()}"
        )
    if bool((probs < 0).any()) or bool(probs.isnan().any()):
        raise ValueError(f"column_probs must be non-negative, found {probs.tolist()}")
    total = float(probs.sum())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"column_probs must sum to 1, found sum {total:.6g}")
    return probs / total


@dataclass(frozen=True)
class Bars:
    """The bar-image generator: a known distribution p_data over binary images.

    Args:
        size: images are ``size x size`` (default 4, as in the lecture).
        column_probs: pi, the probability of each column (default uniform).
        flip_prob: rho, the probability that each pixel is flipped (default 0.05).
    """

    size: int = 4
    column_probs: Sequence[float] | torch.Tensor | None = None
    flip_prob: float = 0.05

    def __post_init__(self):
        checks.positive_int("size", self.size, minimum=1)
        checks.probability("flip_prob", self.flip_prob)
        probs = _column_probs_tensor(self.size, self.column_probs)
        object.__setattr__(self, "_pi", probs)

    @property
    def num_pixels(self) -> int:
        """D = size * size."""
        return self.size * self.size

    @property
    def pi(self) -> torch.Tensor:
        """(size,) float64: the column probabilities."""
        return self._pi.clone()

    def templates(self, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
        """(size, D): row c is the noise-free image with column c switched on."""
        eye = torch.eye(self.size, dtype=dtype, device=device)  # (C, size)
        # image[r, k] = 1 when k == c, for every row r; flattened row by row
        return eye[:, None, :].expand(self.size, self.size, self.size).reshape(self.size, -1)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw n images.

        Args:
            n: how many images.
            generator: an optional CPU ``torch.Generator`` for reproducible draws.
            device, dtype: where the returned images live (labels follow the device).

        Returns:
            x: (n, D) images with entries 0.0 or 1.0.
            column: (n,) int64, the column c (0-based) each image was drawn from.
        """
        checks.positive_int("n", n, minimum=0)
        if not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating-point dtype, found {dtype}")
        if n == 0:  # torch.multinomial refuses to draw zero samples
            column = torch.zeros(0, dtype=torch.int64)
        else:
            column = torch.multinomial(self._pi, n, replacement=True, generator=generator)  # (n,)
        clean = self.templates(torch.float64)[column]  # (n, D)
        flips = torch.rand(n, self.num_pixels, generator=generator, dtype=torch.float64)
        flipped = flips < self.flip_prob  # (n, D)
        x = torch.where(flipped, 1.0 - clean, clean)
        return x.to(device=device, dtype=dtype), column.to(device)

    def _log_joint_given_distance(self, distance: torch.Tensor) -> torch.Tensor:
        """log pi_c p(x | c) for images whose Hamming distance to each template is ``distance``.

        distance: (..., C) float64. Returns (..., C).
        """
        D, rho = self.num_pixels, self.flip_prob
        # log rho^d (1 - rho)^(D - d), with 0 * log 0 taken as 0
        log_flip = (
            torch.where(distance > 0, distance * math.log(rho), 0.0)
            if rho > 0
            else (torch.where(distance > 0, -math.inf, 0.0))
        )
        keep = D - distance
        log_keep = (
            torch.where(keep > 0, keep * math.log1p(-rho), 0.0)
            if rho < 1
            else (torch.where(keep > 0, -math.inf, 0.0))
        )
        log_pi = torch.log(self._pi.to(distance.device))  # (C,)
        return log_pi + log_flip + log_keep

    def _log_p_given_distance(self, distance: torch.Tensor) -> torch.Tensor:
        """log p_data from the distances (..., C): the log-sum over columns, (...,)."""
        return torch.logsumexp(self._log_joint_given_distance(distance), dim=-1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p_data(x) for binary images.

            log p_data(x) = logsumexp_c [ log pi_c + d_c log rho + (D - d_c) log(1 - rho) ]

        where d_c is the number of pixels where x differs from template c.

        Args:
            x: (B, D) with entries 0 or 1.

        Returns:
            (B,) in the dtype of x.
        """
        distance = self._distances(x)  # (B, C)
        return self._log_p_given_distance(distance).to(device=x.device, dtype=x.dtype)

    def _distances(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C) float64 on the CPU: the Hamming distance of each image to each template."""
        checks.tensor(
            "x", x, ndim=2, last_dim=self.num_pixels, shape_hint=f"(B, {self.num_pixels})"
        )
        not_binary = (x != 0) & (x != 1)
        if bool(not_binary.any()):
            raise ValueError(
                f"x must be binary (entries 0 or 1), found {int(not_binary.sum())} other "
                f"entries, e.g. {x[not_binary][0].item():.4g}"
            )
        # exact in float64, on the CPU (MPS has no float64); the result follows x
        t = self.templates(torch.float64)  # (C, D)
        x64 = x.detach().to("cpu", torch.float64)
        # |x - t| summed over pixels: sum(x) + sum(t) - 2 x.t
        return x64.sum(-1, keepdim=True) + t.sum(-1) - 2.0 * x64 @ t.T  # (B, C)

    def column_posterior(self, x: torch.Tensor) -> torch.Tensor:
        """p_data(c | x): which column each image was drawn from, by Bayes' rule.

            p(c | x) = pi_c rho^d_c (1 - rho)^(D - d_c) / p_data(x)

        Args:
            x: (B, D) with entries 0 or 1.

        Returns:
            (B, C) in the dtype of x; each row sums to 1.
        """
        distance = self._distances(x)  # (B, C)
        posterior = torch.softmax(self._log_joint_given_distance(distance), dim=-1)
        return posterior.to(device=x.device, dtype=x.dtype)

    def entropy(self) -> float:
        """H(p_data) in nats, exactly, so -H is the best expected log-likelihood of any model.

            H = - sum_x p_data(x) log p_data(x)

        The sum over all 2^D images is grouped by the number of 'on' pixels k_j in
        each column j: every image with the same counts has the same p_data, and
        there are prod_j C(size, k_j) of them. That is (size + 1)^size terms
        instead of 2^(size^2); exact for size <= 7.
        """
        n = self.size
        if n > _MAX_EXACT_SIZE:
            raise ValueError(
                f"size must be <= {_MAX_EXACT_SIZE} for the exact entropy, found {n}; "
                "estimate it instead with -log_prob(sample(N)).mean()"
            )
        counts = torch.cartesian_prod(*[torch.arange(n + 1, dtype=torch.float64)] * n)
        counts = counts.reshape(-1, n)  # (P, C): on-pixels per column
        total_on = counts.sum(-1, keepdim=True)  # (P, 1)
        # distance to template c: on-pixels outside column c plus off-pixels inside it
        distance = total_on - counts + (n - counts)  # (P, C)
        log_p = self._log_p_given_distance(distance)  # (P,)
        log_binom = (
            torch.lgamma(torch.tensor(n + 1.0, dtype=torch.float64))
            - torch.lgamma(counts + 1)
            - torch.lgamma(n - counts + 1)
        )
        log_count = log_binom.sum(-1)  # (P,) how many images share these counts
        weight = torch.exp(log_count + log_p)  # total probability of the group
        terms = torch.where(weight > 0, weight * log_p, 0.0)
        return float(-terms.sum())


def bars(
    n: int,
    size: int = 4,
    column_probs: Sequence[float] | torch.Tensor | None = None,
    flip_prob: float = 0.05,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n bar images: ``Bars(size, column_probs, flip_prob).sample(n, generator, device)``.

    Returns:
        x: (n, size * size) float32 images; column: (n,) int64 labels (0-based).
    """
    return Bars(size, column_probs, flip_prob).sample(n, generator=generator, device=device)


def bars_entropy(
    size: int = 4,
    column_probs: Sequence[float] | torch.Tensor | None = None,
    flip_prob: float = 0.05,
) -> float:
    """H(p_data) in nats for the bar generator with these settings (see ``Bars.entropy``)."""
    return Bars(size, column_probs, flip_prob).entropy()
