"""Lecture 09's EM explorer, headless (Agg)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.data import Bars  # noqa: E402
from dgmlab.em import fit_em  # noqa: E402
from dgmlab.widgets.maximum_likelihood import EMPlot, explore_em, mean_images  # noqa: E402


@pytest.fixture(scope="module")
def fit_and_images():
    x, _ = Bars().sample(300, generator=torch.Generator().manual_seed(0))
    fit = fit_em(x, 4, iterations=6, generator=torch.Generator().manual_seed(1),
                 keep_snapshots=True)  # fmt: skip
    return fit, x[:5]


def test_update_shows_the_snapshot_of_that_iteration(fit_and_images):
    fit, x_show = fit_and_images
    plot = EMPlot(fit, x_show, neg_entropy=-Bars().entropy())
    out = plot.update(4)
    m = fit.snapshots[4]
    np.testing.assert_allclose(out["responsibilities"], m.posterior(x_show).numpy())
    np.testing.assert_allclose(out["pi"], m.pi.numpy())
    assert out["log_likelihood"] == fit.log_likelihood[4]
    np.testing.assert_allclose(plot.component_images[2].get_array(), m.theta[2].view(4, 4))
    np.testing.assert_allclose(plot.resp_image.get_array(), out["responsibilities"])
    assert list(plot.marker.get_xdata()) == [4]
    assert plot.component_axes[1].get_title() == f"c=1  pi={m.pi[1]:.2f}"
    with pytest.raises(ValueError, match="t must be < 7"):
        plot.update(7)


def test_mean_images_of_levels_are_the_expected_level_scaled():
    from dgmlab.models.mixture import CategoricalMixture

    theta = torch.tensor([[[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]], dtype=torch.float64) + 1e-9
    m = CategoricalMixture(torch.ones(1, dtype=torch.float64), theta / theta.sum(-1, keepdim=True))
    np.testing.assert_allclose(mean_images(m).numpy(), [[0.5, 1.0]], atol=1e-8)


def test_explorer_slider_steps_em(fit_and_images):
    fit, x_show = fit_and_images
    explorer = explore_em(x_show, fit)
    assert explorer.controls["iteration"].max == 6
    explorer.set(iteration=6)
    assert explorer.result["log_likelihood"] == fit.log_likelihood[-1]
    assert "iteration 6" in explorer.readout.value
    with pytest.raises(ValueError, match="keep_snapshots"):
        EMPlot(fit._replace(snapshots=[]), x_show)


def test_explorer_fits_the_shown_images_when_given_no_fit():
    x, _ = Bars().sample(6, generator=torch.Generator().manual_seed(2))
    explorer = explore_em(x, num_components=2)
    assert explorer.controls["iteration"].max == 20
    fit = explorer.plot.fit
    assert fit.mixture.num_components == 2 and len(fit.snapshots) == 21
