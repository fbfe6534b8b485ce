"""Lecture 02's explorer, headless: the curves' areas, the hand-set decoder, update speed."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from dgmlab import evidence  # noqa: E402
from dgmlab.data import Bars  # noqa: E402
from dgmlab.models import bar_decoder  # noqa: E402
from dgmlab.widgets import evidence_curve as ec  # noqa: E402


@pytest.fixture(scope="module")
def images():
    x, _ = Bars().sample(12, generator=torch.Generator().manual_seed(0))
    return x


@pytest.mark.parametrize("probs", [None, (0.2, 0.4, 0.2, 0.2), (0.1, 0.2, 0.3, 0.4)])
def test_bar_decoder_gives_each_bar_its_prior_mass(probs):
    # catches cuts at the wrong quantiles (e.g. cumsum off by one, or Phi instead of Phi^-1)
    mass = ec.prior_mass_per_column(bar_decoder(probs, sharpness=10.0))
    expected = torch.full((4,), 0.25, dtype=torch.float64) if probs is None else torch.tensor(probs)
    torch.testing.assert_close(mass, expected.double(), atol=2e-3, rtol=0)


def test_bar_decoder_samples_are_bars_with_the_given_frequencies():
    # catches a swapped template (rows for columns) and wrong flip logits: 4000 samples,
    # binomial standard error ~0.0077 on a frequency, tolerance 5 of them
    decoder = bar_decoder((0.2, 0.4, 0.2, 0.2), sharpness=30.0, flip_prob=0.05)
    x = ec.sample_images(decoder, 4000, generator=torch.Generator().manual_seed(1))
    freq = ec.column_frequencies(x)
    torch.testing.assert_close(freq, torch.tensor([0.2, 0.4, 0.2, 0.2]).double(), atol=0.04, rtol=0)
    templates = Bars().templates()[ec.nearest_column(x)]
    flip_rate = (x != templates).float().mean().item()
    # 0.05 plus a little blur near the cuts (about 0.005 at sharpness 30); a decoder that
    # ignored flip_prob (logits +-1, say) would flip 27% of the pixels
    assert abs(flip_rate - 0.05) < 0.01


def test_bar_decoder_with_sharp_cuts_reaches_the_data_entropy():
    # the uniform decoder is (nearly) p_data itself, so its mean log p(x) is close to -H
    bars = Bars()
    x, _ = bars.sample(3000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        model = evidence.log_evidence(x, bar_decoder(sharpness=40.0)).mean()
    assert abs(model.item() - bars.log_prob(x).mean().item()) < 0.03


@pytest.mark.parametrize("sharpness", [1.0, 5.0, 10.0])
def test_curves_areas_and_the_widget_grid_accuracy(images, sharpness):
    # catches a posterior not divided by p(x), a prior without its 1/sqrt(2 pi), and a widget
    # grid too coarse for the lecture's decoders (the docstring promises 2e-3 nats)
    decoder = bar_decoder(sharpness=sharpness)
    exact = evidence.log_evidence(images, decoder)
    for b in range(images.shape[0]):
        curves = ec.evidence_curves(images[b], decoder)
        assert abs(curves.prior_area - 1) < 1e-6
        assert abs(curves.posterior_area - 1) < 1e-5
        assert abs(curves.log_evidence - exact[b].item()) < 2e-3
        joint = curves.prior * curves.likelihood
        torch.testing.assert_close(joint, curves.joint, atol=1e-7, rtol=1e-4)


def test_warp_evaluates_the_decoder_at_scale_z_plus_shift(images):
    # catches shift and scale applied in the other order, (z + shift) * scale
    decoder = bar_decoder()
    grid = evidence.simpson_grid(num_points=201)
    curves = ec.evidence_curves(images[0], decoder, scale=2.0, shift=0.5, grid=grid)
    with torch.no_grad():
        lik = evidence.log_joint_on_grid(
            images[:1], lambda z: decoder(2.0 * z + 0.5), grid
        ) - evidence.log_standard_normal(grid.z)
    torch.testing.assert_close(curves.likelihood, lik[0].exp(), atol=1e-7, rtol=1e-4)


def test_figure_updates_in_place(images):
    decoder = bar_decoder()
    plot = ec.EvidencePlot(ec.evidence_curves(images[0], decoder), image=images[0])
    for i in range(15):
        curves = ec.evidence_curves(images[i % 12], decoder, 1.0 + 0.1 * i, -0.5 + 0.07 * i)
        plot.update(curves, image=images[i % 12])
    assert f"{curves.log_evidence:.3f}" in plot.texts["joint"].get_text()
    assert plot.lines["joint"].get_ydata()[100] == pytest.approx(float(curves.joint[100]))
    assert (plot.image.get_array() == images[14 % 12].view(4, 4).numpy()).all()
    # speed is measured, not asserted: benchmarks/widgets.py times every explorer
    plot.fig.canvas.draw()
    plt.close(plot.fig)


def test_draw_evidence_curves_returns_the_figure(images):
    # lecture 02 shows the four panels of one image with it
    curves = ec.evidence_curves(images[0], bar_decoder())
    fig = ec.draw_evidence_curves(curves, image=images[0])
    assert len(fig.axes) == 5 and fig.axes[3].get_lines()[0].get_ydata()[100] == pytest.approx(
        float(curves.joint[100])
    )
    plt.close(fig)


def test_explorer_follows_its_controls_headless(images):
    decoder = bar_decoder()
    explorer = ec.explore_evidence_curves(images[:3], decoder)
    curves = explorer.set(image=2, scale=1.5, shift=0.3)  # one update for the three
    expected = ec.evidence_curves(images[2], decoder, 1.5, 0.3)
    assert curves.log_evidence == pytest.approx(expected.log_evidence)
    torch.testing.assert_close(
        torch.as_tensor(explorer.plot.lines["posterior"].get_ydata()), expected.posterior
    )
    plt.close("all")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="column_probs must be 4 positive numbers summing to 1"):
        bar_decoder((0.5, 0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="flip_prob must be in"):
        bar_decoder(flip_prob=0.7)
    with pytest.raises(ValueError, match="sharpness must be a positive number"):
        bar_decoder(sharpness=0.0)
    with pytest.raises(ValueError, match="scale must be finite and non-zero"):
        ec.evidence_curves(torch.zeros(16), bar_decoder(), scale=0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        ec.evidence_curves(torch.zeros(2, 16), bar_decoder())
    plt.close("all")
