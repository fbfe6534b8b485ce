"""Item: diffusion models (lecture 13), on the course's likelihood scale.

Two moons (``sklearn.datasets.make_moons(noise=0.1)``, 2000 train / 1000 held out, seeds 0 / 1):
Gaussian diffusion, T = 100 steps of a linear schedule 1e-4..0.1, an ``EpsMLP`` trained on the
simplified noise-prediction loss; the held-out bound -ELBO (``diffusion.gaussian_diffusion_bound``:
L_T + the per-step KLs + L_0, reverse variance beta_t) in nats per dimension, averaged over
``draws`` draws of the forward process. Reported beside the 1.08 nats/dim of the published RealNVP
reference that lecture 11 quotes.

Bars (4x4, 5% flips) and digits (17 levels, the fixed 1000 / 350 / 447 split): masking
(absorbing-state) diffusion, ``MaskedDenoiser`` trained on the continuous-time bound
(``diffusion.masking_loss``). Its T-step bound ``diffusion.masking_bound`` (one mask draw per
step, averaged over ``draws`` draws) is an upper bound on the discrete NLL in nats. Bars: the
bound's expectation over all 2^16 images under p_data, in nats above H(p_data). Digits: the test
bound at T = 64, the parameters with the best validation bound kept; target below 106.3 nats
(independent pixels, issue 15). The number of steps: the same network's test bound for
T = 1..256 and the seconds to draw 100 images with T steps.
"""

from __future__ import annotations

import copy
import time

import torch
from sklearn.datasets import make_moons

from benchmarks.common import Config, Result, Target
from dgmlab import diffusion
from dgmlab.data import Bars, digits_splits
from dgmlab.models import count_parameters
from dgmlab.models.diffusion import EpsMLP, MaskedDenoiser
from dgmlab.recipes import all_images
from dgmlab.train import fit

MOONS_REFERENCE = 1.08  # nats per dimension, RealNVP (issue 14), for comparison
INDEPENDENT_PIXELS_NLL = 106.3  # issue 15's figure for one categorical per pixel
DIGITS_BUDGET_SECONDS = 180.0
STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _masking_bound(model, x: torch.Tensor, T: int, K: int, draws: int, seed: int = 10):
    """The T-step bound per image, averaged over ``draws`` mask draws: (B,) float64."""
    model.eval()
    with torch.no_grad():
        return torch.stack([
            torch.cat([diffusion.masking_bound(model, c, T, K, torch.Generator().manual_seed(
                seed + r)) for c in x.split(8192)]).double()
            for r in range(draws)
        ]).mean(0)  # fmt: skip


def _sample_seconds(model, D: int, K: int, T: int, n: int = 100) -> tuple[float, torch.Tensor]:
    model.eval()
    start = time.perf_counter()
    x = diffusion.masking_sample(model, n, D, K, T, torch.Generator().manual_seed(6))
    return time.perf_counter() - start, x


def moons(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    x = torch.tensor(make_moons(2000, noise=0.1, random_state=0)[0], dtype=torch.float32)
    x_test = torch.tensor(make_moons(1000, noise=0.1, random_state=1)[0], dtype=torch.float32)
    T, epochs, draws = (100, 200, 8) if config.full else (20, 2, 1)
    betas = diffusion.linear_schedule(T, 1e-4, 0.1)
    model = EpsMLP(2, T, hidden=128, layers=3)
    noise = torch.Generator().manual_seed(1)
    history = fit(model, lambda xb: diffusion.noise_prediction_loss(model, xb, betas, noise).mean(),
                  x, epochs=epochs, batch_size=128, lr=3e-3, progress=False)  # fmt: skip
    model.eval()
    with torch.no_grad():
        terms = [diffusion.gaussian_diffusion_bound(model, x_test, betas,
                                                    torch.Generator().manual_seed(2 + r))
                 for r in range(draws)]  # fmt: skip
        start = time.perf_counter()
        diffusion.sample(model, betas, 100, 2, torch.Generator().manual_seed(3))
        sample_s = time.perf_counter() - start
    bound = float(torch.stack([t["bound"] for t in terms]).mean()) / 2
    prior = float(torch.stack([t["prior"] for t in terms]).mean())
    result.rows.append({
        "data": "two moons, noise 0.1, 2000 train / 1000 held out", "model":
        f"Gaussian diffusion, T={T} linear 1e-4..0.1, EpsMLP hidden 128, {epochs} epochs",
        "train_s": round(history.seconds, 1), "held-out bound nats/dim": round(bound, 3),
        "L_T nats/point": round(prior, 4), "sample_s (100 points)": round(sample_s, 3),
    })  # fmt: skip
    result.targets.append(Target("two moons: Gaussian diffusion held-out bound (-ELBO)",
                                 round(bound, 3), f"<= {MOONS_REFERENCE} (RealNVP reference, "
                                 "exact NLL)", bound <= MOONS_REFERENCE, "nats/dim"))  # fmt: skip


def bars(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    data = Bars()
    x, _ = data.sample(5000 if config.full else 500, generator=torch.Generator().manual_seed(0))
    x = x.long()
    epochs, T, draws = (150, 16, 4) if config.full else (2, 4, 1)
    model = MaskedDenoiser(16, 2, hidden=256, dropout=0.1)
    masks = torch.Generator().manual_seed(4)
    history = fit(model, lambda xb: diffusion.masking_loss(model, xb, 2, masks).mean(), x,
                  epochs=epochs, batch_size=100, lr=1e-3, progress=False)  # fmt: skip
    images = all_images(16).long()
    p_data = data.log_prob(images.double()).exp()
    H = data.entropy()
    above = float((p_data * _masking_bound(model, images, T, 2, draws)).sum()) - H
    sample_s, drawn = _sample_seconds(model, 16, 2, T)
    result.rows.append({
        "data": "bars 4x4, exact over all 2^16 images", "model":
        f"masking diffusion, MaskedDenoiser hidden 256, T={T}", "train_s":
        round(history.seconds, 1), "bound nats above -H(p_data)": round(above, 4),
    })  # fmt: skip
    result.on_scale(f"masking diffusion, MLP 256, T={T}", f"bound: diffusion ELBO, T={T}",
                    family="diffusion", bars=above, train_s=history.seconds,
                    params=count_parameters(model),
                    sample_s=sample_s, samples={"bars": drawn[:16]})  # fmt: skip
    result.targets.append(Target("bars: masking diffusion's bound, nats above -H(p_data)",
                                 round(above, 4), ">= 0 (a bound; lower is better)",
                                 above >= -0.01, "nats"))  # fmt: skip


def digits(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    splits = digits_splits(categorical=True)
    (x_train, _), (x_val, _), (x_test, _) = (splits[s] for s in ("train", "val", "test"))
    hidden, draws = (512, 4) if config.full else (64, 1)
    model = MaskedDenoiser(64, 17, hidden=hidden, dropout=0.5)
    masks = torch.Generator().manual_seed(4)
    best = {"val": float("inf"), "state": None, "epoch": 0}
    budget = DIGITS_BUDGET_SECONDS if config.full else 2.0
    start = time.perf_counter()

    def callback(epoch: int, history) -> bool:
        if epoch % 10 == 0 or not config.full:
            val = float(_masking_bound(model, x_val, 64, 17, 1).mean())
            model.train()
            if val < best["val"]:
                best.update(val=val, state=copy.deepcopy(model.state_dict()), epoch=epoch)
        return time.perf_counter() - start > budget or epoch - best["epoch"] > 60

    history = fit(model, lambda xb: diffusion.masking_loss(model, xb, 17, masks).mean(), x_train,
                  epochs=2000 if config.full else 2, batch_size=100, lr=1e-3, progress=False,
                  callback=callback)  # fmt: skip
    model.load_state_dict(best["state"])
    steps = STEPS if config.full else (1, 4, 16)
    sweep = []
    for T in steps:
        bound = _masking_bound(model, x_test, T, 17, draws)
        sample_s, drawn = _sample_seconds(model, 64, 17, T)
        sweep.append({"T": T, "test bound (nats)": round(float(bound.mean()), 2),
                      "standard error": round(float(bound.std() / len(bound) ** 0.5), 2),
                      "sample_s (100 images)": round(sample_s, 4),
                      "samples": drawn[:16]})  # fmt: skip
    main = next(s for s in sweep if s["T"] == (64 if config.full else 16))
    result.tables["digits (17 levels), test 447: the number of steps T"] = [
        {k: v for k, v in s.items() if k != "samples"} for s in sweep
    ]
    result.rows.append({
        "data": "digits 8x8, 17 levels, test 447", "model":
        f"masking diffusion, MaskedDenoiser hidden {hidden} (best val epoch {best['epoch']})",
        "train_s": round(history.seconds, 1), f"test bound T={main['T']}":
        main["test bound (nats)"], "val bound T=64": round(best["val"], 2),
    })  # fmt: skip
    for s in sweep:
        if s["T"] in (1, main["T"], steps[-1]):
            result.on_scale(f"masking diffusion, MLP {hidden}, T={s['T']}",
                            f"bound: diffusion ELBO, T={s['T']}", family="diffusion",
                            digits=s["test bound (nats)"],
                            train_s=history.seconds, params=count_parameters(model),
                            sample_s=s["sample_s (100 images)"],
                            samples={"digits": s["samples"]})  # fmt: skip
    first = sweep[0]["test bound (nats)"]
    result.targets += [
        Target(f"digits (17 levels): masking diffusion test bound, T={main['T']}",
               main["test bound (nats)"], f"< {INDEPENDENT_PIXELS_NLL} (independent pixels)",
               main["test bound (nats)"] < INDEPENDENT_PIXELS_NLL, "nats"),
        Target(f"digits: more steps tighten the bound (T={main['T']} vs T=1)",
               main["test bound (nats)"], f"< {first} (T=1)", main["test bound (nats)"] < first,
               "nats"),
        Target("digits: masking diffusion training time", round(history.seconds, 1),
               f"<= {DIGITS_BUDGET_SECONDS:.0f} s (checked every epoch)", None, "s"),
    ]  # fmt: skip
    if not config.full:
        result.notes.append("quick mode: tiny models, seconds of training: numbers are not the "
                            "record")  # fmt: skip


def run(config: Config) -> Result:
    result = Result("diffusion", "Diffusion: two moons bound, bars vs -H(p_data), digits vs T")
    moons(config, result)
    bars(config, result)
    digits(config, result)
    return result
