"""Argument validation for dgmlab's public functions.

Every message names the argument, says what was expected and what was found, so
that a learner reading a traceback knows what to change:

    ValueError: sigma must be positive, found min -0.31; did you pass log_sigma?

Type problems (not a tensor, integer dtype) raise ``TypeError``; problems with
shapes, values or devices raise ``ValueError``.

Value checks (positivity, ranges) read tensor contents, which costs a device
synchronisation on a GPU. They are on by default; a training loop that has
already been debugged can switch them off with ``set_validation(False)``, like
``torch.distributions.Distribution.set_default_validate_args``. Shape, dtype and
device checks are always on: they cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

_VALIDATE_VALUES = True


def set_validation(enabled: bool) -> None:
    """Turn value checks (positivity, ranges, finiteness) on or off globally."""
    global _VALIDATE_VALUES
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, found {type(enabled).__name__}")
    _VALIDATE_VALUES = enabled


def validation_enabled() -> bool:
    """Whether value checks are on (see ``set_validation``)."""
    return _VALIDATE_VALUES


def _shape_str(shape: Sequence[int | str | None]) -> str:
    parts = ["*" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")


def tensor(
    name: str,
    value: object,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    last_dim: int | None = None,
    floating: bool = True,
    shape_hint: str | None = None,
) -> torch.Tensor:
    """Check that ``value`` is a tensor with the expected rank, last dimension and dtype.

    Args:
        name: the argument's name, as the caller spells it.
        value: what was passed.
        ndim: the allowed number of dimensions (one int or several).
        min_ndim: the smallest allowed number of dimensions.
        last_dim: the required size of the last dimension.
        floating: require a floating-point dtype.
        shape_hint: how to describe the expected shape, e.g. ``"(B, D)"``.

    Returns:
        ``value``, unchanged, so calls can be chained.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, found {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, found dtype {value.dtype}; "
            f"convert it with {name}.float()"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.dim() not in allowed:
            expected = shape_hint or " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"{name} must have shape {expected}, found shape {tuple(value.shape)} "
                f"({value.dim()}-D)"
            )
    if min_ndim is not None and value.dim() < min_ndim:
        expected = shape_hint or f"at least {min_ndim}-D"
        raise ValueError(
            f"{name} must have shape {expected}, found shape {tuple(value.shape)} ({value.dim()}-D)"
        )
    if last_dim is not None:
        if value.dim() == 0 or value.shape[-1] != last_dim:
            expected = shape_hint or _shape_str([None, last_dim])
            raise ValueError(
                f"{name} must have last dimension {last_dim} (shape {expected}), "
                f"found shape {tuple(value.shape)}"
            )
    return value


def positive(name: str, value: torch.Tensor, hint: str | None = None) -> torch.Tensor:
    """Check that every entry of ``value`` is > 0 (and not NaN)."""
    if _VALIDATE_VALUES and value.numel() > 0:
        bad = ~(value > 0)
        if bool(bad.any()):
            found = value.detach().min().item() if not value.isnan().any() else float("nan")
            message = f"{name} must be positive, found min {found:.4g}"
            if hint:
                message += f"; {hint}"
            raise ValueError(message)
    return value


def in_unit_interval(name: str, value: torch.Tensor, hint: str | None = None) -> torch.Tensor:
    """Check that every entry of ``value`` lies in [0, 1]."""
    if _VALIDATE_VALUES and value.numel() > 0:
        bad = ~((value >= 0) & (value <= 1))
        if bool(bad.any()):
            v = value.detach()
            nan_count = int(v.isnan().sum()) if v.is_floating_point() else 0
            # min/max would both print nan if a single entry is NaN
            found = (
                f"{nan_count} NaN entries"
                if nan_count
                else f"values in [{v.min().item():.4g}, {v.max().item():.4g}]"
            )
            message = f"{name} must have every entry in [0, 1], found {found}"
            if hint:
                message += f"; {hint}"
            raise ValueError(message)
    return value


def not_nan(name: str, value: torch.Tensor) -> torch.Tensor:
    """Check that ``value`` holds no NaN."""
    if _VALIDATE_VALUES and value.is_floating_point() and bool(value.isnan().any()):
        count = int(value.isnan().sum())
        raise ValueError(f"{name} must not contain NaN, found {count} NaN entries")
    return value


def same_device(**tensors: torch.Tensor) -> torch.device:
    """Check that all the named tensors live on one device; return it."""
    devices = {name: t.device for name, t in tensors.items()}
    unique = set(devices.values())
    if len(unique) > 1:
        found = ", ".join(f"{name} on {dev}" for name, dev in devices.items())
        raise ValueError(
            f"{', '.join(devices)} must be on the same device, found {found}; "
            "move them with .to(dgmlab.get_device())"
        )
    return next(iter(unique))


def broadcastable(**tensors: torch.Tensor) -> torch.Size:
    """Check that the named tensors broadcast together; return the broadcast shape."""
    try:
        return torch.broadcast_shapes(*(t.shape for t in tensors.values()))
    except RuntimeError:
        found = ", ".join(f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(
            f"{', '.join(tensors)} must have broadcastable shapes, found {found}"
        ) from None


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """Check that ``value`` is an int >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, found {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, found {value}")
    return value


def probability(name: str, value: object, *, open_upper: bool = False) -> float:
    """Check that ``value`` is a number in [0, 1] (or [0, 1) with ``open_upper``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, found {type(value).__name__}")
    value = float(value)
    upper_ok = value < 1 if open_upper else value <= 1
    if not (value >= 0 and upper_ok):
        interval = "[0, 1)" if open_upper else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, found {value}")
    return value
