"""Expectation-maximization for the mixtures of ``dgmlab.models.mixture``.

For any q(c | x), log p(x) = ELBO(q) + KL(q(c | x) || p(c | x)). EM alternates two exact steps:

    E-step  q(c | x_n) = p(c | x_n; theta_t)   the responsibilities r_nc: the KL is 0, the
                                               bound touches log p(x_n; theta_t)
    M-step  theta_{t+1} = argmax_theta sum_n sum_c r_nc log p(x_n, c; theta)   (closed form)

so sum_n log p(x_n; theta_{t+1}) >= ELBO(theta_{t+1}) >= ELBO(theta_t) = sum_n log p(x_n; theta_t).

The M-step counts, with alpha pseudo-counts per outcome (a Dirichlet(1 + alpha) prior, so the
M-step is the MAP estimate and no probability is ever 0):

    N_c = sum_n r_nc,              pi_c = (N_c + alpha) / (N + C alpha)
    theta_cdk = (sum_n r_nc [x_nd = k] + alpha) / (N_c + K alpha)        (K = 2 for Bernoulli)

With alpha > 0 the quantity EM never decreases is the log-likelihood plus the log prior,
``objective`` = mean log p(x_n) + log_prior / N; ``fit_em`` records both each iteration.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from dgmlab import checks
from dgmlab.models.mixture import BernoulliMixture, CategoricalMixture

ALPHA = 0.3
"""Default pseudo-count per outcome in the M-step (tuned on the digits' validation split)."""

Mixture = BernoulliMixture | CategoricalMixture


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise TypeError(f"alpha must be a float, found {type(alpha).__name__}")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive (it keeps probabilities off 0), found {alpha}")
    return float(alpha)


def e_step(mixture: Mixture, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The responsibilities r = p(c | x) and log p(x), from one pass over the data.

        r_nc = exp(log p(x_n, c) - log p(x_n)),   log p(x_n) = logsumexp_c log p(x_n, c)

    Args:
        mixture: a ``BernoulliMixture`` or ``CategoricalMixture``.
        x: (N, D) data (binary floats, or int64 levels).

    Returns:
        r: (N, C), rows summing to 1; log_p_x: (N,).
    """
    if not isinstance(mixture, (BernoulliMixture, CategoricalMixture)):
        raise TypeError(
            f"mixture must be a BernoulliMixture or CategoricalMixture, found "
            f"{type(mixture).__name__}"
        )
    log_joint = mixture.log_joint(x)  # (N, C)
    log_p_x = torch.logsumexp(log_joint, dim=-1)  # (N,)
    return (log_joint - log_p_x[:, None]).exp(), log_p_x


def m_step(
    x: torch.Tensor,
    r: torch.Tensor,
    *,
    num_levels: int | None = None,
    alpha: float = ALPHA,
) -> Mixture:
    """The closed-form M-step: weighted counts plus alpha pseudo-counts (see the module).

    Args:
        x: (N, D) binary floats (``num_levels`` None: a ``BernoulliMixture``) or int64 levels
            0..K-1 (``num_levels`` = K: a ``CategoricalMixture``).
        r: (N, C) responsibilities, rows summing to 1, floating (sets the parameters' dtype).
        num_levels: K for categorical pixels; None for binary ones.
        alpha: pseudo-count per outcome, > 0.

    Returns:
        The mixture with pi (C,) and theta (C, D) or (C, D, K).
    """
    alpha = _check_alpha(alpha)
    checks.tensor("r", r, ndim=2, shape_hint="(N, C)")
    checks.in_unit_interval("r", r, hint="responsibilities are probabilities p(c | x)")
    if num_levels is None:
        checks.tensor("x", x, ndim=2, shape_hint="(N, D)")
        checks.in_unit_interval("x", x, hint="binary data; pass num_levels for levels")
    else:
        checks.positive_int("num_levels", num_levels, minimum=2)
        checks.tensor("x", x, ndim=2, floating=False, shape_hint="(N, D)")
        if x.is_floating_point() or x.dtype == torch.bool:
            raise TypeError(f"x must hold integer levels with num_levels, found dtype {x.dtype}")
    if x.shape[0] != r.shape[0]:
        raise ValueError(
            f"x and r must have one row per image, found x {tuple(x.shape)} and r {tuple(r.shape)}"
        )
    checks.same_device(x=x, r=r)
    return _m_step(_features(x, num_levels, r.dtype), r, x.shape[1], num_levels, alpha)


def _features(x: torch.Tensor, num_levels: int | None, dtype: torch.dtype) -> torch.Tensor:
    """x as counts: the pixels (N, D) for binary data, the one-hot levels (N, D K) otherwise."""
    if num_levels is None:
        return x.to(dtype)
    return F.one_hot(x, num_levels).to(dtype).reshape(x.shape[0], -1)


def _m_step(f: torch.Tensor, r: torch.Tensor, D: int, num_levels, alpha: float) -> Mixture:
    """The M-step from the features of ``_features`` (computed once per fit)."""
    N, C = r.shape
    N_c = r.sum(0)  # (C,)
    pi = (N_c + alpha) / (N + C * alpha)
    counts = r.T @ f  # (C, D) on-counts, or (C, D K) level counts, weighted by r
    if num_levels is None:
        theta = (counts + alpha) / (N_c[:, None] + 2 * alpha)
        return BernoulliMixture(pi, theta)
    K = num_levels
    theta = (counts.reshape(C, D, K) + alpha) / (N_c[:, None, None] + K * alpha)
    return CategoricalMixture(pi, theta)


def log_prior(mixture: Mixture, alpha: float = ALPHA) -> torch.Tensor:
    """The Dirichlet(1 + alpha) log prior the smoothed M-step maximizes, up to a constant.

        log p(theta) = alpha (sum_c log pi_c + sum_{c, d, k} log theta_cdk) + const

    (for Bernoulli pixels the two outcomes are theta_cd and 1 - theta_cd).
    """
    alpha = _check_alpha(alpha)
    theta = mixture.theta
    if isinstance(mixture, BernoulliMixture):
        pixels = theta.log().sum() + torch.log1p(-theta).sum()
    else:
        pixels = theta.log().sum()
    return alpha * (mixture.pi.log().sum() + pixels)


class EMResult(NamedTuple):
    """What ``fit_em`` returns.

    Attributes:
        mixture: the fitted mixture.
        log_likelihood: (T + 1) floats, mean log p(x_n) over the data before each of the T
            iterations' M-steps and after the last: it never decreases (up to the prior).
        objective: (T + 1) floats, log_likelihood + log_prior / N: never decreases.
        snapshots: the mixture at each of those T + 1 points, when ``keep_snapshots``.
    """

    mixture: Mixture
    log_likelihood: list[float]
    objective: list[float]
    snapshots: list[Mixture]


def fit_em(
    x: torch.Tensor,
    num_components: int,
    *,
    num_levels: int | None = None,
    iterations: int = 50,
    alpha: float = ALPHA,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    keep_snapshots: bool = False,
    restarts: int = 1,
) -> EMResult:
    """Fit a mixture by EM from a random hard assignment of the images to components.

    Start: each image in one component drawn uniformly (one-hot r), then an M-step. Then
    ``iterations`` times: E-step (r = p(c | x), record log-likelihood), M-step.

    Args:
        x: (N, D) binary floats, or int64 levels with ``num_levels``.
        num_components: C.
        num_levels: K for categorical pixels, None for binary.
        iterations: T, the number of E-step / M-step pairs.
        alpha: the M-step's pseudo-count.
        generator: an optional CPU ``torch.Generator`` for the initial assignment.
        dtype: the parameters' dtype (float64 keeps the monotonicity visible to 1e-12).
        keep_snapshots: also return the mixture after each iteration (for figures).
        restarts: run EM this many times from different starts (drawn one after another
            from ``generator``) and keep the run with the highest final objective: EM climbs
            to a local maximum, and a start that merges two components can stay there.

    Returns:
        ``EMResult(mixture, log_likelihood, objective, snapshots)``.
    """
    C = checks.positive_int("num_components", num_components)
    checks.positive_int("iterations", iterations, minimum=0)
    checks.positive_int("restarts", restarts)
    checks.tensor("x", x, ndim=2, floating=num_levels is None, shape_hint="(N, D)")
    N = x.shape[0]
    if N == 0:
        raise ValueError("x must hold at least one image, found shape (0, D)")
    best = None
    for _ in range(restarts):
        start = torch.randint(C, (N,), generator=generator)
        r = F.one_hot(start, C).to(dtype=dtype, device=x.device)  # (N, C)
        f = _features(x, num_levels, dtype)  # (N, F), once: every step is two matrix products
        run = _climb(f, m_step(x, r, num_levels=num_levels, alpha=alpha), iterations,
                     num_levels, alpha, keep_snapshots)  # fmt: skip
        if best is None or run.objective[-1] > best.objective[-1]:
            best = run
    return best


def _climb(f, mixture, iterations, num_levels, alpha, keep_snapshots) -> EMResult:
    """EM's loop from one starting mixture, on the data's features (see ``fit_em``)."""
    N, D = f.shape[0], mixture.num_pixels
    log_likelihood, objective, snapshots = [], [], []
    for t in range(iterations + 1):
        log_joint = mixture.pi.log() + mixture.component_log_prob_of_features(f)  # (N, C)
        log_p_x = torch.logsumexp(log_joint, dim=-1)  # (N,)
        r = (log_joint - log_p_x[:, None]).exp()  # the E-step, as in e_step
        ll = float(log_p_x.mean())
        log_likelihood.append(ll)
        objective.append(ll + float(log_prior(mixture, alpha)) / N)
        if keep_snapshots:
            snapshots.append(mixture)
        if t < iterations:
            mixture = _m_step(f, r, D, num_levels, alpha)
    return EMResult(mixture, log_likelihood, objective, snapshots)
