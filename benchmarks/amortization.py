"""Lecture 07's numbers: the two gaps of an encoder, and what test-time refinement buys.

Bars (4x4, 1-D latent, exact): the course's bar VAE (``dgmlab.recipes.train_bar_vae``), and on
2000 held-out images (each distinct image once, weighted by its count) the split
log p(x) - ELBO(q_phi) = approximation gap + amortization gap (``variational.amortization_gaps``,
all by quadrature), then the amortization gap left after 50 steps of semi-amortized refinement
(``variational.refine_gaussian`` from the encoder's q, exact ELBO after).

Digits (8x8, 17 levels, the fixed split): the course's digits VAE, trained exactly as the
quality item trains it (``benchmarks.quality._train_digits``: L = 16, (256, 256) tanh, Adam,
2 minutes at most, best validation -ELBO kept). On the 447 test images: -ELBO of the encoder's
q (S = 100), -ELBO after 50 refinement steps (one sample each, lr 0.05), and the
importance-weighted NLL (K = 1000) standing in for -log p(x). Issue 13's target: refinement
improves the test -ELBO by at least 1 nat.
"""

from __future__ import annotations

import math
import time

import torch

from benchmarks.common import Config, Result, Target
from benchmarks.quality import _train_digits
from dgmlab.bounds import elbo, importance_sampled_log_p_x
from dgmlab.data import Bars, digits_splits
from dgmlab.densities import log_categorical
from dgmlab.evidence import exact_elbo
from dgmlab.models import CategoricalGenerativeNetwork, InferenceNetwork
from dgmlab.recipes import train_bar_vae
from dgmlab.variational import amortization_gaps, refine_gaussian

TARGET_GAIN = 1.0  # nats of test -ELBO that refinement must buy on digits
REFINE_STEPS = 50


def bars(config: Config, result: Result) -> None:
    if config.full:
        vae, history = train_bar_vae(0, progress=False)  # the course's recipe
        num_held, gap_steps = 2000, 100
    else:
        vae, history = train_bar_vae(0, steps=50, iwae_steps=0, encoder_steps=0, progress=False)
        num_held, gap_steps = 100, 5
    vae = vae.double()
    x, _ = Bars().sample(
        num_held, generator=torch.Generator().manual_seed(10_000), dtype=torch.float64
    )
    x, counts = torch.unique(x, dim=0, return_counts=True)
    weights = counts.double() / counts.sum()
    start = time.perf_counter()
    with torch.no_grad():
        mu, sigma = vae.encoder(x)
    gaps = amortization_gaps(x, vae.decoder, mu, sigma, steps=gap_steps)
    mu_r, sigma_r = refine_gaussian(
        x, vae.decoder, mu, sigma, REFINE_STEPS if config.full else 5, 0.02, 16,
        torch.Generator().manual_seed(0),
    )  # fmt: skip
    with torch.no_grad():
        refined = exact_elbo(x, vae.decoder, mu_r, sigma_r).elbo

    def mean(values: torch.Tensor) -> float:
        return round(float((weights * values).sum()), 4)

    result.rows.append(
        {
            "data": f"bars 4x4, {num_held} held-out ({len(x)} distinct), exact",
            "model": "train_bar_vae(0)" if config.full else "train_bar_vae(0, steps=50)",
            "train_s": round(history.seconds, 1),
            "log p(x) - ELBO(q_phi)": mean(gaps.total),
            "approximation gap": mean(gaps.approximation),
            "amortization gap": mean(gaps.amortization),
            f"amortization gap after {REFINE_STEPS if config.full else 5} SVI steps": mean(
                gaps.elbo_best - refined
            ),
            "gaps_s": round(time.perf_counter() - start, 1),
        }
    )
    result.targets.append(
        Target(
            "bars: approximation + amortization = log p(x) - ELBO(q_phi), both >= 0 (1e-3)",
            None,
            "holds",
            bool(torch.allclose(gaps.approximation + gaps.amortization, gaps.total))
            and bool((gaps.approximation >= -1e-3).all() and (gaps.amortization >= -1e-3).all()),
        )
    )


def digits(config: Config, result: Result) -> None:
    K, S = (1000, 100) if config.full else (20, 5)
    steps = REFINE_STEPS if config.full else 5
    torch.manual_seed(0)  # as the quality item: the same initial weights, the same VAE
    splits = digits_splits(categorical=True, device=config.device)
    x_train, x_val, x_test = (splits[s][0].float() for s in ("train", "val", "test"))
    L, hidden = 16, (256, 256)
    encoder = InferenceNetwork(64, L, hidden, "tanh").to(config.device)
    decoder = CategoricalGenerativeNetwork(L, 64, 17, hidden, "tanh").to(config.device)
    encode, history, best = _train_digits(
        x_train, x_val, encoder, decoder, log_categorical, 16.0, config
    )
    start = time.perf_counter()
    with torch.no_grad():
        mu, sigma = encode(x_test)  # (447, L) each
    mu_r, sigma_r = refine_gaussian(
        x_test, decoder, mu, sigma, steps, 0.05, 1,
        torch.Generator(device=config.device).manual_seed(1), log_likelihood=log_categorical,
    )  # fmt: skip
    refine_s = time.perf_counter() - start
    g = torch.Generator(device=config.device).manual_seed(2)

    def nelbo(m: torch.Tensor, s: torch.Tensor) -> float:
        with torch.no_grad():
            return float(
                -elbo(
                    x_test, lambda _: (m, s), decoder, S, g, log_likelihood=log_categorical
                ).mean()
            )

    before, after = nelbo(mu, sigma), nelbo(mu_r, sigma_r)
    nll_iw = float(
        -torch.cat(
            [
                importance_sampled_log_p_x(
                    xb, lambda _, m=m, s=s: (m, s), decoder, K, g, log_categorical
                )
                for xb, m, s in zip(x_test.split(50), mu.split(50), sigma.split(50), strict=True)
            ]
        ).mean()
    )
    gain = before - after
    result.tables.setdefault("digits", []).append(
        {
            "data": "digits 8x8, 17 levels, test 447",
            "model": f"VAE L={L}, hidden {hidden}, tanh (the quality item's)",
            "train_s": round(history.seconds, 1),
            "best_epoch": best["epoch"],
            f"test -ELBO q_phi (S={S})": round(before, 2),
            f"test -ELBO refined ({steps} steps)": round(after, 2),
            f"test IW NLL (K={K})": round(nll_iw, 2),
            "refinement gain": round(gain, 2),
            "gap left (refined -ELBO - IW NLL)": round(after - nll_iw, 2),
            "refine_s": round(refine_s, 1),
        }
    )
    result.targets.append(
        Target(
            f"digits (17 levels): test -ELBO gain from {steps} refinement steps",
            round(gain, 2),
            f">= {TARGET_GAIN}",
            gain >= TARGET_GAIN if config.full else None,
            "nats",
        )
    )
    if not math.isfinite(nll_iw) or nll_iw > before + 0.5:
        result.notes.append(f"IW NLL {nll_iw:.2f} is not below the -ELBO {before:.2f}: check")


def run(config: Config) -> Result:
    result = Result(
        "amortization", "Amortized inference: the two gaps (bars, exact), refinement (digits)"
    )
    bars(config, result)
    digits(config, result)
    if not config.full:
        result.notes.append(
            "quick mode: a short bar VAE, 1 s of digits training, 5 refinement steps, K=20: "
            "the machinery, not the record"
        )
    return result
