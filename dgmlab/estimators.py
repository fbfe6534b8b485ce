"""Monte Carlo gradients of an expectation under a Gaussian: pathwise vs score-function.

We want the gradient of

    J(mu, sigma) = E_{z ~ N(mu, sigma^2)} [ f(z) ]

with respect to the parameters (mu, sigma) of the distribution we sample from.
Two unbiased estimators, each an average of per-sample estimates g_s:

pathwise (reparameterization): write z = mu + sigma * eps with eps ~ N(0, 1), so

    dJ/dmu    = E[ f'(z) ]            g_s = f'(z_s)
    dJ/dsigma = E[ f'(z) * eps ]      g_s = f'(z_s) * eps_s

score function (REINFORCE, likelihood ratio): differentiate the density instead,

    dJ/dtheta = E[ f(z) d/dtheta log N(z; mu, sigma^2) ]
    dJ/dmu    : g_s = (f(z_s) - b) * eps_s / sigma
    dJ/dsigma : g_s = (f(z_s) - b) * (eps_s^2 - 1) / sigma

which needs only values of f, not its derivative (b is an optional constant
baseline; E[d log N / dtheta] = 0, so it changes the variance, not the mean).

The estimators return every g_s, not just the mean, so the variance of each
can be measured (``gradient_variance``) and compared with the exact gradients
of the ``KNOWN_COSTS``.

Shape contract: mu and sigma are ``(..., L)``; samples are ``(S, ..., L)``; a cost
``f`` maps z ``(S, ..., L)`` to ``(S, ...)``, one cost per sample and batch entry
(sum over L, like the log-densities). Batch entries must not interact in f.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from dgmlab import checks, gaussian
from dgmlab.gaussian import rsample as sample_normal
from dgmlab.gaussian import standard_normal_noise
from dgmlab.quadrature import simpson_grid

__all__ = [
    "COSINE",
    "KNOWN_COSTS",
    "LINEAR",
    "SQUARE",
    "STEP",
    "GradientMoments",
    "GradientSNR",
    "GradientSamples",
    "KnownCost",
    "VarianceCurve",
    "exact_gradient_moments",
    "gradient_snr",
    "gradient_variance",
    "pathwise_gradient",
    "sample_normal",
    "score_function_gradient",
    "signal_to_noise",
    "standard_normal_noise",
]

Cost = Callable[[torch.Tensor], torch.Tensor]


class GradientSamples(NamedTuple):
    """Per-sample gradient estimates g_s of dJ/dmu and dJ/dsigma, each (S, ..., L).

    Their mean over the first dimension is the S-sample estimate of the gradient.
    """

    grad_mu: torch.Tensor
    grad_sigma: torch.Tensor


def _evaluate_cost(f: Cost, z: torch.Tensor) -> torch.Tensor:
    if not callable(f):
        raise TypeError(f"f must be callable, found {type(f).__name__}")
    value = f(z)
    expected = tuple(z.shape[:-1])
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"f must return a tensor, found {type(value).__name__}")
    if tuple(value.shape) != expected:
        raise ValueError(
            f"f must map z of shape {tuple(z.shape)} (S, ..., L) to costs of shape {expected} "
            f"(S, ...), one per sample; found {tuple(value.shape)}. Sum over the last dimension."
        )
    return value


def pathwise_gradient(
    f: Cost,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    num_samples: int,
    generator: torch.Generator | None = None,
) -> GradientSamples:
    """Per-sample pathwise (reparameterization) estimates of d/d(mu, sigma) E_N[f(z)].

        z_s = mu + sigma * eps_s,   g_mu_s = f'(z_s),   g_sigma_s = f'(z_s) * eps_s

    f must be differentiable; f'(z_s) is found with autograd. mu and sigma are
    treated as values (the result carries no graph).

    Args:
        f: cost, z (S, ..., L) -> (S, ...).
        mu, sigma: (..., L) the Gaussian's mean and standard deviation (> 0).
        num_samples: S.
        generator: optional ``torch.Generator``.

    Returns:
        GradientSamples with grad_mu, grad_sigma: (S, ..., L).
    """
    gaussian.check(mu, sigma)
    eps = standard_normal_noise(num_samples, mu, generator)  # (S, ..., L)
    with torch.enable_grad():
        z = (mu.detach() + sigma.detach() * eps).requires_grad_(True)  # (S, ..., L)
        cost = _evaluate_cost(f, z)  # (S, ...)
        if not cost.requires_grad:
            raise ValueError(
                "f must be differentiable in z for the pathwise estimator (its output has no "
                "gradient); use score_function_gradient for a non-differentiable f"
            )
        # each cost depends on its own z_s only, so the gradient of the sum is f'(z_s) per sample
        (df_dz,) = torch.autograd.grad(cost.sum(), z)  # (S, ..., L)
    return GradientSamples(grad_mu=df_dz, grad_sigma=df_dz * eps)


def score_function_gradient(
    f: Cost,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    num_samples: int,
    generator: torch.Generator | None = None,
    baseline: float | torch.Tensor = 0.0,
) -> GradientSamples:
    """Per-sample score-function (REINFORCE) estimates of d/d(mu, sigma) E_N[f(z)].

        g_s = (f(z_s) - b) * d/d(mu, sigma) log N(z_s; mu, sigma^2)
        d log N / d mu    = (z - mu) / sigma^2            = eps / sigma
        d log N / d sigma = (z - mu)^2 / sigma^3 - 1/sigma = (eps^2 - 1) / sigma

    Only values of f are used, so f may be non-differentiable (a step, a reward).

    Args:
        f: cost, z (S, ..., L) -> (S, ...).
        mu, sigma: (..., L) the Gaussian's mean and standard deviation (> 0).
        num_samples: S.
        generator: optional ``torch.Generator``.
        baseline: b, a constant subtracted from f (a float, or a tensor broadcastable
            against f's output (...)); keeps the estimator unbiased.

    Returns:
        GradientSamples with grad_mu, grad_sigma: (S, ..., L).
    """
    gaussian.check(mu, sigma)
    mu, sigma = mu.detach(), sigma.detach()
    eps = standard_normal_noise(num_samples, mu, generator)  # (S, ..., L)
    with torch.no_grad():
        z = mu + sigma * eps  # (S, ..., L)
        cost = _evaluate_cost(f, z) - baseline  # (S, ...)
        cost = cost.unsqueeze(-1)  # (S, ..., 1): one cost for all L coordinates of z_s
        grad_mu = cost * eps / sigma  # (S, ..., L)
        grad_sigma = cost * (eps**2 - 1.0) / sigma  # (S, ..., L)
    return GradientSamples(grad_mu=grad_mu, grad_sigma=grad_sigma)


_ESTIMATORS = {"pathwise": pathwise_gradient, "score_function": score_function_gradient}


@dataclass(frozen=True)
class VarianceCurve:
    """Empirical variance of an S-sample gradient estimate, for several S.

    Attributes:
        num_samples: (K,) int64, the S values.
        var_mu, var_sigma: (K, ..., L) variance across repeats of the S-sample mean
            estimate of dJ/dmu and dJ/dsigma (for an unbiased estimator this is
            the per-sample variance divided by S).
    """

    num_samples: torch.Tensor
    var_mu: torch.Tensor
    var_sigma: torch.Tensor


def gradient_variance(
    estimator: str | Callable[..., GradientSamples],
    f: Cost,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    num_samples: Sequence[int] = (1, 10, 100),
    num_repeats: int = 1000,
    generator: torch.Generator | None = None,
) -> VarianceCurve:
    """Variance of the S-sample gradient estimate (1/S) sum_s g_s, measured over repeats.

        Var[ (1/S) sum_s g_s ] ~= 1/(R - 1) sum_r (ghat_r - mean_r ghat_r)^2

    For each S it draws R * S per-sample estimates, averages them in groups of S,
    and takes the unbiased variance of the R group means.

    Args:
        estimator: "pathwise", "score_function", or a function with the signature
            of ``pathwise_gradient``.
        f: cost, z (S, ..., L) -> (S, ...).
        mu, sigma: (..., L).
        num_samples: the S values (each >= 1).
        num_repeats: R >= 2.
        generator: optional ``torch.Generator``.

    Returns:
        VarianceCurve with var_mu, var_sigma: (len(num_samples), ..., L).
    """
    if isinstance(estimator, str):
        if estimator not in _ESTIMATORS:
            raise ValueError(
                f"estimator must be one of {sorted(_ESTIMATORS)} or a function, found {estimator!r}"
            )
        estimator = _ESTIMATORS[estimator]
    elif not callable(estimator):
        raise TypeError(f"estimator must be a name or a function, found {type(estimator).__name__}")
    if isinstance(num_samples, int) or len(num_samples) == 0:
        raise ValueError(f"num_samples must be a non-empty sequence of ints, found {num_samples!r}")
    for S in num_samples:
        checks.positive_int("num_samples entries", S)
    R = checks.positive_int("num_repeats", num_repeats, minimum=2)
    var_mu, var_sigma = [], []
    for S in num_samples:
        g = estimator(f, mu, sigma, R * S, generator)
        mean_mu = g.grad_mu.reshape(R, S, *mu.shape).mean(1)  # (R, ..., L)
        mean_sigma = g.grad_sigma.reshape(R, S, *mu.shape).mean(1)  # (R, ..., L)
        var_mu.append(mean_mu.var(0))  # (..., L)
        var_sigma.append(mean_sigma.var(0))
    return VarianceCurve(
        num_samples=torch.tensor(list(num_samples), dtype=torch.int64),
        var_mu=torch.stack(var_mu),
        var_sigma=torch.stack(var_sigma),
    )


@dataclass(frozen=True)
class KnownCost:
    """A cost f(z) whose Gaussian expectation and its gradients are known in closed form.

    Attributes:
        name: a short label.
        f: z (S, ..., L) -> (S, ...), summed over L.
        expectation: (mu, sigma) -> (...) E_{N(mu, sigma^2)}[f(z)].
        gradient: (mu, sigma) -> (dJ/dmu, dJ/dsigma), each (..., L).
    """

    name: str
    f: Cost
    expectation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    gradient: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# f(z) = z^2:   E = mu^2 + sigma^2,   dE/dmu = 2 mu,   dE/dsigma = 2 sigma
SQUARE = KnownCost(
    "square",
    f=lambda z: (z**2).sum(-1),
    expectation=lambda mu, sigma: (mu**2 + sigma**2).sum(-1),
    gradient=lambda mu, sigma: (2.0 * mu, 2.0 * sigma),
)

# f(z) = z:   E = mu,   dE/dmu = 1,   dE/dsigma = 0  (pathwise dJ/dmu: exact, zero variance)
LINEAR = KnownCost(
    "linear",
    f=lambda z: z.sum(-1),
    expectation=lambda mu, sigma: mu.sum(-1),
    gradient=lambda mu, sigma: (torch.ones_like(mu), torch.zeros_like(sigma)),
)

# f(z) = cos z:   E = cos(mu) e^{-sigma^2/2},
#   dE/dmu = -sin(mu) e^{-sigma^2/2},   dE/dsigma = -sigma cos(mu) e^{-sigma^2/2}
COSINE = KnownCost(
    "cosine",
    f=lambda z: torch.cos(z).sum(-1),
    expectation=lambda mu, sigma: (torch.cos(mu) * torch.exp(-0.5 * sigma**2)).sum(-1),
    gradient=lambda mu, sigma: (
        -torch.sin(mu) * torch.exp(-0.5 * sigma**2),
        -sigma * torch.cos(mu) * torch.exp(-0.5 * sigma**2),
    ),
)

# f(z) = 1[z > 0] (a step: no useful derivative, so only the score function applies):
#   E = Phi(mu / sigma),   dE/dmu = phi(mu/sigma) / sigma,   dE/dsigma = -mu phi(mu/sigma) / sigma^2
#   (phi(mu / sigma) / sigma = N(0; mu, sigma^2))
STEP = KnownCost(
    "step",
    f=lambda z: (z > 0).to(z.dtype).sum(-1),
    expectation=lambda mu, sigma: torch.special.ndtr(mu / sigma).sum(-1),
    gradient=lambda mu, sigma: (
        gaussian.pdf(torch.zeros_like(mu), mu, sigma),
        -mu * gaussian.pdf(torch.zeros_like(mu), mu, sigma) / sigma,
    ),
)

KNOWN_COSTS: dict[str, KnownCost] = {c.name: c for c in (SQUARE, LINEAR, COSINE, STEP)}


class GradientMoments(NamedTuple):
    """Exact mean and variance of a single-sample gradient estimate g, each (..., 1).

    The mean is the true gradient (both estimators are unbiased); the variance of
    an S-sample average is var / S.
    """

    mean_mu: torch.Tensor
    mean_sigma: torch.Tensor
    var_mu: torch.Tensor
    var_sigma: torch.Tensor


def exact_gradient_moments(
    estimator: str,
    f: Cost,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    num_points: int = 20001,
    eps_range: tuple[float, float] = (-12.0, 12.0),
) -> GradientMoments:
    """Mean and variance of one per-sample estimate g(eps) by quadrature over eps ~ N(0, 1).

        E[g]   = integral g(eps) phi(eps) d eps
        Var[g] = integral g(eps)^2 phi(eps) d eps - E[g]^2

    with g the pathwise or score-function estimate of the module docstring, on a
    Simpson grid in eps. An oracle for the Monte Carlo variances: it shares no
    code with ``pathwise_gradient`` / ``score_function_gradient``. One latent
    dimension (L = 1). For smooth costs the result is exact to ~1e-10 relative;
    a cost with a jump (``STEP``) converges like the grid spacing (~1e-3).

    Args:
        estimator: "pathwise" or "score_function".
        f: cost, z (G, ..., 1) -> (G, ...); differentiable for "pathwise".
        mu, sigma: (..., 1) the Gaussian's mean and standard deviation (> 0).
        num_points: Simpson grid size in eps (odd).
        eps_range: the interval of eps integrated over.

    Returns:
        GradientMoments with mean_mu, mean_sigma, var_mu, var_sigma: (..., 1).
    """
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(_ESTIMATORS)}, found {estimator!r}")
    gaussian.check(mu, sigma)
    if mu.shape[-1] != 1:
        raise ValueError(
            f"mu and sigma must have last dimension L = 1 (one latent), found shape "
            f"{tuple(mu.shape)}; the quadrature integrates over one eps"
        )
    grid = simpson_grid(eps_range, num_points, dtype=mu.dtype, device=mu.device)
    eps = grid.z.reshape(-1, *([1] * mu.dim()))  # (G, 1, ..., 1)
    # quadrature weights times the N(0, 1) density: (G, 1, ..., 1)
    weight = torch.exp(grid.log_w.reshape(eps.shape) + gaussian._log_prob_standard(eps)[..., None])
    mu, sigma = mu.detach(), sigma.detach()
    with torch.enable_grad():
        z = (mu + sigma * eps).requires_grad_(estimator == "pathwise")  # (G, ..., 1)
        cost = _evaluate_cost(f, z)  # (G, ...)
        if estimator == "pathwise":
            if not cost.requires_grad:
                raise ValueError("f must be differentiable in z for the pathwise estimator")
            (df_dz,) = torch.autograd.grad(cost.sum(), z)  # (G, ..., 1)
            g_mu, g_sigma = df_dz, df_dz * eps
        else:
            value = cost.detach().unsqueeze(-1)  # (G, ..., 1)
            g_mu, g_sigma = value * eps / sigma, value * (eps**2 - 1.0) / sigma
    moments = []
    for g in (g_mu, g_sigma):
        mean = (weight * g).sum(0)  # (..., 1)
        moments.append((mean, (weight * g**2).sum(0) - mean**2))
    (mean_mu, var_mu), (mean_sigma, var_sigma) = moments
    return GradientMoments(mean_mu, mean_sigma, var_mu.clamp_min(0), var_sigma.clamp_min(0))


class GradientSNR(NamedTuple):
    """The signal-to-noise ratio of a stochastic gradient, per parameter entry.

    Attributes:
        mean, std: (P,) the mean and the (unbiased) standard deviation of each entry of the
            gradient over R independent draws.
        snr: (P,) |mean| / std (inf where std = 0 and mean != 0, nan where both are 0).
        summary: the mean of snr over the entries with std > 0: one number per estimator.
    """

    mean: torch.Tensor
    std: torch.Tensor
    snr: torch.Tensor
    summary: float


def signal_to_noise(grads: torch.Tensor) -> GradientSNR:
    """SNR of each gradient entry from R draws of the gradient: |mean| / std over the draws.

        SNR_p = | (1/R) sum_r g_rp | / sqrt( 1/(R-1) sum_r (g_rp - mean_p)^2 )

    A gradient whose SNR is well below 1 points in a random direction on most steps
    (Rainforth et al., 2018, measure it for the IWAE encoder as K grows).

    Args:
        grads: (R, P) R >= 2 independent draws of a P-entry gradient.

    Returns:
        GradientSNR with mean, std, snr (P,) and the summary.
    """
    checks.tensor("grads", grads, ndim=2, shape_hint="(R, P)")
    checks.positive_int("grads.shape[0] (the number of draws R)", grads.shape[0], minimum=2)
    mean, std = grads.mean(0), grads.std(0)  # (P,) each
    snr = mean.abs() / std  # (P,)
    noisy = std > 0
    summary = float(snr[noisy].mean()) if bool(noisy.any()) else float("nan")
    return GradientSNR(mean, std, snr, summary)


def gradient_snr(
    loss: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    num_repeats: int = 100,
) -> GradientSNR:
    """Draw the gradient of a stochastic loss R times and measure its signal-to-noise ratio.

        g_r = d loss_r / d params   (loss_r: one call of ``loss``, with fresh samples)
        SNR_p = |mean_r g_rp| / std_r g_rp           (see ``signal_to_noise``)

    Args:
        loss: a function of no arguments returning a scalar tensor; each call must draw its
            own samples (e.g. ``lambda: -iwae_bound(x, encoder, decoder, K).mean()``).
        params: the tensors (requires_grad) the gradient is taken with respect to, e.g.
            ``list(encoder.parameters())``; the P entries are all of theirs, flattened.
        num_repeats: R >= 2 draws.

    Returns:
        GradientSNR over the P entries.
    """
    if not callable(loss):
        raise TypeError(f"loss must be callable, found {type(loss).__name__}")
    params = list(params)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("params must be a non-empty sequence of tensors with requires_grad=True")
    R = checks.positive_int("num_repeats", num_repeats, minimum=2)
    draws = []
    for _ in range(R):
        value = loss()
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise ValueError(
                "loss must return a scalar tensor (take .mean() over the batch), found "
                f"{tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}"
            )
        grads = torch.autograd.grad(value, params, allow_unused=True)
        draws.append(
            torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).reshape(-1)
                    for g, p in zip(grads, params, strict=True)
                ]
            )
        )
    return signal_to_noise(torch.stack(draws))  # (R, P)
