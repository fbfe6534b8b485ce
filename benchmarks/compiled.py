"""Item 7, the launch-bound part: the training step eager against ``torch.compile``.

The course's models are small (the bar VAE: 16 -> 32 -> 2 and back), so a training step is
mostly launching kernels and running Python, not arithmetic. ``torch.compile`` fuses the
forward and backward into fewer kernels; on a GPU, ``mode="reduce-overhead"`` also replays the
step as a CUDA graph (one launch for the whole graph).

dgmlab checks argument values (sigma > 0, ...) by reading tensors: a graph break under
``torch.compile`` and a host-device synchronisation on a GPU. ``dgmlab.set_validation(False)``
switches those checks off for a loop already debugged, so the variants are: eager with the
checks (the default), eager without, and each compile mode without. Each variant trains its own
copy of the same VAE (same initial weights, same minibatches); the variants run in turn, round
after round (``interleaved``), and a speed-up is the median over rounds of eager / variant.

Compiling is paid once, before the rounds: its seconds are reported beside the per-step times,
with the number of steps after which the compiled step has paid for itself. The final losses
are reported too; they agree in distribution, not bit for bit: compiled code draws its Gaussian
noise from its own generator and sums in another order. Nothing here is judged: it records
whether compiling is worth it on this device.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager

import torch

from benchmarks.common import (
    Config,
    Result,
    Target,
    interleaved,
    median,
    ratio_median,
    synchronize,
)
from benchmarks.training import _fresh, workloads
from dgmlab import checks
from dgmlab.bounds import elbo


def modes(device: str) -> list[str]:
    """The torch.compile modes worth trying on ``device`` (CUDA graphs need a GPU)."""
    return ["default", "reduce-overhead"] if torch.device(device).type == "cuda" else ["default"]


class Trainer:
    """One VAE, its Adam, and a ``steps``-step run over fixed minibatches; eager or compiled
    (``mode``), with dgmlab's value checks on or off (``validate``)."""

    def __init__(self, x, make_model, batch_size, device, mode: str | None, validate: bool):
        self.model = _fresh(make_model, device)  # the training benchmark's initial weights
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        generator = torch.Generator(device=x.device).manual_seed(0)
        order = torch.randperm(x.shape[0], generator=generator, device=x.device)
        self.batches = list(x[order].split(batch_size))[: x.shape[0] // batch_size]  # full only
        self.device = device
        self.validate = validate
        model = self.model

        def loss(xb):
            return -elbo(xb, model.encoder, model.decoder).mean()

        self.loss = loss if mode is None else torch.compile(loss, mode=mode)
        # three warm-up steps for every variant; compiling (forward and backward) happens there
        start = time.perf_counter()
        self.final_loss = self.run(3)
        self.compile_seconds = time.perf_counter() - start if mode is not None else 0.0

    def run(self, steps: int) -> float:
        before = checks.validation_enabled()
        checks.set_validation(self.validate)
        try:
            for i in range(steps):
                xb = self.batches[i % len(self.batches)]
                loss = self.loss(xb)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
            synchronize(self.device)
        finally:
            checks.set_validation(before)
        self.final_loss = float(loss.detach())
        return self.final_loss


@contextmanager
def cold_compile_cache(cold: bool):
    """With ``cold``, torch.compile's on-disk caches start empty (a student's first compile)."""
    if not cold:
        yield
        return
    names = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    saved = {n: os.environ.get(n) for n in names}
    with tempfile.TemporaryDirectory(prefix="dgm-compile-") as tmp:
        for n in names:
            os.environ[n] = os.path.join(tmp, n.lower())
        try:
            yield
        finally:
            for n, value in saved.items():
                if value is None:
                    os.environ.pop(n, None)
                else:
                    os.environ[n] = value


def run(config: Config) -> Result:
    result = Result("compile", "Launch-bound steps: eager vs torch.compile (CUDA graphs on a GPU)")
    steps = 200 if config.full else 5
    repeats = 15 if config.full else 1
    chosen = list(workloads(config).items())[: None if config.full else 1]
    for name, w in chosen:
        args = (w["x"], w["model"], w["batch_size"], config.device)
        trainers = {
            "eager": Trainer(*args, None, True),
            "eager, checks off": Trainer(*args, None, False),
        }
        for mode in modes(config.device):
            torch._dynamo.reset()  # each mode compiles from scratch: its own compile time
            with cold_compile_cache(config.full):
                trainers[f"compile {mode}, checks off"] = Trainer(*args, mode, False)
        times = interleaved({k: (lambda t=t: t.run(steps)) for k, t in trainers.items()}, repeats)
        eager_ms = median(times["eager"]) / steps * 1e3
        for variant, t in trainers.items():
            ms = median(times[variant]) / steps * 1e3
            speedup = ratio_median(times["eager"], times[variant])
            saved_ms = eager_ms - ms
            result.rows.append(
                {
                    "workload": name,
                    "device": config.device,
                    "variant": variant,
                    "ms_per_step": round(ms, 3),
                    "eager/variant": round(speedup, 3),
                    "compile_s": round(t.compile_seconds, 1),
                    "steps_to_pay_back": (
                        "–"
                        if t.compile_seconds == 0.0
                        else round(t.compile_seconds * 1e3 / saved_ms)
                        if saved_ms > 0
                        else "never"
                    ),
                    "final_loss": round(t.final_loss, 4),
                }
            )
            if variant != "eager":
                result.targets.append(
                    Target(
                        f"eager / {variant}, {name}, {config.device}",
                        round(speedup, 3),
                        "reported (> 1: faster than eager)",
                        None,
                    )
                )
    cache = (
        "torch.compile's on-disk caches empty (a first compile)"
        if config.full
        else "whatever torch.compile had cached on disk"
    )
    result.notes.append(
        f"median over {repeats} interleaved rounds of {steps} steps each after 3 warm-up steps "
        f"(compile_s: a compiled variant's warm-up, with {cache}); device {config.device}, "
        f"torch threads {torch.get_num_threads()}, torch {torch.__version__}"
    )
    return result
