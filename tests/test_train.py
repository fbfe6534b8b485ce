"""train.fit: converges on least squares, deterministic under a seed, validates its inputs."""

import pytest
import torch
from torch import nn

from dgmlab.train import History, fit


def _regression(n: int = 256, dtype=torch.float32):
    """y = X w* + b* + small noise: least squares has a known answer."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g, dtype=dtype)
    w_true = torch.tensor([[1.5], [-2.0], [0.5]], dtype=dtype)
    y = X @ w_true + 0.3 + 0.01 * torch.randn(n, 1, generator=g, dtype=dtype)
    return X, y, w_true


def _mse(model):
    return lambda batch: ((model(batch[0]) - batch[1]) ** 2).mean()


def test_linear_regression_converges_to_least_squares():
    X, y, w_true = _regression()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    history = fit(model, _mse(model), (X, y), epochs=60, batch_size=32, lr=0.05, progress=False)
    torch.testing.assert_close(model.weight.detach(), w_true.T, atol=0.02, rtol=0)
    torch.testing.assert_close(model.bias.detach(), torch.tensor([0.3]), atol=0.02, rtol=0)
    assert history.epoch_loss[-1] < 1e-3 < history.epoch_loss[0]


def test_quadratic_on_bare_parameters_with_steps_and_a_given_optimizer():
    # minimize mean_n (theta - c_n)^2 with plain SGD: theta -> mean(c) = 2.0
    c = torch.linspace(1.0, 3.0, 101)[:, None]  # (N, 1)
    theta = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.1)
    history = fit([theta], lambda batch: ((theta - batch) ** 2).mean(), c, steps=200,
                  batch_size=101, optimizer=opt, progress=False)  # fmt: skip
    assert abs(float(theta.detach()) - 2.0) < 1e-4
    assert history.steps == 200 and len(history.epoch_loss) == 200


def test_history_shapes_and_weighted_epoch_mean():
    X, y, _ = _regression(n=100)
    model = nn.Linear(3, 1)
    history = fit(model, _mse(model), (X, y), epochs=3, batch_size=30, progress=False)
    assert isinstance(history, History)
    assert history.steps == 12  # ceil(100 / 30) = 4 batches per epoch: 30, 30, 30, 10
    assert len(history.epoch_loss) == 3 and history.seconds > 0
    # the epoch loss is the per-example mean, weighting the short last batch by its size
    first = torch.tensor(history.step_loss[:4], dtype=torch.float64)
    weights = torch.tensor([30, 30, 30, 10], dtype=torch.float64)
    assert history.epoch_loss[0] == pytest.approx(float((first * weights).sum() / 100))


def test_steps_can_stop_inside_an_epoch():
    X, y, _ = _regression(n=100)
    model = nn.Linear(3, 1)
    history = fit(model, _mse(model), (X, y), steps=6, batch_size=30, progress=False)
    assert history.steps == 6 and len(history.epoch_loss) == 2


def test_every_example_is_seen_once_per_epoch():
    data = torch.arange(10.0)[:, None]  # (N, 1)
    seen = []
    w = torch.zeros(1, requires_grad=True)

    def loss_fn(batch):
        seen.append(batch[:, 0].clone())
        return (w * batch).sum()

    fit([w], loss_fn, data, epochs=2, batch_size=4, progress=False)
    first, second = torch.cat(seen[:3]), torch.cat(seen[3:])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert not torch.equal(first, second)  # reshuffled


def test_deterministic_under_seed_and_different_across_seeds():
    X, y, _ = _regression()

    def run(seed):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        h = fit(model, _mse(model), (X, y), epochs=2, batch_size=16, seed=seed, progress=False)
        return h.step_loss, model.weight.detach().clone()

    loss_a, w_a = run(1)
    loss_b, w_b = run(1)
    loss_c, _ = run(2)
    assert loss_a == loss_b and torch.equal(w_a, w_b)
    assert loss_a != loss_c


def test_a_generator_replaces_the_seed():
    X, y, _ = _regression()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        g = torch.Generator().manual_seed(5)
        runs.append(fit(model, _mse(model), (X, y), epochs=1, batch_size=16, generator=g,
                        progress=False).step_loss)  # fmt: skip
    assert runs[0] == runs[1]


def test_works_in_float64():
    X, y, w_true = _regression(dtype=torch.float64)
    model = nn.Linear(3, 1).double()
    history = fit(model, _mse(model), (X, y), epochs=60, batch_size=32, lr=0.05, progress=False)
    assert model.weight.dtype == torch.float64
    torch.testing.assert_close(model.weight.detach(), w_true.T, atol=0.02, rtol=0)
    assert all(isinstance(v, float) for v in history.step_loss)


def test_progress_false_prints_nothing_and_true_shows_a_bar(capfd):
    X, y, _ = _regression(n=64)
    model = nn.Linear(3, 1)
    fit(model, _mse(model), (X, y), epochs=2, batch_size=32, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    fit(model, _mse(model), (X, y), epochs=2, batch_size=32, progress=True)
    out, err = capfd.readouterr()
    assert "fit" in err and "4/4" in err


def test_eval_fn_runs_every_n_steps_and_after_the_last_without_grad():
    X, y, _ = _regression(n=100)
    model = nn.Linear(3, 1)
    grad_enabled = []

    def evaluate():
        grad_enabled.append(torch.is_grad_enabled() or model.training)
        return {"mse": ((model(X) - y) ** 2).mean(), "one": 1.0}

    history = fit(model, _mse(model), (X, y), steps=10, batch_size=25, eval_fn=evaluate,
                  eval_every=4, progress=False)  # fmt: skip
    assert history.eval_step == [4, 8, 10]
    assert len(history.metrics["mse"]) == 3 and history.metrics["one"] == [1.0, 1.0, 1.0]
    assert not any(grad_enabled) and model.training


def test_eval_fn_defaults_to_once_per_epoch_and_callback_can_stop():
    X, y, _ = _regression(n=100)
    model = nn.Linear(3, 1)
    epochs_seen = []

    def callback(epoch, history):
        epochs_seen.append(epoch)
        return epoch == 3

    history = fit(model, _mse(model), (X, y), epochs=10, batch_size=50, progress=False,
                  eval_fn=lambda: 0.5, callback=callback)  # fmt: skip
    assert epochs_seen == [1, 2, 3]
    assert history.eval_step == [2, 4, 6] and history.metrics == {"eval": [0.5, 0.5, 0.5]}


def test_non_finite_loss_raises_with_the_step():
    w = torch.ones(1, requires_grad=True)
    data = torch.arange(8.0)[:, None]

    def loss_fn(batch):
        return (w * batch).sum() * (torch.inf if bool((batch == 5).any()) else 1.0)

    with pytest.raises(FloatingPointError, match="non-finite at step"):
        fit([w], loss_fn, data, epochs=1, batch_size=2, progress=False, optimizer=None, lr=1e-6)


def test_device_argument_moves_data_and_module():
    X, y, _ = _regression(n=64)
    model = nn.Linear(3, 1)
    fit(model, _mse(model), (X, y), epochs=1, batch_size=32, device="cpu", progress=False)
    assert model.weight.device.type == "cpu"


def test_input_errors():
    X, y, _ = _regression(n=50)
    model = nn.Linear(3, 1)
    loss = _mse(model)
    common = dict(batch_size=10, progress=False)
    with pytest.raises(ValueError, match="exactly one of epochs and steps"):
        fit(model, loss, (X, y), **common)
    with pytest.raises(ValueError, match="exactly one of epochs and steps"):
        fit(model, loss, (X, y), epochs=1, steps=3, **common)
    with pytest.raises(ValueError, match="epochs must be >= 1, found 0"):
        fit(model, loss, (X, y), epochs=0, **common)
    with pytest.raises(ValueError, match="batch_size must be <= the number of examples N = 50"):
        fit(model, loss, (X, y), epochs=1, batch_size=51, progress=False)
    with pytest.raises(ValueError, match="share their first dimension N"):
        fit(model, loss, (X, y[:40]), epochs=1, **common)
    with pytest.raises(TypeError, match="data must be a tensor"):
        fit(model, loss, {"x": X}, epochs=1, **common)
    with pytest.raises(ValueError, match="lr must be a positive number, found -0.1"):
        fit(model, loss, (X, y), epochs=1, lr=-0.1, **common)
    with pytest.raises(ValueError, match="give lr or optimizer, not both"):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        fit(model, loss, (X, y), epochs=1, lr=0.1, optimizer=opt, **common)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        fit(model, "mse", (X, y), epochs=1, **common)
    with pytest.raises(ValueError, match=r"loss_fn must return a scalar tensor.*reduce it"):
        fit(model, lambda b: model(b[0]) - b[1], (X, y), epochs=1, **common)
    with pytest.raises(ValueError, match="requires_grad.*torch.no_grad"):
        fit(model, lambda b: loss(b).detach(), (X, y), epochs=1, **common)
    with pytest.raises(ValueError, match="at least one tensor with requires_grad=True"):
        fit([torch.zeros(1)], loss, (X, y), epochs=1, **common)
    with pytest.raises(TypeError, match="model_or_params must be an nn.Module"):
        fit(3, loss, (X, y), epochs=1, **common)
    with pytest.raises(ValueError, match="eval_every needs an eval_fn"):
        fit(model, loss, (X, y), epochs=1, eval_every=2, **common)
    with pytest.raises(TypeError, match="eval_fn must return a number or a dict"):
        fit(model, loss, (X, y), epochs=1, eval_fn=lambda: "good", **common)
