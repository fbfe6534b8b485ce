"""Item: density ratios and GANs (lecture 12).

- The density-ratio trick: logistic regression on quadratic features between samples of two
  Gaussians, in 1-D (N(0, 1) vs N(1, 1.5^2)) and 2-D (N(0, I) vs a correlated Gaussian at
  (1, 0.5)); the RMS error of the estimated log p/q against the true one on fresh samples of p,
  averaged over seeds, for n = 30 ... 10000 per class. Target: it falls roughly like n^-1/2.
- The ring of 8 Gaussians (radius 2, sigma 0.05): a 2-D-latent MLP generator against an MLP
  discriminator, non-saturating and saturating losses, several seeds. A mode is hit when at least
  1% of 2000 samples lie within 3 sigma of its centre; good samples lie within 3 sigma of some
  centre.
- Bars (4x4, 5% flips): a bar generator with a 1-D latent (pixel probabilities, hard samples by
  the straight-through estimator), with and without the minibatch-std discriminator, several
  seeds. Its distribution over all 2^16 images is exact by quadrature, so KL(p_data || p_G),
  KL(p_G || p_data), total variation, JS and the mass on each column are exact. On the course's
  scale the GAN's log-likelihood is "none": the bar generator has one only because of its
  Bernoulli noise and 1-D latent, so KL(p_data || p_G) (= nats above -H(p_data) for this
  generator) is recorded in the bars table, not as a likelihood on the scale.
- Digits (17 levels): a small GAN on the 1000 training images scaled to [0, 1] (a 16-D latent
  MLP generator whose outputs are rounded to the 17 levels), for its samples and its time; no
  likelihood.
"""

from __future__ import annotations

import math

import torch

from benchmarks.common import Config, Result, Target, timed_samples
from dgmlab.adversarial import (
    discrete_divergences,
    fit_logistic,
    log_ratio_from_logits,
    mode_coverage,
    quadratic_features,
)
from dgmlab.data import Bars, digits_splits, ring_centers, ring_of_gaussians
from dgmlab.gan_training import fit_gan
from dgmlab.models import count_parameters
from dgmlab.models.gan import BarGenerator, Discriminator, PointGenerator
from dgmlab.recipes import all_images


def _ratio_error(p, q, n: int, seed: int) -> float:
    torch.manual_seed(seed)
    x = torch.cat([p.sample((n,)), q.sample((n,))]).double().reshape(2 * n, -1)
    y = torch.cat([torch.ones(n), torch.zeros(n)]).double()
    w = fit_logistic(quadratic_features(x), y)
    test = p.sample((2000,))
    truth = (p.log_prob(test) - q.log_prob(test)).double()
    estimate = log_ratio_from_logits(quadratic_features(test.double().reshape(2000, -1)) @ w, n, n)
    return float((estimate - truth).pow(2).mean().sqrt())


def ratio(config: Config, result: Result) -> None:
    problems = {
        "1-D": (torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(1.0, 1.5)),
        "2-D": (
            torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)),
            torch.distributions.MultivariateNormal(
                torch.tensor([1.0, 0.5]), torch.tensor([[1.5, 0.6], [0.6, 1.0]])
            ),
        ),
    }
    sizes = [30, 100, 300, 1000, 3000, 10000] if config.full else [30, 300, 3000]
    seeds = 10 if config.full else 2
    table = []
    for name, (p, q) in problems.items():
        errors = [sum(_ratio_error(p, q, n, s) for s in range(seeds)) / seeds for n in sizes]
        slope = math.log(errors[0] / errors[-1]) / math.log(sizes[-1] / sizes[0])
        by_n = {f"n={n}": round(e, 4) for n, e in zip(sizes, errors, strict=True)}
        table.append({"problem": name, **by_n, "fitted exponent": round(slope, 2)})
        result.targets.append(Target(f"density ratio ({name}): RMS error falls like n^-a",
                                     round(slope, 2), "a in [0.35, 0.75] (n^-1/2 expected)",
                                     0.35 <= slope <= 0.75, ""))  # fmt: skip
    result.tables[f"density-ratio trick: RMS error of log p/q, mean of {seeds} seeds"] = table


def ring(config: Config, result: Result) -> None:
    steps, seeds = (3000, 3) if config.full else (100, 1)
    x, _ = ring_of_gaussians(5000, generator=torch.Generator().manual_seed(0))
    centers = ring_centers()
    table = []
    for saturating in (False, True):
        for seed in range(seeds):
            torch.manual_seed(seed)
            rng = torch.Generator().manual_seed(seed)
            gen, disc = PointGenerator(hidden_dims=(64, 64)), Discriminator(2, (64, 64))
            history = fit_gan(gen, disc, x, steps=steps, batch_size=128, saturating=saturating,
                              generator_rng=rng)  # fmt: skip
            with torch.no_grad():
                cover = mode_coverage(gen.sample(2000, rng), centers, 0.05, min_count=20)
            table.append({
                "loss": "saturating" if saturating else "non-saturating", "seed": seed,
                "steps": steps, "modes hit (of 8)": cover.modes_hit,
                "good samples": round(cover.good_fraction, 3),
                "train_s": round(history.seconds, 1),
            })  # fmt: skip
    result.tables["ring of 8 Gaussians: mode coverage"] = table
    non = [r for r in table if r["loss"] == "non-saturating"]
    hit = sum(r["modes hit (of 8)"] for r in non) / len(non)
    result.targets.append(Target("ring: non-saturating GAN, mean modes hit", round(hit, 2),
                                 ">= 7 of 8" if config.full else "(quick: not judged)",
                                 hit >= 7 if config.full else None, "modes"))  # fmt: skip


def bars(config: Config, result: Result) -> None:
    steps, seeds = (1500, 5) if config.full else (50, 1)
    data = Bars()
    images = all_images(16)
    log_data = data.log_prob(images.double())
    posterior = data.column_posterior(images.double())
    x, _ = data.sample(2000, generator=torch.Generator().manual_seed(1))
    table, kept = [], {}
    for remedy in (False, True):
        for seed in range(seeds):
            torch.manual_seed(seed)
            rng = torch.Generator().manual_seed(seed)
            gen = BarGenerator(latent_dim=1)
            disc = Discriminator(16, (64, 64), minibatch_std=remedy)
            history = fit_gan(gen, disc, x, steps=steps, batch_size=64, lr=2e-3,
                              generator_rng=rng)  # fmt: skip
            with torch.no_grad():
                log_g = gen.log_prob(images).double()
            d = discrete_divergences(log_data, log_g - torch.logsumexp(log_g, 0))
            mass = (log_g.exp()[:, None] * posterior).sum(0)
            table.append({
                "discriminator": "minibatch std" if remedy else "plain", "seed": seed,
                "KL(p_data||p_G)": round(d.kl_pq, 3), "KL(p_G||p_data)": round(d.kl_qp, 3),
                "TV": round(d.tv, 3), "JS": round(d.js, 3),
                "columns >= 5%": int((mass >= 0.05).sum()),
                "mass per column": [round(float(m), 3) for m in mass],
                "train_s": round(history.seconds, 1),
            })  # fmt: skip
            if seed == 0:
                kept[remedy] = (gen, history.seconds)
    result.tables["bars: the bar GAN's exact distribution over all 2^16 images"] = table
    for remedy in (False, True):
        rows = [r for r in table if r["discriminator"] == ("minibatch std" if remedy else "plain")]
        mean = {k: sum(r[k] for r in rows) / len(rows)
                for k in ("KL(p_data||p_G)", "KL(p_G||p_data)", "TV", "columns >= 5%")}  # fmt: skip
        kind = "minibatch-std" if remedy else "plain"
        result.rows.append({"data": "bars 4x4, exact over all 2^16 images",
                            "model": f"bar GAN, 1-D latent, {kind} discriminator, {steps} steps, "
                            f"mean of {seeds} seeds",
                            **{k: round(v, 3) for k, v in mean.items()}})  # fmt: skip
        gen, seconds = kept[remedy]
        sample_s, samples = timed_samples(gen.sample)
        name = "minibatch-std discriminator" if remedy else "plain"
        result.on_scale(f"GAN, bar generator (1-D latent), {name}", "none", family="GAN",
                        train_s=seconds,
                        params=count_parameters(gen), sample_s=sample_s,
                        samples={"bars": samples})  # fmt: skip
        if remedy:
            plain_kl = result.rows[-2]["KL(p_data||p_G)"]
            result.targets.append(Target(
                "bars: the remedy lowers mean KL(p_data || p_G) (mode collapse)",
                round(mean["KL(p_data||p_G)"], 3), f"< {plain_kl} (plain discriminator)",
                mean["KL(p_data||p_G)"] < plain_kl if config.full else None, "nats"))  # fmt: skip
    result.notes.append(
        "a GAN has no likelihood: 'none' on the scale. The bar generator's p_G exists only "
        "because it draws Bernoulli pixels from a 1-D latent (quadrature sums it); its exact "
        "KL(p_data || p_G), the nats above -H(p_data) it would score, is in the bars table"
    )


def digits(config: Config, result: Result) -> None:
    steps = 4000 if config.full else 30
    (x_train, _) = digits_splits(categorical=True)["train"]
    x = x_train.float() / 16  # the 17 levels scaled to [0, 1]
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    gen = PointGenerator(latent_dim=16, data_dim=64, hidden_dims=(128, 128))
    disc = Discriminator(64, (128, 128))
    history = fit_gan(gen, disc, x, steps=steps, batch_size=64, lr=5e-4, generator_rng=rng)

    def draw(n: int) -> torch.Tensor:
        return (gen.sample(n) * 16).round().clamp(0, 16).long()

    sample_s, samples = timed_samples(draw)
    result.on_scale("GAN, MLP generator (16-D latent), outputs rounded to 17 levels", "none",
                    family="GAN", train_s=history.seconds, params=count_parameters(gen),
                    sample_s=sample_s, samples={"digits": samples})  # fmt: skip
    result.rows.append({"data": "digits 8x8, 17 levels, 1000 train",
                        "model": f"GAN, MLP 16-128-128-64, {steps} steps",
                        "train_s": round(history.seconds, 1)})  # fmt: skip


def run(config: Config) -> Result:
    result = Result("gans", "Density ratios and GANs: ratio error, ring coverage, bars exactly")
    ratio(config, result)
    ring(config, result)
    bars(config, result)
    digits(config, result)
    if not config.full:
        result.notes.append("quick mode: a few steps of training; the numbers are not the record")
    return result
