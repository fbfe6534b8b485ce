"""Item 7: the GPU. Records whether one was there; the other items take ``--device cuda``.

No GPU: the result says so (the code path ``DGMLAB_DEVICE=cuda`` selects is covered by
``tests/test_device.py`` on the CPU). With one: a side-by-side training step on the CPU
and the GPU for the digits VAE, data resident on the device (no per-batch host copy).
"""

from __future__ import annotations

import torch

from benchmarks.common import Config, Result, Target, interleaved, median
from benchmarks.training import loop_hand, workloads


def run(config: Config) -> Result:
    result = Result("gpu", "GPU: availability and a training step, CPU vs GPU")
    if not torch.cuda.is_available():
        result.skipped = (
            "no CUDA device on this machine (none was lent to this session); "
            "rerun with a GPU: python -m benchmarks --mode full --device cuda "
            "--only gpu,training,scaling,compile"
        )
        return result
    steps = 200 if config.full else 20
    rows = {}
    for device in ("cpu", "cuda"):
        cfg = Config(config.mode, device, config.threads, config.class_size, config.out)
        for name, w in workloads(cfg).items():
            rows.setdefault(name, {})[device] = (w["x"], w["model"], w["batch_size"], steps, device)
    for name, args in rows.items():
        times = interleaved({d: (lambda a=a: loop_hand(*a)) for d, a in args.items()}, 5)
        cpu, gpu = median(times["cpu"]) / steps * 1e3, median(times["cuda"]) / steps * 1e3
        result.rows.append(
            {
                "workload": name,
                "cpu_ms_per_step": round(cpu, 3),
                "cuda_ms_per_step": round(gpu, 3),
                "speedup": round(cpu / gpu, 2),
            }
        )
    result.targets.append(Target("a GPU was measured", None, "recorded", True))
    result.notes.append(f"GPU: {torch.cuda.get_device_name(0)}")
    return result
