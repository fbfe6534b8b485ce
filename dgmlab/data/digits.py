"""Handwritten digits: scikit-learn's 8x8 images, binarized, with a fixed split.

The 1797 images ship inside scikit-learn (``sklearn.datasets.load_digits``), so
they load offline. Each pixel is an integer grey level 0..16. For Bernoulli
models we binarize at a fixed threshold,

    x_d = 1  if pixel_d > 8   (the upper half of 0..16),   else 0,

and for 17-way categorical models ``categorical=True`` keeps the raw levels.

The split is fixed, in the data's stored order (no shuffling), as in the
best-known textbook code for this data set:

    train: images    0 ..  999   (1000)
    val:   images 1000 .. 1349   (350)
    test:  images 1350 .. 1796   (447)

Images are flattened row by row: ``x.view(N, 8, 8)`` is the picture.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

THRESHOLD = 8
"""A pixel is on (1) when its grey level, an integer in 0..16, is > THRESHOLD."""

NUM_LEVELS = 17
"""Grey levels 0..16: the number of categories with ``categorical=True``."""

IMAGE_SIZE = 8
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE

SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 1000),
    "val": (1000, 1350),
    "test": (1350, 1797),
}
"""Split name -> [start, stop) in the order scikit-learn stores the images."""


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "dgmlab.data.digits needs scikit-learn; install it with "
            "pip install scikit-learn (or pip install 'dgmlab[course]')"
        ) from None
    bunch = load_digits()
    images = np.asarray(bunch.data, dtype=np.int64)  # (1797, 64) levels 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)  # (1797,)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits(
    split: str = "train",
    *,
    categorical: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 8x8 digits of one split: binarized pixels (or raw levels) and labels.

        x_d = 1[pixel_d > THRESHOLD],  THRESHOLD = 8     (categorical=False)
        x_d = pixel_d in {0, ..., 16}                    (categorical=True)

    Args:
        split: "train" (1000 images), "val" (350) or "test" (447); a fixed split.
        categorical: return the raw grey levels 0..16 as int64, for 17-way models.
        dtype: floating dtype of binarized images (ignored when categorical).
        device: where the tensors live (default CPU).

    Returns:
        x: (N, 64) binarized images in ``dtype`` with entries 0.0 or 1.0, or int64
            levels 0..16 when ``categorical``.
        y: (N,) int64 digit labels 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, found {split!r}")
    if not isinstance(categorical, bool):
        raise TypeError(f"categorical must be a bool, found {type(categorical).__name__}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, found {dtype!r}")
    images, labels = _load()
    start, stop = SPLITS[split]
    levels = torch.tensor(images[start:stop])  # (N, 64) int64, a copy
    y = torch.tensor(labels[start:stop], device=device)  # (N,)
    if categorical:
        return levels.to(device), y
    x = (levels > THRESHOLD).to(dtype=dtype, device=device)  # (N, 64)
    return x, y


def digits_splits(
    *,
    categorical: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """All three splits at once: {"train": (x, y), "val": (x, y), "test": (x, y)}.

    Args and Returns: as for ``digits``, one entry per split.
    """
    return {
        name: digits(name, categorical=categorical, dtype=dtype, device=device) for name in SPLITS
    }
