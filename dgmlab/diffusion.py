"""Diffusion models (lecture 13): noise schedules, the forward process, the diffusion bound.

Gaussian diffusion. A schedule beta_1..beta_T in (0, 1) defines the forward (noising) chain
q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I). With alpha_t = 1 - beta_t and
abar_t = prod_{s <= t} alpha_s, it has the closed form

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,

and its posterior given x_0 is Gaussian too (Bayes' rule on two Gaussians),

    q(x_{t-1} | x_t, x_0) = N(mu~_t, beta~_t I),
    mu~_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0
            + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,
    beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t.

The reverse model p(x_{t-1} | x_t) = N(mu~_t(x_t, x0_hat), sigma_t^2 I) puts a prediction
x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t) of a network eps_hat(x_t, t) into the
posterior mean. It is a hierarchical VAE whose encoder q(x_{1:T} | x_0) is fixed, and its ELBO
splits into one KL per step:

    -log p(x_0) <= KL(q(x_T | x_0) || N(0, I))                                   (L_T)
                   + sum_{t=2}^T E_q KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))   (L_{t-1})
                   + E_q[-log p(x_0 | x_1)]                                      (L_0).

The simplified loss drops the weights: E_{t, eps} ||eps - eps_hat(x_t, t)||^2.

Masking (absorbing-state) diffusion, for K-category data such as 17-level pixels. The forward
process replaces each pixel by the mask token K with probability t / T at step t, independently.
A masked pixel at step t was unmasked at step t - 1 with probability 1 / t, so with a reverse
model that keeps that rate and draws the revealed value from softmax(l(x_t))_d, every step's KL
is a cross-entropy on the masked pixels and the bound on the discrete NLL is

    -log P(x_0) <= sum_{t=1}^T (1 / t) E_{x_t ~ q(x_t | x_0)} sum_{d masked} -log p(x_{0,d} | x_t)

(L_T = 0: at t = T every pixel is masked, in the data and in the model).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dgmlab import checks, gaussian

__all__ = [
    "alpha_bars",
    "cosine_schedule",
    "forward_marginal",
    "forward_sample",
    "gaussian_diffusion_bound",
    "linear_schedule",
    "masking_bound",
    "masking_forward",
    "masking_loss",
    "masking_sample",
    "noise_prediction_loss",
    "posterior",
    "predict_x0",
    "reverse_mean",
    "sample",
]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LogitsModel = Callable[[torch.Tensor], torch.Tensor]


# ---- noise schedules ----


def linear_schedule(
    T: int, beta_1: float = 1e-4, beta_T: float = 0.02, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Ho et al.'s linear schedule: beta_t evenly spaced from beta_1 to beta_T.

        beta_t = beta_1 + (t - 1) / (T - 1) (beta_T - beta_1),   t = 1..T

    Args:
        T: number of steps, >= 1 (T = 1 gives beta_1).
        beta_1, beta_T: the first and last variances, in (0, 1).
        dtype: floating dtype of the result.

    Returns:
        (T,) betas; entry t - 1 is beta_t.
    """
    checks.positive_int("T", T)
    for name, value in (("beta_1", beta_1), ("beta_T", beta_T)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), found {value}")
    return (
        torch.linspace(beta_1, beta_T, T, dtype=dtype)
        if T > 1
        else torch.tensor([beta_1], dtype=dtype)
    )


def cosine_schedule(T: int, s: float = 0.008, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Nichol and Dhariwal's cosine schedule: abar_t follows a squared cosine.

        abar_t = f(t) / f(0),  f(t) = cos^2((t / T + s) / (1 + s) pi / 2),
        beta_t = min(1 - abar_t / abar_{t-1}, 0.999)

    Args:
        T: number of steps, >= 1.
        s: small offset, >= 0, so that beta_1 is not 0.
        dtype: floating dtype of the result.

    Returns:
        (T,) betas; entry t - 1 is beta_t.
    """
    checks.positive_int("T", T)
    if isinstance(s, bool) or not isinstance(s, (int, float)) or s < 0:
        raise ValueError(f"s must be a number >= 0, found {s}")
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=0.999).to(dtype)


def _check_betas(betas: object) -> torch.Tensor:
    checks.tensor("betas", betas, ndim=1, shape_hint="(T,)")
    if checks.validation_enabled() and bool(((betas <= 0) | (betas >= 1)).any()):
        raise ValueError(
            f"betas must lie in (0, 1), found values in "
            f"[{betas.min().item():.4g}, {betas.max().item():.4g}]"
        )
    return betas


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """The cumulative products abar_t = prod_{s <= t} (1 - beta_s).

    Args:
        betas: (T,) the schedule, each in (0, 1).

    Returns:
        (T,) abar; entry t - 1 is abar_t (decreasing, in (0, 1)).
    """
    return torch.cumprod(1 - _check_betas(betas), dim=0)


def _check_t(t: object, T: int, B: int, minimum: int = 1) -> torch.Tensor:
    checks.tensor("t", t, ndim=1, floating=False, shape_hint="(B,)")
    if t.shape[0] != B:
        raise ValueError(f"t must have shape (B,) = ({B},), found {tuple(t.shape)}")
    if checks.validation_enabled() and t.numel() and bool(((t < minimum) | (t > T)).any()):
        raise ValueError(
            f"t must hold steps in {{{minimum}, ..., T = {T}}}, found values in "
            f"[{int(t.min())}, {int(t.max())}]"
        )
    return t


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t - 1] as a (B, 1) column in like's dtype and device."""
    return values.to(device=like.device, dtype=like.dtype)[t - 1][:, None]


# ---- the forward process and its posterior ----


def forward_marginal(
    x0: torch.Tensor, t: torch.Tensor, betas: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The closed form of the forward process: mean and standard deviation of q(x_t | x_0).

        q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)

    Args:
        x0: (B, D) data.
        t: (B,) integer steps in 1..T.
        betas: (T,) the schedule.

    Returns:
        mean (B, D) and std (B, 1), in x0's dtype and device.
    """
    checks.tensor("x0", x0, ndim=2, shape_hint="(B, D)")
    abar = alpha_bars(betas)
    _check_t(t, abar.shape[0], x0.shape[0])
    a = _gather(abar, t, x0)
    return a.sqrt() * x0, (1 - a).sqrt()


def forward_sample(
    x0: torch.Tensor,
    t: torch.Tensor,
    betas: torch.Tensor,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw x_t ~ q(x_t | x_0) in one step, by reparameterization.

        x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I)

    Args:
        x0: (B, D) data.
        t: (B,) integer steps in 1..T.
        betas: (T,) the schedule.
        eps: (B, D) noise to use instead of drawing it.
        generator: for the noise.

    Returns:
        x_t (B, D) and the eps (B, D) that made it.
    """
    mean, std = forward_marginal(x0, t, betas)
    if eps is None:
        eps = gaussian.standard_normal_noise(1, like=x0, generator=generator)[0]
    else:
        checks.tensor("eps", eps, ndim=2, shape_hint="(B, D)")
        if eps.shape != x0.shape:
            raise ValueError(
                f"eps must have x0's shape {tuple(x0.shape)}, found {tuple(eps.shape)}"
            )
    return mean + std * eps, eps


def posterior(
    x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor, betas: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the forward process's posterior q(x_{t-1} | x_t, x_0).

        mu~_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0
                + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
        beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t        (abar_0 = 1: beta~_1 = 0)

    Args:
        x0: (B, D) data (or a prediction of it).
        xt: (B, D) the noisy point at step t.
        t: (B,) integer steps in 1..T.
        betas: (T,) the schedule.

    Returns:
        mean (B, D) and std (B, 1) = sqrt(beta~_t).
    """
    checks.tensor("x0", x0, ndim=2, shape_hint="(B, D)")
    checks.tensor("xt", xt, ndim=2, shape_hint="(B, D)")
    if xt.shape != x0.shape:
        raise ValueError(f"xt must have x0's shape {tuple(x0.shape)}, found {tuple(xt.shape)}")
    abar = alpha_bars(betas)
    _check_t(t, abar.shape[0], x0.shape[0])
    abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
    a, a_prev, beta = (_gather(v, t, x0) for v in (abar, abar_prev, betas))
    mean = a_prev.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * xt
    return mean, ((1 - a_prev) / (1 - a) * beta).sqrt()


def predict_x0(
    xt: torch.Tensor, t: torch.Tensor, eps_hat: torch.Tensor, betas: torch.Tensor
) -> torch.Tensor:
    """Invert the closed form: the x_0 that eps_hat would have noised into x_t.

        x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)

    Args:
        xt: (B, D) noisy points; t: (B,) steps in 1..T; eps_hat: (B, D) predicted noise;
        betas: (T,) the schedule.

    Returns:
        (B, D)
    """
    checks.tensor("xt", xt, ndim=2, shape_hint="(B, D)")
    checks.tensor("eps_hat", eps_hat, ndim=2, shape_hint="(B, D)")
    if eps_hat.shape != xt.shape:
        raise ValueError(
            f"eps_hat must have xt's shape {tuple(xt.shape)}, found {tuple(eps_hat.shape)}"
        )
    abar = alpha_bars(betas)
    _check_t(t, abar.shape[0], xt.shape[0])
    a = _gather(abar, t, xt)
    return (xt - (1 - a).sqrt() * eps_hat) / a.sqrt()


def reverse_mean(
    xt: torch.Tensor, t: torch.Tensor, eps_hat: torch.Tensor, betas: torch.Tensor
) -> torch.Tensor:
    """The reverse model's mean: the posterior mean with x_0 replaced by its prediction.

        mu_theta(x_t, t) = mu~_t(x_t, x0_hat)
                         = (x_t - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t)

    Args:
        xt: (B, D); t: (B,) steps in 1..T; eps_hat: (B, D); betas: (T,).

    Returns:
        (B, D)
    """
    return posterior(predict_x0(xt, t, eps_hat, betas), xt, t, betas)[0]


# ---- losses and the bound ----


def _draw_t(B: int, T: int, like: torch.Tensor, generator: torch.Generator | None):
    return torch.randint(1, T + 1, (B,), generator=generator).to(like.device)


def noise_prediction_loss(
    eps_model: EpsModel,
    x0: torch.Tensor,
    betas: torch.Tensor,
    generator: torch.Generator | None = None,
    t: torch.Tensor | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """Ho et al.'s simplified loss, per data point: the squared error of the predicted noise.

        L_simple(x_0) = || eps - eps_hat(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t) ||^2,
        t ~ U{1..T}, eps ~ N(0, I)

    Args:
        eps_model: (x_t (B, D), t (B,)) -> eps_hat (B, D).
        x0: (B, D) data.
        betas: (T,) the schedule.
        generator: for t and eps.
        t: (B,) steps to use instead of drawing them; eps: (B, D) likewise.

    Returns:
        (B,) the squared error summed over D (average it for the training loss).
    """
    checks.tensor("x0", x0, ndim=2, shape_hint="(B, D)")
    if t is None:
        t = _draw_t(x0.shape[0], _check_betas(betas).shape[0], x0, generator)
    xt, eps = forward_sample(x0, t, betas, eps=eps, generator=generator)
    return ((eps - eps_model(xt, t)) ** 2).sum(-1)


def gaussian_diffusion_bound(
    eps_model: EpsModel,
    x0: torch.Tensor,
    betas: torch.Tensor,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """The diffusion bound -ELBO >= -log p(x_0), every step's term, one x_t draw per step.

        -ELBO = L_T + sum_{t=2}^T L_{t-1} + L_0,
        L_T = KL(N(sqrt(abar_T) x_0, (1 - abar_T) I) || N(0, I)),
        L_{t-1} = KL(N(mu~_t(x_t, x_0), beta~_t) || N(mu~_t(x_t, x0_hat), beta_t)),
        L_0 = -log N(x_0; mu~_1(x_1, x0_hat), beta_1),      x_t ~ q(x_t | x_0)

    The reverse variance is sigma_t^2 = beta_t. Each term is an unbiased one-draw estimate
    of its expectation over q, so the sum's expectation is the bound (in nats per point).

    Args:
        eps_model: (x_t (B, D), t (B,)) -> eps_hat (B, D).
        x0: (B, D) data.
        betas: (T,) the schedule.
        generator: for the draws of x_t.

    Returns:
        dict with "prior" (B,) = L_T, "steps" (B, T) whose column t - 1 is the term of step t
        (L_0 in column 0, L_{t-1} for t >= 2), and "bound" (B,) = their sum.
    """
    checks.tensor("x0", x0, ndim=2, shape_hint="(B, D)")
    T = _check_betas(betas).shape[0]
    B, D = x0.shape
    abar_T = alpha_bars(betas)[-1].to(x0)
    prior = gaussian.kl_standard(abar_T.sqrt() * x0, (1 - abar_T).sqrt().expand_as(x0))
    columns = []
    for step in range(1, T + 1):
        t = torch.full((B,), step, dtype=torch.long, device=x0.device)
        xt, _ = forward_sample(x0, t, betas, generator=generator)
        mean_p = reverse_mean(xt, t, eps_model(xt, t), betas)
        sigma_p = _gather(betas, t, x0).sqrt().expand_as(x0)
        if step == 1:
            columns.append(-gaussian.log_prob(x0, mean_p, sigma_p))
        else:
            mean_q, std_q = posterior(x0, xt, t, betas)
            columns.append(gaussian.kl(mean_q, std_q.expand_as(x0), mean_p, sigma_p))
    steps = torch.stack(columns, dim=-1)
    return {"prior": prior, "steps": steps, "bound": prior + steps.sum(-1)}


@torch.no_grad()
def sample(
    eps_model: EpsModel,
    betas: torch.Tensor,
    n: int,
    D: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Ancestral sampling of the learned reverse process, from x_T ~ N(0, I) down to x_0.

        x_{t-1} = mu_theta(x_t, t) + sqrt(beta_t) z,  z ~ N(0, I)  (no noise at t = 1)

    Args:
        eps_model: (x_t (n, D), t (n,)) -> eps_hat (n, D).
        betas: (T,) the schedule.
        n, D: how many points, and their dimension.
        generator: for the noise.
        dtype, device: of the samples.

    Returns:
        (n, D) samples x_0.
    """
    checks.positive_int("n", n)
    checks.positive_int("D", D)
    T = _check_betas(betas).shape[0]
    like = torch.empty((n, D), dtype=dtype, device=device)
    x = gaussian.standard_normal_noise(1, like=like, generator=generator)[0]
    for step in range(T, 0, -1):
        t = torch.full((n,), step, dtype=torch.long, device=x.device)
        x = reverse_mean(x, t, eps_model(x, t), betas)
        if step > 1:
            z = gaussian.standard_normal_noise(1, like=x, generator=generator)[0]
            x = x + _gather(betas, t, x).sqrt() * z
    return x


# ---- masking (absorbing-state) diffusion on categories ----


def _check_categories(x0: object, K: int) -> torch.Tensor:
    checks.tensor("x0", x0, ndim=2, floating=False, shape_hint="(B, D)")
    checks.positive_int("K", K, minimum=2)
    if x0.is_floating_point() or x0.dtype == torch.bool:
        raise TypeError(f"x0 must be an integer tensor of categories, found dtype {x0.dtype}")
    if checks.validation_enabled() and x0.numel() and bool(((x0 < 0) | (x0 >= K)).any()):
        raise ValueError(
            f"x0 must hold categories in {{0, ..., K - 1 = {K - 1}}}, found values in "
            f"[{int(x0.min())}, {int(x0.max())}]"
        )
    return x0


def masking_forward(
    x0: torch.Tensor,
    t: torch.Tensor,
    T: int,
    K: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) of the masking diffusion: each pixel masked with prob t / T.

        q(x_{t,d} | x_{0,d}) = (1 - t / T) 1[x_{t,d} = x_{0,d}] + (t / T) 1[x_{t,d} = K]

    Args:
        x0: (B, D) integer categories in 0..K-1.
        t: (B,) integer steps in 0..T (0: nothing masked, T: everything masked).
        T: number of steps.
        K: number of categories; the mask token is K.
        generator: for the masks.

    Returns:
        (B, D) int64 x_t with values in 0..K.
    """
    _check_categories(x0, K)
    checks.positive_int("T", T)
    _check_t(t, T, x0.shape[0], minimum=0)
    u = torch.rand(x0.shape, generator=generator).to(x0.device)
    masked = u < (t.to(x0.device, torch.float64)[:, None] / T).to(u.dtype)
    return torch.where(masked, torch.full_like(x0, K), x0).long()


def _masked_cross_entropy(
    logits_model: LogitsModel, x0: torch.Tensor, xt: torch.Tensor, K: int
) -> torch.Tensor:
    """sum over the masked pixels of -log softmax(logits)[x_0]: (B,)."""
    logits = logits_model(xt)
    B, D = x0.shape
    if tuple(logits.shape) != (B, D, K):
        raise ValueError(
            f"logits_model must return logits of shape (B, D, K) = {(B, D, K)}, "
            f"found {tuple(logits.shape)}"
        )
    nll = -torch.log_softmax(logits, -1).gather(-1, x0.long()[..., None])[..., 0]
    return (nll * (xt == K).to(nll.dtype)).sum(-1)


def masking_bound(
    logits_model: LogitsModel,
    x0: torch.Tensor,
    T: int,
    K: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The masking diffusion's bound on the discrete NLL, one mask draw per step, in nats.

        -log P(x_0) <= sum_{t=1}^T (1 / t) E_{x_t ~ q(x_t | x_0)} sum_{d: x_{t,d} = K}
                       -log softmax(l(x_t))_{d, x_{0,d}}

    Step t's term is the exact KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)): a masked pixel
    is revealed with probability 1 / t under both, to x_{0,d} under q and to a draw from the
    softmax under p. The estimate is unbiased for the bound.

    Args:
        logits_model: x_t (B, D) int64 in 0..K (K = masked) -> logits (B, D, K).
        x0: (B, D) integer categories in 0..K-1.
        T: number of steps (T = 1: every pixel from the fully masked image at once).
        K: number of categories.
        generator: for the masks.

    Returns:
        (B,) the bound's estimate for each image.
    """
    _check_categories(x0, K)
    checks.positive_int("T", T)
    total = 0.0
    for step in range(1, T + 1):
        t = torch.full((x0.shape[0],), step, dtype=torch.long, device=x0.device)
        xt = masking_forward(x0, t, T, K, generator)
        total = total + _masked_cross_entropy(logits_model, x0, xt, K) / step
    return total  # (B,) in the logits' dtype and device


def masking_loss(
    logits_model: LogitsModel,
    x0: torch.Tensor,
    K: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The continuous-time (T -> infinity) bound, one draw per image: the training loss.

        L(x_0) = (1 / s) sum_{d masked} -log softmax(l(x_s))_{d, x_{0,d}},
        s ~ U(0, 1], each pixel masked with probability s

    Its expectation is lim_{T -> inf} of ``masking_bound``: sum_t (1/t) q_t -> int ds / s.

    Args:
        logits_model: x_s (B, D) in 0..K -> logits (B, D, K).
        x0: (B, D) integer categories in 0..K-1.
        K: number of categories.
        generator: for s and the masks.

    Returns:
        (B,) one-draw estimates, in nats.
    """
    _check_categories(x0, K)
    B = x0.shape[0]
    s = 1 - torch.rand(B, generator=generator).to(x0.device)  # (0, 1]
    u = torch.rand(x0.shape, generator=generator).to(x0.device)
    xt = torch.where(u < s[:, None], torch.full_like(x0, K), x0).long()
    return _masked_cross_entropy(logits_model, x0, xt, K) / s


@torch.no_grad()
def masking_sample(
    logits_model: LogitsModel,
    n: int,
    D: int,
    K: int,
    T: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Sample the reverse masking process: from all masked, reveal each masked pixel w.p. 1 / t.

        at step t = T..1: each masked pixel d is revealed w.p. 1 / t, to k ~ softmax(l(x_t))_d

    Args:
        logits_model: x_t (n, D) in 0..K -> logits (n, D, K).
        n, D, K, T: images, pixels, categories, steps (T network calls).
        generator: for the reveals and the values.
        device: of the samples.

    Returns:
        (n, D) int64 images in 0..K-1.
    """
    for name, value in (("n", n), ("D", D), ("T", T)):
        checks.positive_int(name, value)
    checks.positive_int("K", K, minimum=2)
    x = torch.full((n, D), K, dtype=torch.long, device=device)
    for step in range(T, 0, -1):
        probs = torch.softmax(logits_model(x).double(), -1)
        values = torch.multinomial(probs.reshape(n * D, K).cpu(), 1, generator=generator)
        values = values.reshape(n, D).to(x.device)
        reveal = torch.rand((n, D), generator=generator).to(x.device) < 1 / step
        x = torch.where((x == K) & reveal, values, x)
    return x
