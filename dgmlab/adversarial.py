"""The density-ratio trick and the GAN's losses (lecture 12).

A classifier that tells samples of p (label 1) from samples of q (label 0) estimates the ratio
p / q: the best classifier of the pooled samples, with n_p of p and n_q of q, is

    D*(x) = n_p p(x) / (n_p p(x) + n_q q(x)),  so  log p(x) / q(x) = logit D*(x) - log(n_p / n_q).

With equal classes that is D* = p / (p + q). A GAN plays the same game with q = p_G, the
generator's distribution: the discriminator maximizes

    V(D, G) = E_p[log D(x)] + E_{p_G}[log (1 - D(x))],

and at D* the value is V(D*, G) = 2 JS(p || p_G) - log 4, so a generator that minimizes it
minimizes the Jensen-Shannon divergence. This module holds the pieces: fitting the classifier
(logistic regression by Newton's method on fixed features), D* from two log-densities, the
discriminator's loss, the saturating and the non-saturating generator losses, divergences
between two distributions over a finite set, and mode coverage on a ring of Gaussians.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from dgmlab import checks

__all__ = [
    "Divergences",
    "ModeCoverage",
    "discrete_divergences",
    "discriminator_loss",
    "fit_logistic",
    "generator_loss",
    "log_ratio_from_logits",
    "mode_coverage",
    "optimal_discriminator",
    "quadratic_features",
]


def quadratic_features(x: torch.Tensor) -> torch.Tensor:
    """Features in which the log-ratio of two Gaussians is linear: 1, x_i and x_i x_j (i <= j).

        log N(x; m1, S1) / N(x; m2, S2) = c + b.x + x' A x,  a linear function of these features

    Args:
        x: (B, d) points.

    Returns:
        (B, 1 + d + d (d + 1) / 2) in the dtype of x.
    """
    checks.tensor("x", x, ndim=2, shape_hint="(B, d)")
    d = x.shape[1]
    i, j = torch.triu_indices(d, d, device=x.device)
    return torch.cat([torch.ones_like(x[:, :1]), x, x[:, i] * x[:, j]], dim=1)


def fit_logistic(
    features: torch.Tensor,
    labels: torch.Tensor,
    iterations: int = 30,
    l2: float = 1e-6,
) -> torch.Tensor:
    """Logistic regression by Newton's method: the weights w of the classifier sigmoid(phi . w).

        maximize  sum_n [ y_n log s(phi_n . w) + (1 - y_n) log s(-phi_n . w) ] - l2 / 2 |w|^2

    The objective is concave, so Newton's steps w <- w + H^{-1} g converge in a few
    iterations (a step is halved while it lowers the objective, so separable data stays finite
    through the small l2 penalty).

    Args:
        features: (N, F) the features phi of each point (include a column of ones for a bias).
        labels: (N,) 1 for a sample of p, 0 for a sample of q.
        iterations: Newton steps.
        l2: the ridge penalty (> 0 keeps the Hessian invertible).

    Returns:
        (F,) the weights, in the dtype of ``features``: logits are ``features @ w``.
    """
    checks.tensor("features", features, ndim=2, shape_hint="(N, F)")
    checks.tensor("labels", labels, ndim=1, shape_hint="(N,)")
    if labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels must have one entry per row of features ({features.shape[0]}), "
            f"found {labels.shape[0]}"
        )
    if bool(((labels != 0) & (labels != 1)).any()):
        raise ValueError("labels must be 0 (a sample of q) or 1 (a sample of p)")
    checks.positive_int("iterations", iterations, minimum=0)
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 > 0:
        raise ValueError(f"l2 must be a positive number, found {l2!r}")
    phi = features.detach().double()
    y = labels.detach().double().to(phi.device)
    w = torch.zeros(phi.shape[1], dtype=torch.float64, device=phi.device)

    def objective(w):
        s = phi @ w
        return float((y * s - F.softplus(s)).sum() - 0.5 * l2 * (w @ w))

    eye = torch.eye(phi.shape[1], dtype=torch.float64, device=phi.device)
    for _ in range(iterations):
        s = phi @ w
        p = torch.sigmoid(s)
        grad = phi.T @ (y - p) - l2 * w
        hess = phi.T @ (phi * (p * (1 - p))[:, None]) + l2 * eye
        step = torch.linalg.solve(hess, grad)
        before, t = objective(w), 1.0
        while objective(w + t * step) < before and t > 1e-6:
            t /= 2
        w = w + t * step
    return w.to(features.dtype)


def log_ratio_from_logits(logits: torch.Tensor, n_p: int, n_q: int) -> torch.Tensor:
    """The density-ratio trick: log p(x) / q(x) from a classifier's logits (p is label 1).

        log p(x) / q(x) = logit D(x) - log(n_p / n_q)

    The classifier learns the posterior odds of the pooled sample, n_p p / (n_q q); dividing
    the prior odds n_p / n_q out leaves the ratio of the densities.

    Args:
        logits: (B,) the classifier's logits, log D / (1 - D).
        n_p, n_q: how many samples of p and of q it was trained on.

    Returns:
        (B,) the estimated log-ratio.
    """
    checks.tensor("logits", logits, min_ndim=1, shape_hint="(B,)")
    checks.positive_int("n_p", n_p)
    checks.positive_int("n_q", n_q)
    return logits - math.log(n_p / n_q)


def optimal_discriminator(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """D*(x) = p(x) / (p(x) + q(x)), the discriminator that maximizes V(D, G) for q = p_G.

    Computed as sigmoid(log p - log q), which is exact where p and q underflow.

    Args:
        log_p, log_q: (B,) the two log-densities (or log-probabilities) at the same points.

    Returns:
        (B,) values in [0, 1].
    """
    checks.tensor("log_p", log_p, min_ndim=1, shape_hint="(B,)")
    checks.tensor("log_q", log_q, min_ndim=1, shape_hint="(B,)")
    if log_p.shape != log_q.shape:
        raise ValueError(
            f"log_p and log_q must have the same shape, found {tuple(log_p.shape)} "
            f"and {tuple(log_q.shape)}"
        )
    return torch.sigmoid(log_p - log_q)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss -V(D, G), its binary cross-entropy with D = sigmoid(logit):

        -V = -E_p[log D(x)] - E_{p_G}[log (1 - D(x))]
           = mean softplus(-real_logits) + mean softplus(fake_logits)

    Args:
        real_logits: (B,) logits on samples of p_data.
        fake_logits: (B',) logits on samples of the generator.

    Returns:
        () a scalar to minimize.
    """
    checks.tensor("real_logits", real_logits, ndim=1, shape_hint="(B,)")
    checks.tensor("fake_logits", fake_logits, ndim=1, shape_hint="(B',)")
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """The generator's loss on the discriminator's logits at its own samples.

        saturating (the minimax game):  E_{p_G}[log (1 - D(x))] = -mean softplus(fake_logits)
        non-saturating (used in practice): -E_{p_G}[log D(x)] = mean softplus(-fake_logits)

    Both are minimized by the same generator, p_G = p_data. Their gradients differ where the
    discriminator rejects the samples (D -> 0, logit -> -inf): the saturating loss's derivative
    in the logit, -sigmoid(logit), vanishes there, while the non-saturating one's,
    -sigmoid(-logit), tends to -1.

    Args:
        fake_logits: (B,) the discriminator's logits on generated samples.
        saturating: the minimax form instead of the non-saturating one.

    Returns:
        () a scalar to minimize.
    """
    checks.tensor("fake_logits", fake_logits, ndim=1, shape_hint="(B,)")
    if not isinstance(saturating, bool):
        raise TypeError(f"saturating must be a bool, found {type(saturating).__name__}")
    if saturating:
        return -F.softplus(fake_logits).mean()
    return F.softplus(-fake_logits).mean()


class Divergences(NamedTuple):
    """Divergences between two distributions p and q over the same finite set, in nats.

    Attributes:
        kl_pq: KL(p || q) (inf when q misses mass of p).
        kl_qp: KL(q || p).
        tv: total variation, (1/2) sum |p - q|, in [0, 1].
        js: Jensen-Shannon, (1/2) KL(p || m) + (1/2) KL(q || m) with m = (p + q) / 2, in
            [0, log 2].
    """

    kl_pq: float
    kl_qp: float
    tv: float
    js: float


def _kl(log_a: torch.Tensor, log_b: torch.Tensor) -> float:
    a = log_a.exp()
    terms = torch.where(a > 0, a * (log_a - log_b), torch.zeros_like(a))
    return float(terms.sum())


def discrete_divergences(log_p: torch.Tensor, log_q: torch.Tensor) -> Divergences:
    """KL both ways, total variation and Jensen-Shannon between two finite distributions.

        KL(p || q) = sum_x p(x) log p(x) / q(x),  TV = (1/2) sum_x |p(x) - q(x)|,
        JS = (1/2) KL(p || m) + (1/2) KL(q || m),  m = (p + q) / 2

    Terms with p(x) = 0 count 0 (0 log 0 = 0); a point with p(x) > 0 = q(x) makes KL(p || q)
    infinite. Summed in float64.

    Args:
        log_p, log_q: (N,) log-probabilities of the same N outcomes (each sums to 1 in exp).

    Returns:
        Divergences(kl_pq, kl_qp, tv, js).
    """
    checks.tensor("log_p", log_p, ndim=1, shape_hint="(N,)")
    checks.tensor("log_q", log_q, ndim=1, shape_hint="(N,)")
    if log_p.shape != log_q.shape:
        raise ValueError(
            f"log_p and log_q must have the same shape, found {tuple(log_p.shape)} "
            f"and {tuple(log_q.shape)}"
        )
    lp, lq = log_p.detach().double(), log_q.detach().double()
    for name, lx in (("log_p", lp), ("log_q", lq)):
        total = float(torch.logsumexp(lx, 0).exp())
        if abs(total - 1) > 1e-4:
            raise ValueError(f"{name} must sum to 1 in probability, found sum {total:.6g}")
    log_m = torch.logaddexp(lp, lq) - math.log(2)
    return Divergences(
        kl_pq=_kl(lp, lq),
        kl_qp=_kl(lq, lp),
        tv=float(0.5 * (lp.exp() - lq.exp()).abs().sum()),
        js=0.5 * _kl(lp, log_m) + 0.5 * _kl(lq, log_m),
    )


class ModeCoverage(NamedTuple):
    """How well samples cover the modes of a mixture of isotropic Gaussians.

    Attributes:
        modes_hit: how many modes have at least ``min_count`` samples within 3 sigma.
        good_fraction: the fraction of samples within 3 sigma of some mode.
        counts: (K,) int64, the samples within 3 sigma of each mode.
    """

    modes_hit: int
    good_fraction: float
    counts: torch.Tensor


def mode_coverage(
    samples: torch.Tensor, centers: torch.Tensor, sigma: float, min_count: int = 1
) -> ModeCoverage:
    """Modes hit and the fraction of good samples (within 3 sigma of a mode's center).

        good(x) = [min_k |x - c_k| <= 3 sigma],  hit_k = [#{x : |x - c_k| <= 3 sigma} >= min_count]

    Args:
        samples: (N, d) generated points.
        centers: (K, d) the modes' centers.
        sigma: the modes' standard deviation.
        min_count: samples a mode needs to count as hit.

    Returns:
        ModeCoverage(modes_hit, good_fraction, counts).
    """
    checks.tensor("samples", samples, ndim=2, shape_hint="(N, d)")
    checks.tensor("centers", centers, ndim=2, last_dim=samples.shape[1], shape_hint="(K, d)")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, found {sigma!r}")
    checks.positive_int("min_count", min_count)
    distance = torch.cdist(samples.detach().double(), centers.detach().double().to(samples.device))
    near = distance <= 3 * sigma  # (N, K)
    counts = near.sum(0).cpu()
    return ModeCoverage(
        modes_hit=int((counts >= min_count).sum()),
        good_fraction=float(near.any(1).double().mean()) if len(samples) else 0.0,
        counts=counts,
    )
