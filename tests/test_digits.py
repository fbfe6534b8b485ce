"""data.digits: the fixed split of sklearn's 8x8 digits, binarized at > 8, or raw 0..16 levels."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dgmlab.data import digits, digits_splits
from dgmlab.data.digits import NUM_LEVELS, NUM_PIXELS, SPLITS, THRESHOLD


@pytest.fixture(scope="module")
def raw():
    bunch = load_digits()
    return torch.tensor(bunch.data, dtype=torch.int64), torch.tensor(bunch.target)


def test_split_sizes():
    sizes = {name: digits(name)[0].shape for name in SPLITS}
    assert sizes == {"train": (1000, 64), "val": (350, 64), "test": (447, 64)}
    assert NUM_PIXELS == 64 and NUM_LEVELS == 17 and THRESHOLD == 8


def test_splits_are_consecutive_blocks_of_the_stored_order(raw):
    levels, labels = raw
    x_train, y_train = digits("train", categorical=True)
    x_val, y_val = digits("val", categorical=True)
    x_test, y_test = digits("test", categorical=True)
    # first 1000, next 350, last 447: disjoint, and together all 1797 images in order
    assert torch.equal(torch.cat([x_train, x_val, x_test]), levels)
    assert torch.equal(torch.cat([y_train, y_val, y_test]), labels)
    assert torch.equal(x_train, levels[:1000]) and torch.equal(x_test, levels[-447:])


def test_splits_are_disjoint_as_index_ranges():
    ranges = [set(range(*SPLITS[name])) for name in ("train", "val", "test")]
    assert not (ranges[0] & ranges[1] or ranges[0] & ranges[2] or ranges[1] & ranges[2])
    assert set().union(*ranges) == set(range(1797))


def test_binarization_threshold_is_greater_than_8(raw):
    levels, _ = raw
    x, y = digits("val")
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert set(x.unique().tolist()) == {0.0, 1.0}
    block = levels[1000:1350]
    assert torch.equal(x, (block > 8).float())
    # the boundary: a level of exactly 8 is off, 9 is on
    assert bool((x[block == 8] == 0).all()) and bool((x[block == 9] == 1).all())
    assert 0.2 < float(x.mean()) < 0.5  # about a third of the pixels are on


def test_categorical_values_and_labels():
    x, y = digits("test", categorical=True)
    assert x.dtype == torch.int64 and x.shape == (447, 64)
    assert int(x.min()) == 0 and int(x.max()) == 16
    assert set(y.unique().tolist()) == set(range(10))


def test_deterministic_and_returns_fresh_copies():
    a, ya = digits("train")
    a[0, 0] = 5.0  # scribbling on one result must not leak into the next
    b, yb = digits("train")
    c, _ = digits("train")
    assert torch.equal(b, c) and torch.equal(ya, yb)
    assert b[0, 0] in (0.0, 1.0)
    assert np.array_equal(digits("train", categorical=True)[0].numpy(), load_digits().data[:1000])


def test_dtype_device_and_all_splits():
    x, _ = digits("train", dtype=torch.float64, device="cpu")
    assert x.dtype == torch.float64 and x.device.type == "cpu"
    splits = digits_splits()
    assert list(splits) == ["train", "val", "test"]
    assert torch.equal(splits["val"][0], digits("val")[0])


def test_errors():
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\]"):
        digits("validation")
    with pytest.raises(TypeError, match="dtype must be a floating-point"):
        digits("train", dtype=torch.int32)
    with pytest.raises(TypeError, match="categorical must be a bool"):
        digits("train", categorical=1)
