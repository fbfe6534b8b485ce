"""Lecture 07's explorer, headless: the posterior, q*, the encoder's q and its refinement."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.data import Bars  # noqa: E402
from dgmlab.evidence import exact_elbo  # noqa: E402
from dgmlab.models import VAE, bar_decoder  # noqa: E402
from dgmlab.widgets.amortization import (  # noqa: E402
    REFINE_STEPS,
    AmortizationView,
    explore_amortization,
)


@pytest.fixture(scope="module")
def vae():
    """The hand-set bar decoder with an untrained encoder: a large amortization gap."""
    torch.manual_seed(0)
    model = VAE(data_dim=16, latent_dim=1, hidden_dims=(8,))
    model.decoder = bar_decoder(sharpness=6.0)
    return model


@pytest.fixture(scope="module")
def images():
    x, _ = Bars().sample(2, generator=torch.Generator().manual_seed(4))
    return torch.cat([Bars().templates()[2:3], x])  # (3, D)


def test_view_numbers_are_the_exact_ones(vae, images):
    view = AmortizationView(images, vae)
    for n in range(len(images)):
        view.set_image(n)
        numbers = view.update(REFINE_STEPS[-1])
        x = images[n : n + 1].double()
        with torch.no_grad():
            mu, sigma = vae.double().encoder(x)
            encoder = exact_elbo(x, vae.decoder, mu, sigma)
        vae.float()
        assert numbers.log_p_x == pytest.approx(float(encoder.log_p_x[0]), abs=1e-6)
        assert numbers.elbo_encoder == pytest.approx(float(encoder.elbo[0]), abs=1e-6)
        total = numbers.log_p_x - numbers.elbo_encoder
        assert numbers.approximation + numbers.amortization == pytest.approx(total, abs=1e-9)
        assert numbers.approximation > 0 and numbers.amortization > 0
        # refinement starts at the encoder and climbs toward q*, never above it by much
        assert numbers.elbo_encoder < numbers.elbo_refined <= numbers.elbo_best + 1e-3
        # the drawn encoder curve is q_phi's density
        z, density = view.encoder_line.get_data()
        assert float(torch.as_tensor(density).max()) == pytest.approx(
            float(1 / (sigma[0, 0] * (2 * torch.pi) ** 0.5)), rel=0.02
        )
    assert view.update(0).elbo_refined == pytest.approx(view.update(0).elbo_encoder, abs=1e-9)
    with pytest.raises(ValueError, match="steps must be one of"):
        view.update(3)
    plt.close("all")


def test_explorer_moves_and_reads_out(vae, images):
    explorer = explore_amortization(images, vae, titles=["clean", "a", "b"])
    explorer.set(image=1, steps=REFINE_STEPS[2])
    assert explorer.result.steps == REFINE_STEPS[2]
    assert "amortization gap" in explorer.readout.value
    assert explorer.view.image.value[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="images must"):
        explore_amortization(images[0], vae)
