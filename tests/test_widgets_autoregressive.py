"""Lecture 10's sampling explorer, headless (Agg)."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.chain_rule import column_order  # noqa: E402
from dgmlab.models import MADE  # noqa: E402
from dgmlab.widgets.autoregressive import explore_sampling, sampling_state  # noqa: E402


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {"raster": MADE(16, 2, (16,)), "column": MADE(16, 2, (16,), order=column_order(4))}


def test_state_follows_the_ordering_and_the_model(models):
    u = torch.rand(16, generator=torch.Generator().manual_seed(0))
    made = models["column"]
    x = made.sample(1, u=u[None])[0]
    state = sampling_state(made, u, 3)
    drawn = column_order(4)[:3]
    assert state.partial[drawn].tolist() == x[drawn].double().tolist()
    assert int((~state.partial.isnan()).sum()) == 3
    assert state.next_pixel == 12  # column order: 0, 4, 8, then 12
    with torch.no_grad():  # the next pixel's conditional, from the pixels drawn so far only
        partial = torch.zeros(1, 16, dtype=torch.long)
        partial[0, drawn] = x[drawn]
        p_on = torch.softmax(made(partial)[0, 12], -1)[1]
    assert math.isclose(state.p_next_on, float(p_on), rel_tol=1e-6)
    assert math.isclose(state.log_p_x, float(made.log_prob(x[None]).detach()), rel_tol=1e-5)
    assert sampling_state(made, u, 16).next_pixel == -1
    with pytest.raises(ValueError, match="drawn must be <= D = 16"):
        sampling_state(made, u, 17)


def test_explorer_switches_ordering_and_steps(models):
    explorer = explore_sampling(models)
    explorer.set(ordering="column", drawn=2)
    assert explorer.result.next_pixel == 8
    assert "next pixel (row 2, column 0)" in explorer.readout.value
    explorer.set(ordering="raster", drawn=16)
    assert "every pixel drawn" in explorer.readout.value
