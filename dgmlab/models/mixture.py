"""Mixtures of product distributions: a discrete latent c, independent pixels given c.

    p(c) = pi_c,   p(x | c) = prod_d p(x_d | theta_cd),   p(x) = sum_c pi_c p(x | c)

Two pixel kinds, one class each, sharing everything but ``p(x | c)``:

- ``BernoulliMixture``: binary pixels, theta (C, D) = p(x_d = 1 | c). The bar generator
  (``dgmlab.data.Bars``) is one: component c is column c's template with flips.
- ``CategoricalMixture``: K-level pixels, theta (C, D, K) = p(x_d = k | c) (digits, K = 17).

Because c takes C values, everything is exact: ``log_prob`` is a logsumexp over the C
components, and ``posterior`` is the exact p(c | x), the "responsibilities" of EM's E-step
(``dgmlab.em``). Everything is computed in the parameters' dtype; pass float64 for oracles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dgmlab import checks


def _check_pi(pi: object) -> torch.Tensor:
    checks.tensor("pi", pi, ndim=1, shape_hint="(C,)")
    checks.positive("pi", pi, hint="every component needs a positive weight")
    if checks.validation_enabled():
        total = float(pi.sum())
        if abs(total - 1.0) > 1e-4:
            raise ValueError(f"pi must sum to 1, found sum {total:.6g}")
    return pi


class _ProductMixture:
    """What the two mixtures share: log p(x), p(c | x) and sampling, given log p(x | c)."""

    pi: torch.Tensor
    theta: torch.Tensor

    @property
    def num_components(self) -> int:
        """C."""
        return self.pi.shape[0]

    @property
    def num_pixels(self) -> int:
        """D."""
        return self.theta.shape[1]

    def _check_x(self, x: object) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        """x as the (B, F) matrix that log p(x | c) is linear in (unchecked)."""
        raise NotImplementedError

    def component_log_prob_of_features(self, f: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """log p(x | c) from ``features(x)``: (B, F) -> (B, C); EM computes the features once."""
        raise NotImplementedError

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x | c) for every image and component: (B, D) -> (B, C)."""
        return self.component_log_prob_of_features(self.features(self._check_x(x)))

    def log_joint(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x, c) = log pi_c + log p(x | c): (B, D) -> (B, C)."""
        return self.pi.log() + self.component_log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = logsumexp_c [log pi_c + log p(x | c)]: (B, D) -> (B,), no p(x | c) formed."""
        return torch.logsumexp(self.log_joint(x), dim=-1)

    def posterior(self, x: torch.Tensor) -> torch.Tensor:
        """The exact posterior p(c | x) = p(x, c) / p(x) (EM's responsibilities): (B, D) -> (B, C).

        Each row sums to 1; computed as softmax_c log p(x, c), so no underflow.
        """
        return torch.softmax(self.log_joint(x), dim=-1)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """Ancestral sampling: c ~ pi, then each pixel from p(x_d | c).

        Args:
            n: how many images.
            generator: an optional CPU ``torch.Generator`` (draws are made on the CPU).

        Returns:
            x: (n, D) images (floats 0/1 for Bernoulli, int64 levels for categorical), on the
            parameters' device; c: (n,) int64 components.
        """
        checks.positive_int("n", n, minimum=0)
        pi = self.pi.detach().to("cpu", torch.float64)
        if n == 0:
            c = torch.zeros(0, dtype=torch.int64)
        else:
            c = torch.multinomial(pi, n, replacement=True, generator=generator)  # (n,)
        x = self._sample_given(c, generator)
        return x.to(self.theta.device), c.to(self.theta.device)


class BernoulliMixture(_ProductMixture):
    """A mixture of C product-Bernoulli distributions over binary images.

        log p(x | c) = sum_d [ x_d log theta_cd + (1 - x_d) log(1 - theta_cd) ]

    Args:
        pi: (C,) component probabilities, positive, summing to 1.
        theta: (C, D) pixel probabilities p(x_d = 1 | c), strictly inside (0, 1).
    """

    def __init__(self, pi: torch.Tensor, theta: torch.Tensor):
        _check_pi(pi)
        checks.tensor("theta", theta, ndim=2, shape_hint="(C, D)")
        if theta.shape[0] != pi.shape[0]:
            raise ValueError(
                f"theta must have one row per component (C = {pi.shape[0]} from pi), found "
                f"shape {tuple(theta.shape)}"
            )
        checks.same_device(pi=pi, theta=theta)
        if checks.validation_enabled() and bool(((theta <= 0) | (theta >= 1)).any()):
            raise ValueError(
                "theta must lie strictly inside (0, 1) (a 0 or 1 gives log 0), found values in "
                f"[{theta.min().item():.4g}, {theta.max().item():.4g}]; smooth the M-step"
            )
        self.pi, self.theta = pi, theta

    def _check_x(self, x: object) -> torch.Tensor:
        D = self.num_pixels
        checks.tensor("x", x, ndim=2, last_dim=D, shape_hint=f"(B, {D})")
        checks.in_unit_interval("x", x, hint="Bernoulli data must be pixels in [0, 1]")
        checks.same_device(x=x, theta=self.theta)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pixels themselves, in theta's dtype: (B, D)."""
        return x.to(self.theta.dtype)

    def component_log_prob_of_features(self, f: torch.Tensor) -> torch.Tensor:
        # two matrix products: (B, D) @ (D, C), every term <= 0
        return f @ self.theta.log().T + (1.0 - f) @ torch.log1p(-self.theta).T  # (B, C)

    def _sample_given(self, c: torch.Tensor, generator) -> torch.Tensor:
        theta = self.theta.detach().to("cpu", torch.float64)[c]  # (n, D)
        u = torch.rand(theta.shape, generator=generator, dtype=torch.float64)
        return (u < theta).to(self.theta.dtype)

    def __repr__(self) -> str:
        return f"BernoulliMixture(C={self.num_components}, D={self.num_pixels})"


class CategoricalMixture(_ProductMixture):
    """A mixture of C product-categorical distributions over K-level images.

        log p(x | c) = sum_d log theta_{c, d, x_d}

    Args:
        pi: (C,) component probabilities, positive, summing to 1.
        theta: (C, D, K) pixel probabilities p(x_d = k | c), positive, summing to 1 over k.
    """

    def __init__(self, pi: torch.Tensor, theta: torch.Tensor):
        _check_pi(pi)
        checks.tensor("theta", theta, ndim=3, shape_hint="(C, D, K)")
        if theta.shape[0] != pi.shape[0]:
            raise ValueError(
                f"theta must have one row per component (C = {pi.shape[0]} from pi), found "
                f"shape {tuple(theta.shape)}"
            )
        checks.same_device(pi=pi, theta=theta)
        checks.positive("theta", theta, hint="a probability of 0 gives log 0; smooth the M-step")
        if checks.validation_enabled():
            worst = float((theta.sum(-1) - 1.0).abs().max())
            if worst > 1e-4:
                raise ValueError(
                    f"theta must sum to 1 over its last (level) dimension, found sums off by "
                    f"up to {worst:.3g}"
                )
        self.pi, self.theta = pi, theta

    @property
    def num_levels(self) -> int:
        """K."""
        return self.theta.shape[2]

    def _check_x(self, x: object) -> torch.Tensor:
        D, K = self.num_pixels, self.num_levels
        checks.tensor("x", x, ndim=2, last_dim=D, floating=False, shape_hint=f"(B, {D})")
        if x.is_floating_point() or x.dtype == torch.bool:
            raise TypeError(f"x must hold integer levels 0..{K - 1}, found dtype {x.dtype}")
        if checks.validation_enabled() and x.numel() and bool(((x < 0) | (x >= K)).any()):
            raise ValueError(
                f"x must hold levels in {{0, ..., {K - 1}}} (K = {K} from theta), found values "
                f"in [{int(x.min())}, {int(x.max())}]"
            )
        checks.same_device(x=x, theta=self.theta)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The one-hot levels, flattened: (B, D K), in theta's dtype."""
        B, (_, D, K) = x.shape[0], self.theta.shape
        return F.one_hot(x, K).to(self.theta.dtype).reshape(B, D * K)

    def component_log_prob_of_features(self, f: torch.Tensor) -> torch.Tensor:
        C, D, K = self.theta.shape
        return f @ self.theta.log().reshape(C, D * K).T  # (B, C)

    def _sample_given(self, c: torch.Tensor, generator) -> torch.Tensor:
        C, D, K = self.theta.shape
        probs = self.theta.detach().to("cpu", torch.float64)[c].reshape(-1, K)  # (n D, K)
        if probs.shape[0] == 0:
            return torch.zeros(0, D, dtype=torch.int64)
        return torch.multinomial(probs, 1, generator=generator).reshape(-1, D)

    def __repr__(self) -> str:
        return (
            f"CategoricalMixture(C={self.num_components}, D={self.num_pixels}, K={self.num_levels})"
        )
