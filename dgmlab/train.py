"""``fit``: minibatch stochastic gradient descent on any loss. It knows nothing about models.

    for each epoch:  shuffle the N examples;  for each minibatch b:
        theta <- theta - lr * grad_theta loss_fn(batch_b)      (Adam by default)

The data stay on their device: minibatches are slices of a random index
permutation drawn there, so there is no DataLoader and no host copy per batch.
Step losses are written into a tensor on the device and read back once per
epoch (one synchronisation), which keeps a GPU busy.

To maximize the ELBO, minimize its negative:

    history = fit(vae, lambda x: -elbo(x, vae.encoder, vae.decoder).mean(), x_train, epochs=50,
                  batch_size=100)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from dgmlab import checks


@dataclass
class History:
    """What happened during ``fit``.

    Attributes:
        step_loss: the loss of every optimizer step, in order (length = steps).
        epoch_loss: the mean loss of each epoch (weighted by batch size), one per
            epoch started; an epoch cut short by ``steps`` averages the steps it ran.
        eval_step: the step count after which each evaluation ran.
        metrics: name -> values, one per entry of ``eval_step``.
        seconds: wall-clock time of the whole fit.
    """

    step_loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        """How many optimizer steps ran."""
        return len(self.step_loss)


def _parameters(model_or_params: object) -> list[torch.nn.Parameter]:
    if isinstance(model_or_params, nn.Module):
        params = list(model_or_params.parameters())
    elif isinstance(model_or_params, torch.Tensor):
        params = [model_or_params]
    elif isinstance(model_or_params, Iterable):
        params = list(model_or_params)
    else:
        raise TypeError(
            "model_or_params must be an nn.Module or an iterable of tensors, found "
            f"{type(model_or_params).__name__}"
        )
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"model_or_params[{i}] must be a tensor, found {type(p).__name__}")
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError(
            "model_or_params must hold at least one tensor with requires_grad=True, found none"
        )
    return params


def _as_tuple(data: object) -> tuple[torch.Tensor, ...]:
    tensors = (data,) if isinstance(data, torch.Tensor) else data
    if not isinstance(tensors, (tuple, list)) or len(tensors) == 0:
        raise TypeError(
            f"data must be a tensor (N, ...) or a tuple of tensors sharing N, found "
            f"{type(data).__name__}"
        )
    for i, t in enumerate(tensors):
        checks.tensor(f"data[{i}]", t, min_ndim=1, floating=False, shape_hint="(N, ...)")
    N = tensors[0].shape[0]
    if N == 0:
        raise ValueError("data must hold at least one example, found N = 0")
    for i, t in enumerate(tensors):
        if t.shape[0] != N:
            sizes = [tuple(t.shape) for t in tensors]
            raise ValueError(
                f"data tensors must share their first dimension N, found shapes {sizes} "
                f"(data[{i}] differs)"
            )
    checks.same_device(**{f"data[{i}]": t for i, t in enumerate(tensors)})
    return tuple(tensors)


def _check_loss(loss: object, step: int) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        found = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a scalar tensor (shape ()), found {found} at step {step}; "
            "reduce it, e.g. -elbo(...).mean()"
        )
    if not loss.requires_grad:
        raise ValueError(
            f"loss_fn's result must depend on the parameters (requires_grad), found a tensor "
            f"without a graph at step {step}; did you compute it under torch.no_grad() or "
            "call .item()/.detach()?"
        )
    return loss


def _evaluate(eval_fn: Callable[[], object], models: list[nn.Module]) -> dict[str, float]:
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        with torch.no_grad():
            result = eval_fn()
    finally:
        for m, flag in zip(models, was_training, strict=True):
            m.train(flag)
    if isinstance(result, dict):
        items = result.items()
    elif isinstance(result, (int, float, torch.Tensor)):
        items = [("eval", result)]
    else:
        raise TypeError(
            f"eval_fn must return a number or a dict of numbers, found {type(result).__name__}"
        )
    return {str(k): float(v) for k, v in items}


def fit(
    model_or_params: nn.Module | Iterable[torch.Tensor],
    loss_fn: Callable[..., torch.Tensor],
    data: torch.Tensor | tuple[torch.Tensor, ...],
    *,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int = 100,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    generator: torch.Generator | None = None,
    progress: bool = True,
    eval_fn: Callable[[], float | dict[str, float]] | None = None,
    eval_every: int | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Minimize ``loss_fn`` over shuffled minibatches of ``data``; return the ``History``.

        theta_{t+1} = optimizer_step(theta_t, grad_theta loss_fn(x_{batch_t}))

    Args:
        model_or_params: an ``nn.Module`` or an iterable of tensors to optimize.
        loss_fn: batch -> scalar loss. The batch is a tensor (B, ...) when ``data`` is a
            tensor, or a tuple of tensors when ``data`` is a tuple (e.g. ``(x, y)``).
        data: (N, ...) tensor or tuple of tensors sharing N; moved once to ``device``.
        epochs: passes over the data. Give exactly one of ``epochs`` and ``steps``.
        steps: optimizer steps (epochs repeat as needed).
        batch_size: examples per step, 1 <= batch_size <= N; the last batch of an
            epoch may be smaller.
        lr: learning rate for the default ``torch.optim.Adam`` (default 1e-3).
        optimizer: a ready optimizer over the parameters instead of ``lr``.
        device: where to train; default: where ``data`` already is. An ``nn.Module``
            is moved there; bare parameters must already be there.
        seed: seeds the shuffling (only; seed the loss's own randomness yourself,
            e.g. with a generator or ``dgmlab.seed_everything``).
        generator: a ``torch.Generator`` for the shuffling instead of ``seed``.
        progress: show a tqdm progress bar (nothing is printed when False).
        eval_fn: () -> number or dict of numbers, run under ``torch.no_grad()`` (and
            ``.eval()`` mode for a module) every ``eval_every`` steps and after the last.
        eval_every: steps between evaluations; default: once per epoch.
        callback: (epoch, history) -> stop?; called after each epoch; returning True
            stops training.

    Returns:
        History (per-step and per-epoch losses, metrics, seconds).
    """
    start = time.perf_counter()
    tensors, params, optimizer, generator = _check_fit_arguments(
        model_or_params, loss_fn, data, epochs, steps, batch_size, lr, optimizer, device, seed,
        generator, progress, eval_fn, eval_every, callback,
    )  # fmt: skip
    device, N = tensors[0].device, tensors[0].shape[0]
    batches_per_epoch = math.ceil(N / batch_size)
    total_steps = steps if steps is not None else epochs * batches_per_epoch
    modules = [model_or_params] if isinstance(model_or_params, nn.Module) else []
    history = History()
    single = isinstance(data, torch.Tensor)

    def run_eval(step: int) -> None:
        values = _evaluate(eval_fn, modules)
        history.eval_step.append(step)
        for name, value in values.items():
            history.metrics.setdefault(name, []).append(value)

    step = 0
    epoch = 0
    last_eval = 0
    with tqdm(total=total_steps, disable=not progress, desc="fit", unit="step") as bar:
        while step < total_steps:
            # one pass: a random permutation of the N indices, drawn on the generator's device
            perm = torch.randperm(N, generator=generator, device=generator.device).to(device)
            n_steps = min(batches_per_epoch, total_steps - step)
            losses = None  # (n_steps,) on the device, filled without synchronising
            # examples per step: batch_size, and what is left for a short last batch
            sizes = torch.tensor(
                [min(batch_size, N - i * batch_size) for i in range(n_steps)], dtype=torch.float64
            )
            for i in range(n_steps):
                index = perm[i * batch_size : (i + 1) * batch_size]  # (b,)
                batch = tuple(t[index] for t in tensors)
                loss = _check_loss(loss_fn(batch[0] if single else batch), step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if losses is None:
                    losses = torch.empty(n_steps, dtype=loss.dtype, device=loss.device)
                losses[i] = loss.detach()
                step += 1
                bar.update(1)
                if eval_every is not None and step % eval_every == 0:
                    run_eval(step)
                    last_eval = step
            # one read-back per epoch
            epoch_losses = losses.double().cpu()
            if not bool(torch.isfinite(epoch_losses).all()):
                bad = int((~torch.isfinite(epoch_losses)).nonzero()[0, 0]) + step - n_steps
                raise FloatingPointError(
                    f"the loss became non-finite at step {bad} (epoch {epoch}); "
                    "try a smaller lr or check loss_fn for log(0)"
                )
            history.step_loss.extend(epoch_losses.tolist())
            epoch_loss = float((epoch_losses * sizes).sum() / sizes.sum())
            history.epoch_loss.append(epoch_loss)
            if eval_fn is not None and eval_every is None:
                run_eval(step)
                last_eval = step
            bar.set_postfix(epoch=epoch, loss=f"{epoch_loss:.4g}", refresh=False)
            epoch += 1
            if callback is not None and callback(epoch, history):
                break
    if eval_fn is not None and last_eval != step:
        run_eval(step)
    history.seconds = time.perf_counter() - start
    return history


class _Setup(NamedTuple):
    tensors: tuple[torch.Tensor, ...]
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    generator: torch.Generator


def _check_fit_arguments(
    model_or_params, loss_fn, data, epochs, steps, batch_size, lr, optimizer, device, seed,
    generator, progress, eval_fn, eval_every, callback,
) -> _Setup:  # fmt: skip
    """``fit``'s arguments checked (messages name the argument), the data and a module moved
    to ``device``; returns the data tensors, the parameters, the optimizer and the generator."""
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, found {type(loss_fn).__name__}")
    if (epochs is None) == (steps is None):
        raise ValueError(
            f"give exactly one of epochs and steps, found epochs={epochs!r}, steps={steps!r}"
        )
    if epochs is not None:
        checks.positive_int("epochs", epochs)
    if steps is not None:
        checks.positive_int("steps", steps)
    checks.positive_int("batch_size", batch_size)
    if lr is not None and optimizer is not None:
        raise ValueError("give lr or optimizer, not both (set the lr inside the optimizer)")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or math.isinf(lr)
    ):
        raise ValueError(f"lr must be a positive number, found {lr!r}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, found {type(optimizer).__name__}"
        )
    if eval_every is not None:
        checks.positive_int("eval_every", eval_every)
        if eval_fn is None:
            raise ValueError("eval_every needs an eval_fn to run, found eval_fn=None")
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(f"eval_fn must be callable, found {type(eval_fn).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, found {type(callback).__name__}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, found {type(progress).__name__}")

    tensors = _as_tuple(data)
    if device is not None:
        device = torch.device(device)
        tensors = tuple(t.to(device) for t in tensors)
        if isinstance(model_or_params, nn.Module):
            model_or_params.to(device)
    device = tensors[0].device
    params = _parameters(model_or_params)
    for i, p in enumerate(params):
        if p.device != device:
            raise ValueError(
                f"parameters and data must be on the same device, found parameter {i} on "
                f"{p.device} and data on {device}; move them with .to(dgmlab.get_device())"
            )
    N = tensors[0].shape[0]
    if batch_size > N:
        raise ValueError(
            f"batch_size must be <= the number of examples N = {N}, found {batch_size}"
        )
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=1e-3 if lr is None else float(lr))

    if generator is None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, found {type(seed).__name__}")
        generator = torch.Generator(device=device).manual_seed(seed)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, found {type(generator).__name__}")

    return _Setup(tensors, params, optimizer, generator)
