"""Item 2: the overhead of ``dgmlab.train.fit`` against loops written by hand.

Three loops train the same VAE from the same initial weights for the same number of steps:

- ``fit``: ``dgmlab.train.fit(model, loss, x, steps=...)``, progress bar off;
- ``hand``: the minimal loop fit replaces: a ``randperm`` per epoch on the data's device,
  slices of it as minibatches, ``zero_grad / backward / step``;
- ``dataloader``: the PyTorch-examples style: ``TensorDataset`` + ``DataLoader(shuffle=True)``
  with the data on the host and ``.to(device)`` per batch.

``fit`` and ``hand`` draw the same permutations from the same seed, so they take exactly the
same steps; the benchmark checks that their final losses agree bit for bit, so the ratio
compares loops, not work. The loops run in turn, round after round (``interleaved``); the
reported ratio is the median over rounds of fit / hand (and fit / dataloader).

Targets: fit within 5% of the hand-written loop (ratio <= 1.05); ahead of the DataLoader loop.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.common import Config, Result, Target, interleaved, ratio_median, synchronize
from dgmlab.bounds import elbo
from dgmlab.data import Bars, digits
from dgmlab.models import VAE
from dgmlab.train import fit

MAX_OVERHEAD = 1.05


def workloads(config: Config) -> dict[str, dict]:
    """name -> data (on the device) and a model factory; the sizes the lectures use."""
    device = torch.device(config.device)
    bars_x, _ = Bars().sample(1000, generator=torch.Generator().manual_seed(0))
    digits_x, _ = digits("train")
    return {
        "bars 4x4, L=1, hidden 32, B=100": {
            "x": bars_x.to(device),
            "model": lambda: VAE(data_dim=16, latent_dim=1, hidden_dims=(32,)),
            "batch_size": 100,
        },
        "digits 8x8 binary, L=8, hidden 256, B=100": {
            "x": digits_x.to(device),
            "model": lambda: VAE(data_dim=64, latent_dim=8, hidden_dims=(256, 256)),
            "batch_size": 100,
        },
    }


def _fresh(make_model, device) -> VAE:
    torch.manual_seed(0)
    return make_model().to(device)


def loop_fit(x, make_model, batch_size, steps, device) -> float:
    model = _fresh(make_model, device)
    torch.manual_seed(1)  # the ELBO's samples
    history = fit(
        model,
        lambda xb: -model.elbo(xb).mean(),
        x,
        steps=steps,
        batch_size=batch_size,
        seed=0,
        progress=False,
    )
    synchronize(device)
    return history.step_loss[-1]


def loop_hand(x, make_model, batch_size, steps, device) -> float:
    model = _fresh(make_model, device)
    torch.manual_seed(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator(device=x.device).manual_seed(0)
    N = x.shape[0]
    per_epoch = math.ceil(N / batch_size)
    step = 0
    while step < steps:
        perm = torch.randperm(N, generator=generator, device=x.device)
        for i in range(min(per_epoch, steps - step)):
            xb = x[perm[i * batch_size : (i + 1) * batch_size]]  # (B, D)
            loss = -elbo(xb, model.encoder, model.decoder).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    synchronize(device)
    return float(loss.detach())


def loop_dataloader(x, make_model, batch_size, steps, device) -> float:
    model = _fresh(make_model, device)
    torch.manual_seed(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(
        TensorDataset(x.cpu()),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    step = 0
    while step < steps:
        for (xb,) in loader:
            xb = xb.to(device)  # a host-to-device copy per batch, as in the examples
            loss = -elbo(xb, model.encoder, model.decoder).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step == steps:
                break
    synchronize(device)
    return float(loss.detach())


def _quartiles(numerator: list[float], denominator: list[float]) -> str:
    """The 25th-75th percentile of the per-round ratios: how far one round's noise reaches."""
    ratios = sorted(a / b for a, b in zip(numerator, denominator, strict=True))
    q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
    return f"{q1:.3f}-{q3:.3f}"


def run(config: Config) -> Result:
    result = Result(
        "training", "Training-loop overhead: fit vs a hand-written and a DataLoader loop"
    )
    steps = 200 if config.full else 20
    repeats = 31 if config.full else 2
    worst = 0.0
    for name, w in workloads(config).items():
        args = (w["x"], w["model"], w["batch_size"], steps, config.device)
        final_fit, final_hand = loop_fit(*args), loop_hand(*args)
        times = interleaved(
            {
                "fit": lambda a=args: loop_fit(*a),
                "hand": lambda a=args: loop_hand(*a),
                "dataloader": lambda a=args: loop_dataloader(*a),
            },
            repeats,
        )
        vs_hand = ratio_median(times["fit"], times["hand"])
        vs_loader = ratio_median(times["fit"], times["dataloader"])
        worst = max(worst, vs_hand)
        per_step = {k: sorted(v)[len(v) // 2] / steps * 1e3 for k, v in times.items()}
        result.rows.append(
            {
                "workload": name,
                "steps": steps,
                "fit_ms_per_step": round(per_step["fit"], 3),
                "hand_ms_per_step": round(per_step["hand"], 3),
                "dataloader_ms_per_step": round(per_step["dataloader"], 3),
                "fit/hand": round(vs_hand, 3),
                "fit/hand IQR": _quartiles(times["fit"], times["hand"]),
                "fit/dataloader": round(vs_loader, 3),
                "same_steps_as_hand": final_fit == final_hand,
            }
        )
        result.targets.append(
            Target(
                f"fit / hand-written, {name}", round(vs_hand, 3), "<= 1.05", vs_hand <= MAX_OVERHEAD
            )
        )
        result.targets.append(
            Target(f"fit / DataLoader loop, {name}", round(vs_loader, 3), "< 1", vs_loader < 1.0)
        )
    result.targets.append(
        Target(
            "fit and the hand loop take identical steps (same final loss)",
            None,
            "equal",
            all(r["same_steps_as_hand"] for r in result.rows),
        )
    )
    result.notes.append(
        f"median over {repeats} interleaved rounds of {steps} steps each; "
        f"device {config.device}, torch threads {torch.get_num_threads()}"
    )
    return result
