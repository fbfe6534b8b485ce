"""Item: normalizing flows (lecture 11), on the course's likelihood scale, beside the VAE.

Two moons (``sklearn.datasets.make_moons(noise=0.1)``, 2000 train / 1000 test, seeds 0 / 1):
a RealNVP (standardizing layer + affine couplings) trained on the exact NLL; test NLL in nats
per dimension. Target (issue 14): <= 1.08, a published homework reference for RealNVP.

Bars (4x4, 5% flips) and digits (17 levels, the fixed 1000 / 350 / 447 split): the flow models
the dequantized pixels x + u, u ~ U[0, 1)^D, and reports the dequantized bound
-E[log (1/K) sum_k p(x + u_k)] >= -log P(x), an upper bound on its discrete NLL in nats
(``dgmlab.dequantization``). Its first layer is the per-pixel ``CategoricalCDF`` of the training
histograms, so before training the bound is exactly the independent-pixel model's NLL.
Bars: the bound's expectation over all 2^16 images under p_data, in nats above H(p_data) (it
can never be below). Digits: the test bound, the parameters with the best validation bound kept;
target below 106.3 nats (independent pixels, issue 14), ideally below the VAE. In full mode the
course's digits VAE (``benchmarks.quality.digits``, unchanged) is trained in the same run and
its test -ELBO and importance-weighted NLL are put in the same table.
"""

from __future__ import annotations

import copy
import time

import torch
from sklearn.datasets import make_moons

from benchmarks import quality
from benchmarks.common import Config, Result, Target, timed_samples
from dgmlab.data import Bars, digits_splits
from dgmlab.dequantization import dequantized_log_likelihood, dequantized_nll_bound
from dgmlab.models import count_parameters
from dgmlab.models.flow import CategoricalCDF, ElementwiseAffine, checkerboard_masks, real_nvp
from dgmlab.recipes import all_images
from dgmlab.train import fit

MOONS_REFERENCE = 1.08  # nats per dimension, RealNVP (issue 14)
INDEPENDENT_PIXELS_NLL = 106.3  # issue 14's figure for one categorical per pixel
DIGITS_BUDGET_SECONDS = 120.0


def _bound(flow, x: torch.Tensor, K: int, draws: int = 1, seed: int = 10) -> torch.Tensor:
    """-L_K(x) per image, averaged over ``draws`` independent noise draws: (B,) float64."""
    return dequantized_nll_bound(flow.log_prob, x, K, draws, seed)


def _dequantized_fit(flow, x: torch.Tensor, epochs: int, lr: float, batch_size: int, **kwargs):
    noise = torch.Generator().manual_seed(1)

    def loss(xb: torch.Tensor) -> torch.Tensor:
        return -dequantized_log_likelihood(flow.log_prob, xb, generator=noise).mean()

    return fit(flow, loss, x.float(), epochs=epochs, batch_size=batch_size, lr=lr,
               progress=False, **kwargs)  # fmt: skip


def moons(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    x = torch.tensor(make_moons(2000, noise=0.1, random_state=0)[0], dtype=torch.float32)
    x_test = torch.tensor(make_moons(1000, noise=0.1, random_state=1)[0], dtype=torch.float32)
    layers, epochs = (8, 100) if config.full else (4, 3)
    masks = [torch.tensor([1, 0]) if i % 2 == 0 else torch.tensor([0, 1]) for i in range(layers)]
    flow = real_nvp(masks, hidden=64, first=[ElementwiseAffine.standardizing(x)])
    history = fit(flow, lambda xb: -flow.log_prob(xb).mean(), x, epochs=epochs, batch_size=128,
                  lr=3e-3, progress=False)  # fmt: skip
    with torch.no_grad():
        test = -flow.log_prob(x_test).mean().item() / 2
        train = -flow.log_prob(x).mean().item() / 2
    result.rows.append({
        "data": "two moons, noise 0.1, 2000 train / 1000 test", "model":
        f"RealNVP, {layers} couplings, hidden 64, {epochs} epochs", "train_s":
        round(history.seconds, 1), "train nats/dim": round(train, 3),
        "test nats/dim": round(test, 3),
    })  # fmt: skip
    result.targets.append(Target("two moons: RealNVP test NLL", round(test, 3),
                                 f"<= {MOONS_REFERENCE} (published RealNVP reference)",
                                 test <= MOONS_REFERENCE, "nats/dim"))  # fmt: skip


def bars(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    data = Bars()
    x, _ = data.sample(5000 if config.full else 1000, generator=torch.Generator().manual_seed(0))
    couplings, epochs = (6, 40) if config.full else (2, 1)
    flow = real_nvp(checkerboard_masks(4, 4, couplings), hidden=64,
                    first=[CategoricalCDF.from_counts(x.long(), 2, alpha=0.5)])  # fmt: skip
    images = all_images(16)
    p_data = data.log_prob(images.double()).exp()
    H = data.entropy()
    start = float((p_data * _bound(flow, images, 1)).sum())
    history = _dequantized_fit(flow, x, epochs, 3e-3, 128)
    K_big = 16 if config.full else 2
    above = {K: float((p_data * _bound(flow, images, K)).sum()) - H for K in (1, K_big)}
    result.rows.append({
        "data": "bars 4x4, exact over all 2^16 images", "model":
        f"RealNVP flow, {couplings} couplings, dequantized", "train_s": round(history.seconds, 1),
        "independent pixels: nats above -H(p_data)": round(start - H, 4),
        "bound nats above -H(p_data) (K=1)": round(above[1], 4),
        f"bound nats above -H(p_data) (K={K_big})": round(above[K_big], 4),
    })  # fmt: skip
    result.on_scale("independent pixels (a histogram per pixel)", "exact", family="baseline",
                    bars=start - H)  # fmt: skip
    sample_s, samples = timed_samples(lambda n: flow.sample(n).floor())
    for K in (1, K_big):
        result.on_scale(f"RealNVP flow, {couplings} couplings", f"bound: dequantized, K={K}",
                        family="flow", bars=above[K], train_s=history.seconds,
                        params=count_parameters(flow), sample_s=sample_s,
                        samples={"bars": samples})  # fmt: skip
    result.targets.append(Target("bars: flow's dequantized bound, nats above -H(p_data)",
                                 round(above[1], 4), ">= 0 (a bound; lower is better)",
                                 above[1] >= 0 and above[K_big] >= 0, "nats"))  # fmt: skip


def digits(config: Config, result: Result) -> None:
    torch.manual_seed(0)
    splits = digits_splits(categorical=True)
    (x_train, _), (x_val, _), (x_test, _) = (splits[s] for s in ("train", "val", "test"))
    couplings, hidden = (8, 256) if config.full else (2, 32)
    flow = real_nvp(checkerboard_masks(8, 8, couplings), hidden=hidden,
                    first=[CategoricalCDF.from_counts(x_train, 17, alpha=0.3)])  # fmt: skip
    independent = float(_bound(flow, x_test, 1).mean())
    best = {"val": float("inf"), "state": None, "epoch": 0}
    budget = DIGITS_BUDGET_SECONDS if config.full else 2.0
    start = time.perf_counter()

    def callback(epoch: int, history) -> bool:
        val = float(_bound(flow, x_val, 1).mean())
        if val < best["val"]:
            best.update(val=val, state=copy.deepcopy(flow.state_dict()), epoch=epoch)
        return time.perf_counter() - start > budget or epoch - best["epoch"] > 15

    history = _dequantized_fit(flow, x_train, 1000 if config.full else 2, 1e-3, 64,
                               callback=callback)  # fmt: skip
    flow.load_state_dict(best["state"])
    K_big = 100 if config.full else 4
    test_1 = float(_bound(flow, x_test, 1, draws=5).mean())
    test_big = float(_bound(flow, x_test, K_big).mean())
    table = [
        {"model": "independent pixels (the flow before training, exact NLL)", "test nats":
         round(independent, 2), "train_s": 0.0},
        {"model": f"RealNVP flow, {couplings} couplings, hidden {hidden}, dequantized bound "
         f"(best val epoch {best['epoch']})", "test nats": round(test_1, 2),
         "test nats (bound, K=1)": round(test_1, 2), f"test nats (bound, K={K_big})":
         round(test_big, 2), "val bound": round(best["val"], 2),
         "train_s": round(history.seconds, 1)},
    ]  # fmt: skip
    result.rows.append({"data": "digits 8x8, 17 levels, test 447", **table[1]})
    result.on_scale("independent pixels (a histogram per pixel)", "exact", family="baseline",
                    digits=independent)  # fmt: skip
    sample_s, samples = timed_samples(lambda n: flow.sample(n).floor())
    for K, value in ((1, test_1), (K_big, test_big)):
        result.on_scale(f"RealNVP flow, {couplings} couplings, hidden {hidden}",
                        f"bound: dequantized, K={K}", family="flow", digits=value,
                        train_s=history.seconds, params=count_parameters(flow),
                        sample_s=sample_s, samples={"digits": samples})  # fmt: skip
    result.targets += [
        Target("digits (17 levels): flow test bound, K=1", round(test_1, 2),
               f"< {INDEPENDENT_PIXELS_NLL} (independent pixels)",
               test_1 < INDEPENDENT_PIXELS_NLL, "nats"),
        Target(f"digits: flow bound K={K_big} <= K=1 (importance weighting tightens it)",
               round(test_big, 2), f"<= {test_1:.2f}", test_big <= test_1 + 0.05, "nats"),
    ]  # fmt: skip
    if config.full:  # the course's VAE, trained here by quality's own code, unchanged
        row = quality.course_vae_digits(config)
        iw = row["iw_key"]
        table += [
            {"model": f"{row['model']} (benchmarks.quality), -ELBO", "test nats":
             row["test -ELBO"], "train_s": row["train_s"]},
            {"model": f"{row['model']} (benchmarks.quality), {iw[5:]}", "test nats":
             row[iw], "train_s": row["train_s"]},
        ]  # fmt: skip
        result.targets.append(Target("digits: flow bound (K=1) below the VAE's -ELBO",
                                     round(test_1, 2), f"< {row['test -ELBO']}",
                                     test_1 < row["test -ELBO"], "nats"))  # fmt: skip
    else:
        result.notes.append("quick mode: tiny flows, seconds of training, no VAE: numbers are not "
                            "the record; --mode full trains the VAE beside the flow")  # fmt: skip
    result.tables["digits (17 levels), test 447"] = table


def run(config: Config) -> Result:
    result = Result("flows", "Normalizing flows: two moons, bars vs -H(p_data), digits vs VAE")
    moons(config, result)
    bars(config, result)
    digits(config, result)
    return result
