"""Training an autoregressive model by maximum likelihood (lecture 10 and its benchmark).

The loss is the exact negative log-likelihood, -(1/B) sum_b log p(x_b), with log p(x) from the
chain rule (``MADE.log_prob``, ``PixelCNN.log_prob``). Adam with a cosine-decayed learning rate
over the given epochs; with a validation set, the parameters with the best validation NLL are
kept, and training stops early after ``patience`` epochs without improvement or after
``max_seconds`` of this process's CPU time (``time.process_time``: on a shared machine
the wall clock would count other people's work).
"""

from __future__ import annotations

import copy
import math
import time
from typing import NamedTuple

import torch
from torch import nn

from dgmlab import checks
from dgmlab.train import History, fit


class TrainedModel(NamedTuple):
    """What ``train_autoregressive`` returns.

    Attributes:
        history: ``dgmlab.train.History`` of the run (losses, validation NLL, seconds).
        best_epoch: the epoch (1-based) whose parameters were kept (the last without x_val).
        best_val_nll: the validation NLL in nats of the kept parameters (nan without x_val).
    """

    history: History
    best_epoch: int
    best_val_nll: float


def train_autoregressive(
    model: nn.Module,
    x_train: torch.Tensor,
    *,
    epochs: int,
    x_val: torch.Tensor | None = None,
    batch_size: int = 100,
    lr: float = 1e-3,
    patience: int | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
) -> TrainedModel:
    """Minimize -mean log p(x) over ``x_train``; keep the parameters best on ``x_val``.

        lr_e = lr (1 + cos(pi e / epochs)) / 2 after epoch e

    Args:
        model: a module with ``log_prob(x) -> (B,)`` (``MADE``, ``PixelCNN``).
        x_train: (N, D) training images (categories).
        epochs: the most epochs to run (the cosine schedule's length).
        x_val: (M, D) validation images; when given, the kept parameters are the best on it.
        batch_size: images per step.
        lr: Adam's initial learning rate.
        patience: stop after this many epochs without a better validation NLL.
        max_seconds: stop after the first epoch that ends past this many CPU seconds.
        seed: seeds the shuffling.

    Returns:
        ``TrainedModel``; ``model`` holds the kept parameters.
    """
    checks.positive_int("epochs", epochs)
    checks.tensor("x_train", x_train, ndim=2, floating=False, shape_hint="(N, D)")
    if not hasattr(model, "log_prob"):
        raise TypeError(f"model must have a log_prob(x) method, found {type(model).__name__}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best = {"val": math.inf, "state": None, "epoch": epochs}
    start = time.process_time()

    def evaluate() -> dict[str, float]:
        return {"val_nll": float(-model.log_prob(x_val).mean())}

    def callback(epoch: int, history: History) -> bool:
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        if x_val is not None:
            val = history.metrics["val_nll"][-1]
            if val < best["val"]:
                best.update(val=val, state=copy.deepcopy(model.state_dict()), epoch=epoch)
        late = max_seconds is not None and time.process_time() - start > max_seconds
        stale = patience is not None and x_val is not None and epoch - best["epoch"] >= patience
        return late or stale

    history = fit(
        model,
        lambda xb: -model.log_prob(xb).mean(),
        x_train,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        seed=seed,
        progress=False,
        eval_fn=evaluate if x_val is not None else None,
        callback=callback,
    )
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    else:
        best["epoch"] = len(history.epoch_loss)
    return TrainedModel(history, best["epoch"], best["val"] if x_val is not None else math.nan)
