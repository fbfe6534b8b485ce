"""Checks for the exercises' tests: verdicts that tell a student what is wrong.

A failed check raises ``AssertionError`` with a message in plain words: what
was checked, what was expected, what was found, and, when the answer matches
a known mistake, which one ("you returned probabilities; return logits").

Hidden tests draw their inputs from ``grading_generator()``: a fresh random
stream on every run, or one fixed by the per-assignment seed in
``DGMLAB_GRADING_SEED`` (the grading command derives it from the term's secret), so
hard-coding the visible tests' answers fails.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

SEED_VARIABLE = "DGMLAB_GRADING_SEED"  # the per-assignment seed kernels see; the one definition


def grading_generator(stream: int = 0) -> torch.Generator:
    """A CPU generator for hidden-test inputs.

    Seeded from ``$DGMLAB_GRADING_SEED`` (plus ``stream``, so each test can draw
    its own inputs) when the instructor sets it, otherwise from the operating
    system's entropy, so every grading run uses inputs nobody has seen.
    """
    secret = os.environ.get(SEED_VARIABLE)
    if secret is None or secret == "":
        seed = int.from_bytes(os.urandom(8), "little")
    else:
        try:
            seed = int(secret)
        except ValueError:
            raise ValueError(f"{SEED_VARIABLE} must be an integer, found {secret!r}") from None
        seed = (seed * 1_000_003 + stream) % (2**63)
    return torch.Generator().manual_seed(seed)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    if a.shape != b.shape:
        return False
    a64, b64 = a.detach().to("cpu", torch.float64), b.detach().to("cpu", torch.float64)
    return bool(torch.allclose(a64, b64, atol=atol, rtol=rtol, equal_nan=False))


def assert_close(
    found: object,
    expected: torch.Tensor,
    *,
    name: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    mistakes: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Assert that ``found`` is a tensor with ``expected``'s shape and values.

    Args:
        found: the student's result.
        expected: the reference result.
        name: how to call the result in the message, e.g. ``"decoder_forward(z, ...)"``.
        atol, rtol: tolerances, as in ``torch.allclose``; NaN never passes.
        mistakes: hint -> what that mistake would produce; when ``found`` matches
            one, the message names it.
    """
    if not isinstance(found, torch.Tensor):
        raise AssertionError(
            f"{name} should return a torch.Tensor, but returned {_describe(found)}"
        )
    if not found.is_floating_point():
        raise AssertionError(
            f"{name} should return a floating-point tensor, but returned dtype {found.dtype}"
        )
    if found.shape != expected.shape:
        message = f"{name} should have shape {tuple(expected.shape)}, but has {tuple(found.shape)}"
        for hint, wrong in (mistakes or {}).items():
            if isinstance(wrong, torch.Tensor) and wrong.shape == found.shape:
                if _close(found, wrong, atol, rtol):
                    message += f". It looks like {hint}"
                    break
        raise AssertionError(message)
    bad = ~torch.isfinite(found.detach())
    if bool(bad.any()) and not bool((~torch.isfinite(expected))[bad].all()):
        raise AssertionError(
            f"{name} contains {int(bad.sum())} NaN or infinite entries where finite values "
            "were expected; look for log(0), exp of a large number, or 0/0"
        )
    if _close(found, expected, atol, rtol):
        return
    for hint, wrong in (mistakes or {}).items():
        if _close(found, wrong, atol, rtol):
            raise AssertionError(f"{name} is not right: it looks like {hint}")
    diff = found.detach().to("cpu", torch.float64) - expected.detach().to("cpu", torch.float64)
    diff = diff.abs().nan_to_num(nan=float("inf"))
    worst = int(diff.argmax()) if diff.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), diff.shape))
    raise AssertionError(
        f"{name} is not right: at index {index} it is {found.flatten()[worst].item():.6g} "
        f"but should be {expected.flatten()[worst].item():.6g} "
        f"(largest difference {diff.max().item():.3g}, tolerance {atol} + {rtol} * |expected|)"
    )


def assert_equal_int(found: object, expected: int, *, name: str, mistakes=None) -> None:
    """Assert that ``found`` is the int ``expected`` (a Python int or an integer tensor of one)."""
    if isinstance(found, torch.Tensor) and found.numel() == 1 and not found.is_floating_point():
        found = int(found.item())
    if isinstance(found, bool) or not isinstance(found, int):
        raise AssertionError(f"{name} should return an int, but returned {_describe(found)}")
    found = int.__int__(found)  # a plain int: an int subclass may override == to always say yes
    if found == expected:
        return
    for hint, wrong in (mistakes or {}).items():
        if found == wrong:
            raise AssertionError(f"{name} returned {found}, not {expected}: it looks like {hint}")
    raise AssertionError(f"{name} returned {found}, but the right answer is {expected}")
