"""Lecture 04's explorer, headless: the hand-set bar decoder, the best Gaussian, the view."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.data import Bars  # noqa: E402
from dgmlab.evidence import exact_elbo, log_evidence  # noqa: E402
from dgmlab.models import bar_decoder  # noqa: E402
from dgmlab.widgets.elbo import ElboView, best_gaussian, explore_elbo  # noqa: E402

DTYPE = torch.float64


def lecture_decoder():
    """Lecture 04's decoder: the library's hand-set bar decoder, sharpness 6, in float64."""
    return bar_decoder(sharpness=6.0).double()


def test_bar_decoder_draws_each_column_on_a_quarter_of_the_prior():
    dec = lecture_decoder()
    # the middle of each equal-mass interval of N(0, 1): quantiles 1/8, 3/8, 5/8, 7/8
    z = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([1, 3, 5, 7]) / 8.0)
    with torch.no_grad():
        probs = torch.sigmoid(dec(z[:, None].to(DTYPE)))  # (4, 16)
    templates = Bars().templates(DTYPE)
    # right pixels with probability about 1 - flip_prob = 0.95 (a shifted column fails)
    np.testing.assert_allclose(torch.where(templates > 0, probs, 1 - probs), 0.95, atol=0.015)


def test_bar_decoder_is_close_to_the_data_generator():
    bars = Bars()
    x, _ = bars.sample(2000, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
    with torch.no_grad():
        mean_log_p_x = log_evidence(x, lecture_decoder()).mean().item()
    # measured -4.68 against -H = -4.56; a decoder with the wrong column order scores ~ -12
    assert -bars.entropy() - 0.2 < mean_log_p_x <= -bars.entropy() + 0.05


def test_bar_decoder_error_messages():
    with pytest.raises(ValueError, match="flip_prob must be in"):
        bar_decoder(flip_prob=0.0)
    with pytest.raises(ValueError, match="sharpness must be a positive number, found -1"):
        bar_decoder(sharpness=-1.0)
    with pytest.raises(ValueError, match="size must be >= 2, found 1"):
        bar_decoder(size=1)


def test_best_gaussian_beats_the_posterior_moments_and_leaves_a_positive_gap():
    dec, x = lecture_decoder(), Bars().templates(DTYPE)[:2]
    mu0, sigma0 = best_gaussian(x, dec, steps=0)  # the posterior's mean and std
    mu, sigma = best_gaussian(x, dec)
    with torch.no_grad():
        start = exact_elbo(x, dec, mu0, sigma0, 1201, (-6.0, 6.0))
        best = exact_elbo(x, dec, mu, sigma, 1201, (-6.0, 6.0))
    assert bool((best.elbo > start.elbo).all())
    assert bool((best.kl > 0.01).all()), "a box-shaped posterior is not Gaussian: a gap remains"


def test_view_update_returns_exact_numbers_and_draws_the_blue_area():
    dec, x = lecture_decoder(), Bars().templates(DTYPE)[2]
    view = ElboView(x, dec)
    for mu, sigma in [(0.3, 0.2), (0.0, 1.0), (-1.0, 0.5)]:
        out = view.update(mu, sigma)
        with torch.no_grad():
            ref = exact_elbo(
                x[None],
                dec,
                torch.tensor([[mu]], dtype=DTYPE),
                torch.tensor([[sigma]], dtype=DTYPE),
                1201,
                (-6.0, 6.0),
            )
        torch.testing.assert_close(out.elbo, ref.elbo[0])
        assert float(out.elbo) <= float(out.log_p_x)
        # the blue curve is exp(ELBO) q(z): its drawn area is exp(ELBO) times q's mass in view
        zs, blue = view.blue_line.get_data()
        q_mass = torch.distributions.Normal(mu, sigma).cdf(torch.tensor([zs[0], zs[-1]]))
        expected = float(out.elbo.exp()) * float(q_mass[1] - q_mass[0])
        assert np.trapezoid(blue, zs) == pytest.approx(expected, rel=1e-3)
        assert f"KL {float(out.kl):.3f}" in view.ax_density.get_title()
    assert view.ax_area.get_xlabel() == "z" and view.ax_area.get_ylabel()


@pytest.mark.parametrize("mu", [-2.5, 2.5])
def test_every_slider_corner_gives_exact_numbers(mu):
    """The sliders reach mu = +-2.5 with sigma = 10^0.4 = 2.5: most of that q lies outside the
    drawn grid [-6, 6], which exact_elbo refuses; the view integrates on a grid covering q."""
    dec, x = lecture_decoder(), Bars().templates(DTYPE)[1]
    view = ElboView(x, dec)
    reference = view.numbers(0.0, 1.0)
    for sigma in (10**-1.2, 10**0.4):
        out = view.update(mu, sigma)
        torch.testing.assert_close(out.log_p_x, reference.log_p_x, rtol=0, atol=1e-9)
        assert float(out.kl) >= 0
        torch.testing.assert_close(out.elbo + out.kl, out.log_p_x, rtol=0, atol=1e-9)


def test_explorer_builds_and_follows_the_sliders():
    images, dec = Bars().templates(DTYPE), lecture_decoder()
    explorer = explore_elbo(images, dec, titles=[f"column {c}" for c in range(4)])
    readout = explorer.readout
    out = explorer.set(mu=-0.3, sigma=0.15)
    assert out is explorer.result
    torch.testing.assert_close(out.elbo, ElboView(images[0], dec).numbers(-0.3, 0.15).elbo)
    assert f"ELBO = <b>{float(out.elbo):.4f}</b>" in readout.value and "gap = KL" in readout.value
    explorer.set(image=3)  # another image: the same q, the numbers of image 3
    expected = ElboView(images[3], dec).numbers(-0.3, 0.15)
    torch.testing.assert_close(explorer.result.log_p_x, expected.log_p_x)
    assert f"log p(x) = <b>{float(expected.log_p_x):.4f}</b>" in readout.value
