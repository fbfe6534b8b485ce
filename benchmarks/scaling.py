"""Item 4: how the costs grow. Median seconds over repeats, and the fitted log-log slope.

- exact evidence (``evidence.log_evidence``, quadrature) against the batch size B and the
  grid size G: expected linear in each (a (B, D) x (D, G) product), slope ~ 1 once large;
- the importance-weighted bound (``bounds.iwae_bound``) against the number of samples K:
  linear (K decoder passes);
- a training epoch (``train.fit``) against the data set size N: linear (N / B steps).

A slope well below 1 at the small end means fixed per-call overhead dominates there.
Also, side by side: one training step with 1 and with 2 torch threads (small models do not
gain from a second thread, and on a busy machine OpenMP's waiting can cost far more).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import (
    Config,
    Result,
    Target,
    interleaved,
    median,
    median_seconds,
    synchronize,
)
from dgmlab.bounds import iwae_bound
from dgmlab.data import Bars
from dgmlab.evidence import log_evidence
from dgmlab.models import VAE
from dgmlab.train import fit


def _slope(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) on log(size) over the two largest sizes."""
    x, y = np.log(sizes[-2:]), np.log(seconds[-2:])
    return float((y[1] - y[0]) / (x[1] - x[0]))


def _timed(fn, repeats: int, device: str) -> float:
    def call():
        fn()
        synchronize(device)

    return median(median_seconds(call, repeats))


def run(config: Config) -> Result:
    result = Result("scaling", "Scaling: quadrature, importance-weighted bound, training epoch")
    device = config.device
    repeats = 7 if config.full else 2
    torch.manual_seed(0)
    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(32,)).to(device)
    data = Bars()
    x_all, _ = data.sample(
        64_000 if config.full else 4_000, generator=torch.Generator().manual_seed(0)
    )
    x_all = x_all.to(device)
    series: dict[str, tuple[str, list[int], list[float]]] = {}

    batch_sizes = [10, 100, 1_000, 10_000] if config.full else [10, 100, 1_000]
    with torch.no_grad():
        secs = [
            _timed(lambda b=b: log_evidence(x_all[:b], vae.decoder), repeats, device)
            for b in batch_sizes
        ]
    series["log_evidence vs batch B (G = 2001)"] = ("B", batch_sizes, secs)

    grid_sizes = [101, 401, 1_601, 6_401] if config.full else [101, 401, 1_601]
    with torch.no_grad():
        secs = [
            _timed(
                lambda g=g: log_evidence(x_all[:1_000], vae.decoder, num_points=g), repeats, device
            )
            for g in grid_sizes
        ]
    series["log_evidence vs grid G (B = 1000)"] = ("G", grid_sizes, secs)

    ks = [1, 10, 100, 1_000] if config.full else [1, 10, 100]
    with torch.no_grad():
        secs = [
            _timed(
                lambda k=k: iwae_bound(x_all[:100], vae.encoder, vae.decoder, k), repeats, device
            )
            for k in ks
        ]
    series["iwae_bound vs samples K (B = 100)"] = ("K", ks, secs)

    sizes = [1_000, 4_000, 16_000, 64_000] if config.full else [1_000, 4_000]
    secs = []
    for n in sizes:
        model = VAE(data_dim=16, latent_dim=1, hidden_dims=(32,)).to(device)

        def epoch(n=n, model=model):
            fit(
                model,
                lambda xb: -model.elbo(xb).mean(),
                x_all[:n],
                epochs=1,
                batch_size=100,
                progress=False,
            )

        secs.append(_timed(epoch, max(1, repeats // 2), device))
    series["training epoch vs data size N (B = 100)"] = ("N", sizes, secs)

    for name, (symbol, sizes_, secs_) in series.items():
        slope = _slope(sizes_, secs_)
        for size, s in zip(sizes_, secs_, strict=True):
            result.rows.append({"what": name, "size": f"{symbol}={size}", "ms": round(s * 1e3, 2)})
        result.rows.append(
            {
                "what": name,
                "size": "log-log slope (two largest)",
                "ms": None,
                "slope": round(slope, 2),
            }
        )
        result.targets.append(Target(f"growth of {name}", round(slope, 2), "~1 (linear)", None))
    threads(config, result)
    figure = _plot(series, config)
    result.figures.append(figure)
    return result


def threads(config: Config, result: Result) -> None:
    """One bars-VAE training step (B = 100) with 1 thread and with 2, interleaved."""
    if torch.device(config.device).type != "cpu":
        return
    torch.manual_seed(0)
    model = VAE(data_dim=16, latent_dim=1, hidden_dims=(32,))
    x, _ = Bars().sample(100, generator=torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam(model.parameters())
    steps = 50 if config.full else 10

    def train(n_threads: int):
        def go():
            torch.set_num_threads(n_threads)
            for _ in range(steps):
                loss = -model.elbo(x).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        return go

    times = interleaved({"1": train(1), "2": train(2)}, 7 if config.full else 2)
    torch.set_num_threads(config.threads)
    one, two = median(times["1"]) / steps * 1e3, median(times["2"]) / steps * 1e3
    result.notes.append(
        f"one bars training step: {one:.2f} ms with 1 torch thread, {two:.2f} ms with 2 "
        f"(ratio 2/1 = {two / one:.2f}; worst round with 2 threads: "
        f"{max(times['2']) / steps * 1e3:.1f} ms)"
    )


def _plot(series, config: Config) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, len(series))
    for ax, (name, (symbol, sizes, secs)) in zip(axes, series.items(), strict=True):
        ms = [s * 1e3 for s in secs]
        ax.loglog(sizes, ms, "o-", label="measured")
        # the linear reference through the largest point: time proportional to size
        ref = [ms[-1] * s / sizes[-1] for s in sizes]
        ax.loglog(sizes, ref, "--", color="grey", label="linear (slope 1)")
        ax.set_title(name.replace(" vs ", "\nvs "), fontsize="medium")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(symbol)
        ax.set_ylabel("median ms")
        ax.legend(fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"dgmlab scaling ({config.mode} mode, {config.device}, {config.threads} thread(s))"
    )
    path = config.out / f"{config.mode}_scaling.png"
    fig.savefig(path, dpi=110)
    return str(path.name)
