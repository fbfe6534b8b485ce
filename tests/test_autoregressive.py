"""Autoregressive models (lecture 10): the chain-rule table, MADE and the causal convolution.

Oracles: a brute-force sum over all 2^16 binary 4x4 images (normalization), the bar
generator's exact log p(x) (a table of exact conditionals reproduces it), torch.distributions'
Categorical (the chain-rule log-likelihood), and the autoregressive property itself: flipping
pixel x_d changes no output for pixels at or before d in the ordering, for every d and both
orderings.
"""

from __future__ import annotations

import pytest
import torch
from torch import distributions as td

from dgmlab.chain_rule import (
    column_order,
    conditional_table,
    raster_order,
    sample_categorical,
    table_log_prob,
)
from dgmlab.data import Bars
from dgmlab.models.made import MADE, mask
from dgmlab.models.pixelcnn import PixelCNN
from dgmlab.recipes import all_images

ORDERS = {"raster": raster_order(16), "column": column_order(4)}


def _made(order, K=2, hidden=(24, 24), seed=0):
    torch.manual_seed(seed)
    model = MADE(16, K, hidden, order=order).double()
    for p in model.parameters():  # weights large enough that every allowed path matters
        torch.nn.init.normal_(p, std=0.5)
    return model


def _pixelcnn(order, K=2, seed=0):
    torch.manual_seed(seed)
    model = PixelCNN(4, K, channels=4, num_layers=1, order=order).double()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    return model


def _later_pixels_only(model, order, K):
    """Flip each pixel in turn; return the pixels at or before it whose logits moved."""
    x = torch.randint(0, K, (6, 16), generator=torch.Generator().manual_seed(1))
    position = torch.empty(16, dtype=torch.long)
    position[order] = torch.arange(16)
    leaks = []
    with torch.no_grad():
        base = model(x)  # (B, D, K)
        for d in range(16):
            x2 = x.clone()
            x2[:, d] = (x2[:, d] + 1) % K
            moved = (model(x2) - base).abs().amax(dim=(0, 2)) > 0  # (D,)
            leaks += [(d, i) for i in range(16) if moved[i] and position[i] <= position[d]]
            later = [i for i in range(16) if position[i] > position[d]]
            assert moved[later].any() or position[d] == 15, f"flipping {d} moved nothing later"
    return leaks


@pytest.mark.parametrize("name", ORDERS)
@pytest.mark.parametrize("build", [_made, _pixelcnn], ids=["made", "pixelcnn"])
def test_changing_x_d_never_changes_outputs_at_or_before_d(build, name):
    order = ORDERS[name]
    model = build(order, K=3)
    assert _later_pixels_only(model, order, 3) == []


def test_the_property_check_catches_a_non_strict_output_mask():
    model = _made(raster_order(16))
    model.out.mask.fill_(1.0)  # the output layer sees every hidden unit: pixel d sees itself
    assert _later_pixels_only(model, raster_order(16), 2)


@pytest.mark.parametrize(
    "build, name",
    [(_made, "raster"), (_made, "column"), (_pixelcnn, "column")],
    ids=["made-raster", "made-column", "pixelcnn-column"],
)
def test_probabilities_over_all_2_16_images_sum_to_one(build, name):
    model = build(ORDERS[name])
    x = all_images(16).long()  # (65536, 16)
    with torch.no_grad():
        log_p = torch.cat([model.log_prob(chunk) for chunk in x.split(16384)])
    assert abs(float(log_p.exp().sum()) - 1.0) < 1e-6


def test_log_prob_is_the_sum_of_categorical_conditionals():
    model = _made(column_order(4), K=5)
    x = torch.randint(0, 5, (7, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = td.Categorical(logits=model(x)).log_prob(x).sum(-1)
        torch.testing.assert_close(model.log_prob(x), expected)


def test_mask_is_strict_only_where_asked():
    a, b = torch.tensor([0, 1, 2]), torch.tensor([1, 2])
    assert mask(a, b, strict=False).tolist() == [[1, 1, 0], [1, 1, 1]]
    assert mask(a, b, strict=True).tolist() == [[1, 0, 0], [1, 1, 0]]


def test_table_of_exact_conditionals_reproduces_p_data_on_2x2_bars():
    bars = Bars(size=2)
    x = all_images(4).long()  # the 16 images
    p_data = bars.log_prob(x.double()).exp()
    for order in (raster_order(4), column_order(2), torch.tensor([3, 0, 2, 1])):
        table = conditional_table(x, weights=p_data, order=order)
        assert [t.shape for t in table] == [(1,), (2,), (4,), (8,)]
        torch.testing.assert_close(table_log_prob(x, table, order), bars.log_prob(x.double()))


def test_table_from_samples_is_the_empirical_distribution():
    x, _ = Bars(size=2).sample(500, generator=torch.Generator().manual_seed(0))
    x = x.long()
    table = conditional_table(x)
    images = all_images(4).long()
    counts = (images[:, None, :] == x[None]).all(-1).sum(-1).double()  # (16,)
    torch.testing.assert_close(table_log_prob(images, table).exp(), counts / 500)


def test_sample_categorical_inverts_the_cdf():
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    u = torch.tensor([[0.0], [0.19], [0.21], [0.69], [0.71], [0.99]])
    x = sample_categorical(logits.expand(6, 3), u[:, 0])
    assert x.tolist() == [0, 0, 1, 1, 2, 2]


def test_sampling_follows_the_model_and_takes_D_passes():
    model = _made(column_order(4))
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    hidden_calls = []
    model.out.register_forward_hook(lambda *args: hidden_calls.append(1))
    x = model.sample(4000, generator=torch.Generator().manual_seed(0))
    assert len(hidden_calls) == 16
    # the frequency of the first pixel in the ordering matches its marginal
    with torch.no_grad():
        p0 = torch.softmax(model.out.bias.view(16, 2)[0] + model.direct.bias.view(16, 2)[0], -1)
    assert abs(float((x[:, 0] == 1).double().mean()) - float(p0[1])) < 0.03
    # the same uniforms give the same images in two calls (reproducible draws)
    u = torch.rand(3, 16, generator=torch.Generator().manual_seed(3))
    assert torch.equal(model.sample(3, u=u), model.sample(3, u=u))


def test_pixelcnn_sample_matches_its_conditionals():
    model = _pixelcnn(raster_order(16))
    u = torch.rand(5, 16, generator=torch.Generator().manual_seed(4))
    x = model.sample(5, u=u)
    with torch.no_grad():
        logits = model(x)  # conditionals of the drawn image: each pixel is its inverse CDF
    torch.testing.assert_close(sample_categorical(logits, u), x, rtol=0, atol=0)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: MADE(16, 2, (8,), order=torch.tensor([0, 0] + list(range(2, 16)))),
         ValueError, "order must be a permutation of 0..15"),
        (lambda: MADE(16, 1), ValueError, "num_categories must be >= 2"),
        (lambda: MADE(16, 2, 8), ValueError, "hidden_dims must be a sequence"),
        (lambda: MADE(16, 2)(torch.zeros(3, 15, dtype=torch.long)), ValueError,
         "x must have last dimension 16"),
        (lambda: MADE(4, 2)(torch.full((1, 4), 2)), ValueError,
         r"x must hold whole numbers in \{0, ..., 1\}"),
        (lambda: MADE(4, 2).sample(2, u=torch.zeros(3, 4)), ValueError,
         r"u must have shape \(2, 4\)"),
        (lambda: PixelCNN(4, 2, order=torch.arange(16).flip(0)), ValueError,
         "order must be raster_order or column_order"),
        (lambda: PixelCNN(4, 2)(torch.zeros(2, 9, dtype=torch.long)), ValueError,
         "x must have last dimension 16"),
        (lambda: conditional_table(torch.full((2, 4), 3)), ValueError, "x must hold binary pixels"),
        (lambda: table_log_prob(torch.zeros(2, 3, dtype=torch.long), [torch.ones(1)]), ValueError,
         "table must hold D = 3 tensors"),
        (lambda: sample_categorical(torch.zeros(2, 3), torch.zeros(3)), ValueError,
         r"u must have shape \(2,\)"),
        (lambda: sample_categorical(torch.zeros(2, 3), torch.ones(2) * 1.5), ValueError,
         r"u must have every entry in \[0, 1\]"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
