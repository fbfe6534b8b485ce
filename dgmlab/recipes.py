"""Tested training recipes, and the exact expectations that measure them on bars.

The bar data come from a known distribution p_data, and a model with a 1-D latent has an
exact log p(x) (quadrature, ``dgmlab.evidence``). On 4x4 bars there are only 2^16 images,
so expectations under p_data can be *summed*, with no sampling noise:

    E_{p_data}[log p(x)] = sum_x p_data(x) log p(x) = -H(p_data) - KL(p_data || p)
    E_{p_data}[ELBO(x)]  = sum_x p_data(x) ELBO(x)       (ELBO by quadrature, no samples)

``-H(p_data)`` is the best expected log-likelihood any model can reach, so
``KL(p_data || p)`` is how far a model is from perfect, in nats.

``train_bar_vae`` is the one recipe the course uses for its bar VAE (lecture 06, the
benchmarks and tests/test_vae_quality.py); its docstring gives the recipe.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch
from torch import nn

from dgmlab import checks
from dgmlab.data import Bars
from dgmlab.evidence import exact_elbo, log_evidence
from dgmlab.models import VAE
from dgmlab.train import History, fit

_MAX_ENUMERATED_PIXELS = 20  # 2^20 images, about a million: the most we sum over
# images per quadrature call: a (512, 2001) float32 block is 4 MiB and stays in cache; over
# the 2^16 bar images exact_expectations measured twice as fast as with 8192 (64 MiB blocks)
_CHUNK = 512


def all_images(num_pixels: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Every binary image with ``num_pixels`` pixels, one per row: (2^D, D) float32."""
    D = checks.positive_int("num_pixels", num_pixels)
    if D > _MAX_ENUMERATED_PIXELS:
        raise ValueError(
            f"num_pixels must be <= {_MAX_ENUMERATED_PIXELS} to enumerate all 2^D images, "
            f"found {D} (2^{D} images); estimate the expectation from samples instead"
        )
    bits = torch.tensor([0.0, 1.0], device=device)
    return torch.cartesian_prod(*[bits] * D).reshape(-1, D)  # (2^D, D)


def _decoder_of(model_or_decoder: object):
    decoder = getattr(model_or_decoder, "decoder", model_or_decoder)
    if not callable(decoder):
        raise TypeError(
            "model_or_decoder must be a VAE or a decoder z (G, 1) -> logits (G, D), found "
            f"{type(model_or_decoder).__name__}"
        )
    return decoder


def _device_of(module: object) -> torch.device:
    if isinstance(module, nn.Module):
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def expected_log_likelihood(model_or_decoder, bars: Bars | None = None) -> float:
    """E_{p_data}[log p(x)] exactly: sum over all 2^D images of p_data(x) log p(x).

        E_{p_data}[log p(x)] = sum_x p_data(x) log p(x) = -H(p_data) - KL(p_data || p)

    Args:
        model_or_decoder: a ``VAE`` (its decoder is used) or a decoder mapping z (G, 1)
            to Bernoulli logits (G, D); the latent must be 1-D (quadrature). Or a model
            with an exact ``log_prob(x)`` (B, D) -> (B,) and no decoder (a ``BernoulliMixture``).
        bars: the data distribution (default ``Bars()``, 4x4 with 5% flips).

    Returns:
        nats, in float64 arithmetic over the images; compare with ``-bars.entropy()``.
    """
    bars = Bars() if bars is None else bars
    if hasattr(model_or_decoder, "log_prob") and not hasattr(model_or_decoder, "decoder"):
        log_p = model_or_decoder.log_prob  # exact already: no quadrature
        device = getattr(getattr(model_or_decoder, "theta", None), "device", None)
    else:
        decoder = _decoder_of(model_or_decoder)
        device = _device_of(decoder)

        def log_p(x: torch.Tensor) -> torch.Tensor:
            return log_evidence(x, decoder)

    images = all_images(bars.num_pixels, device)  # (2^D, D)
    with torch.no_grad():
        p_data = bars.log_prob(images).double().exp()  # (2^D,)
        log_p_x = torch.cat([log_p(x) for x in images.split(_CHUNK)])
    return float((p_data * log_p_x.double()).sum())


class ExactExpectations(NamedTuple):
    """Expectations under p_data of a bar VAE's numbers, summed exactly over all images.

    Attributes:
        log_p_x: E_{p_data}[log p(x)].
        elbo: E_{p_data}[ELBO(x)], the ELBO of the Gaussian q(z | x) by quadrature.
        neg_entropy: -H(p_data), the limit log_p_x can reach.
    """

    log_p_x: float
    elbo: float
    neg_entropy: float

    @property
    def kl_data(self) -> float:
        """KL(p_data || p) = -H(p_data) - E[log p(x)] >= 0: nats short of perfect."""
        return self.neg_entropy - self.log_p_x

    @property
    def gap(self) -> float:
        """E[log p(x) - ELBO(x)] = E[KL(q(z | x) || p(z | x))] >= 0."""
        return self.log_p_x - self.elbo


def exact_expectations(vae: VAE, bars: Bars | None = None) -> ExactExpectations:
    """E_{p_data}[log p(x)] and E_{p_data}[ELBO(x)] of a VAE with a 1-D latent, exactly.

        E[log p(x)] = sum_x p_data(x) log p(x),   E[ELBO] = sum_x p_data(x) ELBO(x)

    Both per-image numbers come from quadrature (``evidence.exact_elbo``, which picks for each
    image a grid that resolves its q and its posterior), so nothing is sampled:
    E[log p(x)] - E[ELBO] is the exact mean KL(q(z | x) || p(z | x)).

    Args:
        vae: a ``VAE`` (anything with ``.encoder`` x -> (mu, sigma) and ``.decoder``) with L = 1.
        bars: the data distribution (default ``Bars()``).

    Returns:
        ExactExpectations(log_p_x, elbo, neg_entropy), with ``.kl_data`` and ``.gap``.
    """
    bars = Bars() if bars is None else bars
    encoder = getattr(vae, "encoder", None)
    if encoder is None or not hasattr(vae, "decoder"):
        raise TypeError(
            f"vae must have an .encoder and a .decoder (a dgmlab VAE), found {type(vae).__name__}"
        )
    images = all_images(bars.num_pixels, _device_of(vae))  # (2^D, D)
    elbos, log_ps = [], []
    with torch.no_grad():
        p_data = bars.log_prob(images).double().exp()  # (2^D,)
        for x in images.split(_CHUNK):
            mu, sigma = encoder(x)  # (b, 1) each
            if mu.shape[-1] != 1:
                raise ValueError(
                    f"exact expectations need a 1-D latent, found mu of shape {tuple(mu.shape)}"
                )
            out = exact_elbo(x, vae.decoder, mu, sigma)  # on grids that resolve each q
            elbos.append(out.elbo)
            log_ps.append(out.log_p_x)
    return ExactExpectations(
        log_p_x=float((p_data * torch.cat(log_ps).double()).sum()),
        elbo=float((p_data * torch.cat(elbos).double()).sum()),
        neg_entropy=-bars.entropy(),
    )


# ---- the bar VAE recipe: see train_bar_vae's docstring for what it reaches ----
BAR_VAE_NUM_TRAIN = 5000
BAR_VAE_HIDDEN = (64, 64)
BAR_VAE_BATCH_SIZE = 500
BAR_VAE_STEPS = 4000
BAR_VAE_LR = 1e-2
BAR_VAE_LR_DECAY_AT = 0.7  # phase 1: lr x 0.1 after 70% of its steps
BAR_VAE_NUM_SAMPLES = 2  # K of the importance-weighted bound L_K
BAR_VAE_IWAE_STEPS = 500
BAR_VAE_IWAE_LR = 3e-3  # phase 2: cosine from here to 2% of it
BAR_VAE_ENCODER_STEPS = 1000
BAR_VAE_ENCODER_LR = 3e-3  # phase 3: cosine from here to 2% of it
_OBJECTIVES = ("elbo", "iwae")


def _schedule(optimizer: torch.optim.Optimizer, lr: float, steps: int, kind: str):
    """A ``fit`` callback setting the lr after each epoch from the steps done so far.

    'step': lr, then 0.1 lr after BAR_VAE_LR_DECAY_AT of the steps;
    'cosine': lr (0.02 + 0.98 (1 + cos(pi t / steps)) / 2).
    """

    def callback(epoch: int, history: History) -> None:
        t = history.steps
        if kind == "step":
            value = lr if t < BAR_VAE_LR_DECAY_AT * steps else 0.1 * lr
        else:
            value = lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(t, steps) / steps)))
        for group in optimizer.param_groups:
            group["lr"] = value

    return callback


def _concatenate(histories: list[History]) -> History:
    """One History for phases run one after the other (their losses follow each other)."""
    out = History()
    for h in histories:
        out.eval_step += [out.steps + s for s in h.eval_step]
        for name, values in h.metrics.items():
            out.metrics.setdefault(name, []).extend(values)
        out.step_loss += h.step_loss
        out.epoch_loss += h.epoch_loss
        out.seconds += h.seconds
    return out


def train_bar_vae(
    seed: int = 0,
    *,
    objective: str = "elbo",
    steps: int = BAR_VAE_STEPS,
    num_samples: int = BAR_VAE_NUM_SAMPLES,
    iwae_steps: int = BAR_VAE_IWAE_STEPS,
    encoder_steps: int = BAR_VAE_ENCODER_STEPS,
    device: torch.device | str | None = None,
    progress: bool = True,
    start: VAE | None = None,
) -> tuple[VAE, History]:
    """The course's bar VAE: 4x4 bars, 1-D latent, (64, 64) tanh networks, trained in seconds.

        phase 1  encoder + decoder,  max ELBO = E_q[log p(x | z)] - KL(q || p(z)),  1 sample,
                 ``steps`` Adam steps (batch 500, lr 1e-2, x0.1 after 70%)
        phase 2  encoder + decoder,  max L_K = E[log (1/K) sum_k p(x, z_k) / q(z_k | x)],
                 K = ``num_samples`` (2), ``iwae_steps`` steps (lr 3e-3, cosine decay)
        phase 3  encoder only,       max ELBO with the decoder frozen (lr 3e-3, cosine):
                 tightens the ELBO without changing p(x)

    on 5000 training images drawn with ``seed``. Every objective is a lower bound on log p(x),
    so this is a VAE throughout. Why three phases: with a Gaussian q(z | x), the ELBO keeps
    the decoder's column boundaries soft (a sharp boundary makes p(z | x) a truncated density
    no Gaussian fits), which costs log p(x); L_K sharpens them but widens the ELBO's gap. A
    short L_2 phase lands between. What it reaches is measured, exactly, by
    ``exact_expectations`` (tests/test_vae_quality.py pins the bounds; the benchmarks' quality
    item, ``python -m benchmarks --mode full --only quality``, reports the numbers).
    ``objective='iwae'`` is slower (K decoder passes per image) and reaches the closer log p(x).

    The caller's random state is untouched: the data, the initial weights, the shuffling and
    the samples of z each come from their own generator seeded from ``seed``.

    ``start`` skips phase 1: phases 2 and 3 train a copy of a model whose phase 1 was run
    elsewhere (lecture 06 runs it as its own ``fit`` loop, then compares two ways to go on
    from it without training it twice).

    Args:
        seed: seeds the training images, the initial weights, the shuffling and the samples of z.
        objective: phase 1's bound: 'elbo' (default) or 'iwae' (L_K with ``num_samples``).
        steps: phase 1's optimizer steps.
        num_samples: K of L_K (phases 1 with 'iwae', and 2).
        iwae_steps: phase 2's steps (0 skips it).
        encoder_steps: phase 3's steps (0 skips it).
        device: where to train (default: CPU, where the data are drawn); the noise is drawn
            on the CPU, so a seed gives the same draws on every device.
        progress: show ``fit``'s progress bars.
        start: a bar VAE (data_dim 16, latent_dim 1) after phase 1; needs ``steps=0``. It is
            copied, not changed.

    Returns:
        (vae, history): the trained ``VAE`` and one ``History`` for all phases it ran, their
        step losses (each phase's -bound, in nats) one after the other.
    """
    if not isinstance(objective, str) or objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}, found {objective!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, found {type(seed).__name__}")
    if start is None:
        checks.positive_int("steps", steps)
    else:
        if not isinstance(start, VAE):
            raise TypeError(f"start must be a dgmlab VAE, found {type(start).__name__}")
        shape = (start.encoder.data_dim, start.encoder.latent_dim)
        if shape != (16, 1):
            raise ValueError(
                f"start must have data_dim 16 and latent_dim 1 (a bar VAE), found {shape}"
            )
        if steps != 0:
            raise ValueError(
                f"steps must be 0 when start is given (its phase 1 is done), found {steps!r}"
            )
    checks.positive_int("num_samples", num_samples)
    checks.positive_int("iwae_steps", iwae_steps, minimum=0)
    checks.positive_int("encoder_steps", encoder_steps, minimum=0)
    bars = Bars()
    x_train, _ = bars.sample(BAR_VAE_NUM_TRAIN, generator=torch.Generator().manual_seed(seed))
    if start is not None:
        vae = copy.deepcopy(start)
    else:
        with torch.random.fork_rng(devices=[]):  # the global RNG seeds the initial weights only
            torch.manual_seed(seed)
            vae = VAE(bars.num_pixels, 1, BAR_VAE_HIDDEN, "tanh")
    vae.to(device if device is not None else _device_of(vae))  # a new VAE is on the CPU
    x_train = x_train.to(_device_of(vae))
    sampling = torch.Generator().manual_seed(seed + 1)  # z ~ q(z | x): CPU draws on any device

    def elbo_loss(x: torch.Tensor) -> torch.Tensor:
        return -vae.elbo(x, 1, sampling).mean()

    def iwae_loss(x: torch.Tensor) -> torch.Tensor:
        return -vae.iwae_bound(x, num_samples, sampling).mean()

    def phase(params, loss, n_steps, lr, kind, shuffle_seed) -> History:
        params = list(params)
        optimizer = torch.optim.Adam(params, lr=lr)
        return fit(
            params,
            loss,
            x_train,
            steps=n_steps,
            batch_size=BAR_VAE_BATCH_SIZE,
            optimizer=optimizer,
            seed=shuffle_seed,
            progress=progress,
            callback=_schedule(optimizer, lr, n_steps, kind),
        )

    # phase 1: encoder and decoder on the ELBO (or on L_K)
    first = elbo_loss if objective == "elbo" else iwae_loss
    histories = [phase(vae.parameters(), first, steps, BAR_VAE_LR, "step", seed)] if steps else []
    # phase 2: both networks on L_K, which lets the decoder sharpen its column boundaries
    if iwae_steps:
        histories.append(
            phase(vae.parameters(), iwae_loss, iwae_steps, BAR_VAE_IWAE_LR, "cosine", seed + 1)
        )
    # phase 3: the encoder alone on the ELBO; the decoder, so log p(x), stays as it is
    if encoder_steps:
        for p in vae.decoder.parameters():
            p.requires_grad_(False)
        try:
            histories.append(
                phase(
                    vae.encoder.parameters(),
                    elbo_loss,
                    encoder_steps,
                    BAR_VAE_ENCODER_LR,
                    "cosine",
                    seed + 2,
                )
            )
        finally:
            for p in vae.decoder.parameters():
                p.requires_grad_(True)
    return vae, _concatenate(histories)
