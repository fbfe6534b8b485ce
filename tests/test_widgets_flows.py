"""Lecture 11's explorer, headless: the density it draws is normalized and is the closed form
where there is one; the controls move it."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.widgets.flows import explore_monotone_map, map_curves  # noqa: E402


@pytest.mark.parametrize(
    "abcw", [(0.0, 0.6, 1.2, 0.5), (1.0, 1.5, 0.0, 1.0), (-0.5, 0.3, 2.5, 0.2)]
)
def test_density_area_is_one_whatever_the_sliders(abcw):
    # catches a density drawn without its log-det term (areas 0.3 to 2.5 for these settings)
    assert abs(map_curves(*abcw).area - 1.0) < 1e-4


def test_without_a_bump_the_map_is_affine_and_the_density_gaussian():
    curves = map_curves(0.7, 1.5, 0.0, 1.0)
    normal = torch.distributions.Normal(torch.tensor(0.7).double(), torch.tensor(1.5).double())
    expected = normal.log_prob(curves.x).exp()
    torch.testing.assert_close(curves.p_x, expected, atol=1e-9, rtol=1e-6)
    torch.testing.assert_close(
        curves.neg_log_det, torch.full_like(curves.x, -torch.tensor(1.5).log())
    )


def test_explorer_moves_the_density_and_reports_the_area():
    explorer = explore_monotone_map()
    before = explorer.view.image.value
    curves = explorer.set(c=0.0, b=1.0)
    assert explorer.view.image.value != before
    torch.testing.assert_close(
        curves.p_x, torch.distributions.Normal(0.0, 1.0).log_prob(curves.x).exp()
    )
    assert "area under p_x: 1.0000" in explorer.readout.value
