"""dgmlab.device: the one place a device is chosen, and seed_everything.

This machine has no GPU; monkeypatch stands in for one to cover the cuda and mps branches.
"""

import random

import numpy as np
import pytest
import torch

from dgmlab import device as device_module
from dgmlab.device import ENV_VAR, get_device, seed_everything


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def fake_cuda(monkeypatch):
    """Pretend two CUDA devices exist."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)


# --- automatic choice: cuda, then mps, then cpu -----------------------------------------------


def test_falls_back_to_cpu_without_accelerators(no_env, no_accelerators):
    assert get_device() == torch.device("cpu")


def test_prefers_cuda(no_env, fake_cuda, monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert get_device() == torch.device("cuda")


def test_uses_mps_when_there_is_no_cuda(no_env, no_accelerators, monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert get_device() == torch.device("mps")


def test_this_machine_matches_what_torch_reports(no_env):
    """No patches: whatever this machine has, get_device agrees with torch."""
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and device_module._mps_available():
        expected = "mps"
    assert get_device().type == expected


# --- DGMLAB_DEVICE -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["cpu", " cpu ", "cpu:0"])
def test_env_cpu_wins_even_with_cuda(value, fake_cuda, monkeypatch):
    monkeypatch.setenv(ENV_VAR, value)
    assert get_device().type == "cpu"


@pytest.mark.parametrize(("value", "index"), [("cuda", None), ("cuda:0", 0), ("cuda:1", 1)])
def test_env_cuda_when_available(value, index, fake_cuda, monkeypatch):
    monkeypatch.setenv(ENV_VAR, value)
    found = get_device()
    assert found.type == "cuda" and found.index == index


def test_env_cuda_index_beyond_device_count_raises(fake_cuda, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda:2")
    with pytest.raises(RuntimeError, match=r"DGMLAB_DEVICE=cuda:2 .*only 2 CUDA device"):
        get_device()


@pytest.mark.parametrize("value", ["cuda", "cuda:0"])
def test_env_cuda_without_cuda_raises_instead_of_falling_back(value, no_accelerators, monkeypatch):
    """A benchmark that asked for cuda must not silently run on the cpu."""
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(RuntimeError, match=rf"DGMLAB_DEVICE={value} but torch finds no CUDA"):
        get_device()


def test_env_mps_without_mps_raises(no_accelerators, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "mps")
    with pytest.raises(RuntimeError, match="DGMLAB_DEVICE=mps but torch finds no MPS device"):
        get_device()


def test_env_mps_when_available(no_accelerators, monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    monkeypatch.setenv(ENV_VAR, "mps")
    assert get_device() == torch.device("mps")


@pytest.mark.parametrize("value", ["gpu", "CUDA", "tpu", "meta", "cuda:x", "cuda:-1", "cpu:0:1"])
def test_env_garbage_raises_value_error(value, monkeypatch):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match=rf"DGMLAB_DEVICE must be one of .*found '{value}'"):
        get_device()


def test_empty_env_means_automatic(monkeypatch, no_accelerators):
    monkeypatch.setenv(ENV_VAR, "  ")
    assert get_device() == torch.device("cpu")


# --- seed_everything -----------------------------------------------------------------------


def _draws():
    return (
        random.random(),
        np.random.rand(),  # noqa: NPY002 - the legacy global stream is what we seed
        torch.rand(3),
    )


def test_seed_everything_makes_python_numpy_and_torch_reproducible():
    seed_everything(7)
    first = _draws()
    seed_everything(7)
    again = _draws()
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])
    seed_everything(8)
    other = _draws()
    assert first[0] != other[0] and first[1] != other[1]
    assert not torch.equal(first[2], other[2])


def test_seed_everything_returns_a_seeded_cpu_generator():
    g = seed_everything(5)
    assert isinstance(g, torch.Generator) and g.device.type == "cpu"
    assert g.initial_seed() == 5
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=seed_everything(5)))


@pytest.mark.parametrize("seed", [0, 2**32 - 1])
def test_seed_everything_accepts_the_full_range(seed):
    assert seed_everything(seed).initial_seed() == seed


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
def test_seed_everything_rejects_out_of_range(seed):
    with pytest.raises(ValueError, match=rf"seed must be in \[0, 2\*\*32\), found {seed}"):
        seed_everything(seed)


@pytest.mark.parametrize(
    ("seed", "type_name"), [(1.5, "float"), ("0", "str"), (True, "bool"), (None, "NoneType")]
)
def test_seed_everything_rejects_non_ints(seed, type_name):
    with pytest.raises(TypeError, match=f"seed must be an int, found {type_name}"):
        seed_everything(seed)
