"""What every benchmark shares: timing side by side, the machine's description, result rows.

Timings on a shared machine are noisy, so the suite never trusts one number:

- ``interleaved`` runs the competitors in turn, repeat after repeat (with the order rotated),
  so a burst of load hits all of them; the ratio is taken within each repeat and the
  median over repeats is reported.
- ``median_seconds`` times one thing several times and reports the median.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from course_tools import ROOT, notebooks  # noqa: F401 - re-exported for the benchmarks
from course_tools import environment as course_environment  # noqa: F401 - the same


@dataclass
class Config:
    """How hard to measure. ``quick`` checks the machinery in seconds; ``full`` is the record."""

    mode: str = "quick"
    device: str = "cpu"
    threads: int = 1
    class_size: int = 30
    out: Path = ROOT / "benchmarks" / "results"

    @property
    def full(self) -> bool:
        return self.mode == "full"


@dataclass
class Target:
    """One promise: ``what`` measured ``value`` against ``target`` (``met`` None: not judged)."""

    what: str
    value: float | None
    target: str
    met: bool | None
    unit: str = ""


# the model families of the course, in the order lecture 14 lists them; "baseline" marks a
# reference row (independent pixels) rather than a family
FAMILIES = (
    "VAE",
    "IWAE",
    "EM mixture",
    "autoregressive",
    "flow",
    "diffusion",
    "GAN",
    "baseline",
)


@dataclass
class Result:
    """What one benchmark found: table rows, headline targets, notes, or why it was skipped."""

    name: str
    title: str
    rows: list[dict] = field(default_factory=list)
    tables: dict[str, list[dict]] = field(default_factory=dict)  # more tables, by heading
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0
    figures: list[str] = field(default_factory=list)
    scale: list[dict] = field(default_factory=list)  # rows of "every model on one scale"

    def on_scale(
        self,
        model: str,
        likelihood: str,
        *,
        family: str,
        bars: float | None = None,
        digits: float | None = None,
        train_s: float | None = None,
        params: int | None = None,
        sample_s: float | None = None,
        samples: dict | None = None,
    ) -> None:
        """Put a model of ``family`` (one of ``FAMILIES``) on the course's one scale: on bars,
        nats per image above the best achievable -H(p_data) (0 is perfect); on digits (17
        levels), nats per image on the fixed 447-image test split. ``likelihood`` says what the
        number is: exact, a bound (>= the true NLL), an estimate, or none (a model that only
        samples).

        ``params`` counts the model's parameters, ``sample_s`` is the seconds it takes to draw 100
        images, and ``samples`` maps a data set name ("bars", "digits") to a (16, D) integer
        tensor of images the model drew (lecture 14 shows them side by side; they are kept in
        the JSON record, not in the Markdown table)."""
        if family not in FAMILIES:
            raise ValueError(f"family: expected one of {FAMILIES}, found {family!r}")
        kept = {}
        for name, images in (samples or {}).items():
            if name not in ("bars", "digits"):
                raise ValueError(f"samples: keys must be 'bars' or 'digits', found {name!r}")
            images = torch.as_tensor(images)
            if images.dim() != 2 or images.shape[0] != 16:
                raise ValueError(
                    f"samples[{name!r}]: expected shape (16, D), found {tuple(images.shape)}"
                )
            kept[name] = images.to("cpu", torch.int64).tolist()
        self.scale.append(
            {
                "model": model,
                "family": family,
                "log-likelihood": likelihood,
                "bars: nats above -H": None if bars is None else round(bars, 4),
                "digits: test nats": None if digits is None else round(digits, 2),
                "train_s": None if train_s is None else round(train_s, 1),
                "params": params,
                "sample_s (100 images)": None if sample_s is None else float(f"{sample_s:.3g}"),
                "benchmark": self.name,
                "samples": kept,
            }
        )

    def to_json(self) -> dict:
        return asdict(self)


def timed_samples(
    draw: Callable[[int], torch.Tensor], repeats: int = 3
) -> tuple[float, torch.Tensor]:
    """Seconds to draw 100 images (the median of ``repeats`` timed draws after one warm-up)
    and 16 of the warm-up's images, as int64: for ``Result.on_scale``'s sample_s and samples.

    ``draw(n)`` -> (n, D) images (0/1 or integer levels)."""
    with torch.no_grad():
        images = draw(100)
        seconds = median(median_seconds(lambda: draw(100), repeats, warmup=0))
    return seconds, images[:16].round().long().cpu()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def interleaved(
    competitors: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds of each competitor per repeat, run in turn (order rotated every repeat).

    Returns:
        name -> [seconds of repeat 0, repeat 1, ...]; entry r of every list comes from the
        same round, so ratios are taken round by round.
    """
    names = list(competitors)
    for _ in range(warmup):
        for name in names:
            competitors[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            competitors[name]()
            times[name].append(time.perf_counter() - start)
    return times


def ratio_median(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator[r] / denominator[r] (two lists from ``interleaved``)."""
    return median([a / b for a, b in zip(numerator, denominator, strict=True)])


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine(config: Config) -> dict:
    """The machine, the software and the commit the numbers come from."""
    cuda = torch.cuda.is_available()
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average_at_start": load,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": config.threads,
        "device": config.device,
        "cuda_available": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "platform": platform.platform(),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
    }
