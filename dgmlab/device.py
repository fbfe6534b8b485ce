"""Where tensors live, and how randomness is seeded.

This is the only place in the course that chooses a device. Library code never
calls ``.cuda()``: tensors it creates follow their inputs.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

ENV_VAR = "DGMLAB_DEVICE"
_KNOWN = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device() -> torch.device:
    """The device the course runs on: ``$DGMLAB_DEVICE`` if set, else cuda, then mps, then cpu.

    ``DGMLAB_DEVICE`` accepts ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. Asking for a
    device this machine does not have raises ``RuntimeError`` rather than silently
    falling back, so a benchmark that says "cuda" really ran on one.

    Returns:
        torch.device
    """
    requested = os.environ.get(ENV_VAR, "").strip()
    if requested:
        kind = requested.split(":", 1)[0]
        if kind not in _KNOWN:
            raise ValueError(
                f"{ENV_VAR} must be one of cpu, cuda, cuda:N or mps, found {requested!r}"
            )
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise ValueError(
                f"{ENV_VAR} must be one of cpu, cuda, cuda:N or mps, found {requested!r}"
            ) from None
        if kind == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError(f"{ENV_VAR}={requested} but torch finds no CUDA device")
            index = device.index or 0
            if index >= torch.cuda.device_count():
                raise RuntimeError(
                    f"{ENV_VAR}={requested} but torch finds only "
                    f"{torch.cuda.device_count()} CUDA device(s)"
                )
        if kind == "mps" and not _mps_available():
            raise RuntimeError(f"{ENV_VAR}={requested} but torch finds no MPS device")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's random streams (CPU and every GPU).

    Args:
        seed: a non-negative int.

    Returns:
        A ``torch.Generator`` on the CPU seeded with ``seed``, for functions that
        take an explicit ``generator``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, found {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), found {seed}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds legacy global-state users too
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)
