"""dgmlab.evidence: exact 1-D evidence by Simpson quadrature, checked against finer grids,
scipy's adaptive quadrature, a decoder we can integrate by hand, and its own identities.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate

from dgmlab import evidence
from dgmlab.data import Bars
from dgmlab.densities import log_bernoulli, log_standard_normal
from dgmlab.evidence import (
    DEFAULT_NUM_POINTS,
    log_evidence,
    log_joint_on_grid,
    posterior_on_grid,
    simpson_grid,
)
from dgmlab.models import GenerativeNetwork

F64 = torch.float64
FINE = 8 * (DEFAULT_NUM_POINTS - 1) + 1  # 16001 points: h is 8 times smaller

# (activation, hidden width, weight scale relative to PyTorch's default init, seed)
DECODERS = [
    ("tanh", 8, 1.0, 0),
    ("tanh", 16, 3.0, 1),
    ("tanh", 32, 2.0, 2),
    ("tanh", 64, 3.0, 3),
    ("relu", 8, 1.0, 4),
    ("relu", 16, 3.0, 5),
    ("relu", 32, 2.0, 6),
    ("relu", 64, 3.0, 7),
]


def make_decoder(activation="tanh", hidden=32, scale=1.0, seed=0, data_dim=16, dtype=F64):
    torch.manual_seed(seed)
    decoder = GenerativeNetwork(1, data_dim, (hidden,), activation)
    with torch.no_grad():
        for p in decoder.parameters():
            p.mul_(scale)
    return decoder.to(dtype)


def images(n=24, seed=0, dtype=F64) -> torch.Tensor:
    """Bar images plus a few uniformly random ones (unlikely under any decoder)."""
    g = torch.Generator().manual_seed(seed)
    x, _ = Bars(flip_prob=0.1).sample(n, generator=g, dtype=dtype)
    noise = torch.randint(0, 2, (4, 16), generator=g).to(dtype)
    return torch.cat([x, noise])  # (n + 4, 16)


# --- accuracy ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fine_reference() -> dict:
    """log p(x) on the 16001-point grid in float64, per decoder: the reference answer."""
    x = images()
    with torch.no_grad():
        return {d: log_evidence(x, make_decoder(*d), num_points=FINE) for d in DECODERS}


@pytest.mark.parametrize("decoder_args", DECODERS, ids=lambda d: f"{d[0]}-{d[1]}-x{d[2]}")
def test_default_grid_matches_8x_finer_grid_float64(decoder_args, fine_reference):
    """The module's promise: 2001 points agree with 8x finer to 1e-4 nats.

    Catches a default grid too coarse (201 points fails for relu and for tanh at 3x scale).
    tanh decoders agree far more closely (~1e-14). (Trapezoid weights would pass here: for
    smooth, fast-decaying integrands they are as accurate; test_simpson_* catch them.)
    """
    with torch.no_grad():
        found = log_evidence(images(), make_decoder(*decoder_args))
    error = (found - fine_reference[decoder_args]).abs().max().item()
    assert error < 1e-4, error
    if decoder_args[0] == "tanh":  # smooth integrand: Simpson converges like h^4
        assert error < 1e-9, error


@pytest.mark.parametrize("decoder_args", DECODERS, ids=lambda d: f"{d[0]}-{d[1]}-x{d[2]}")
def test_default_grid_in_float32(decoder_args, fine_reference):
    """float32 (the library default) against the float64 fine grid.

    Tolerance: the float64 quadrature error (< 1e-4) plus float32 rounding, about
    1e-6 relative to |log p(x)| (a logsumexp over 2001 terms of sums over 16 pixels).
    Measured: ~2e-6 for tanh, ~8e-5 for relu, dominated by the quadrature.
    """
    x = images(dtype=torch.float32)
    with torch.no_grad():
        found = log_evidence(x, make_decoder(*decoder_args, dtype=torch.float32))
    assert found.dtype == torch.float32
    reference = fine_reference[decoder_args]
    tolerance = 1e-4 + 1e-6 * reference.abs()
    error = (found.double() - reference).abs()
    assert (error < tolerance).all(), error.max().item()


@pytest.mark.parametrize("row", [0, 25])
def test_matches_scipy_quad(row):
    """log of scipy.integrate.quad of p(x | z) p(z) over the real line, for single images.

    An independent adaptive integrator; catches a wrong prior (e.g. N(0, 2)), a missing
    log p(z), or Simpson weights that do not sum to the interval length.
    """
    decoder = make_decoder("tanh", 16, 2.0, seed=10)
    x = images()[row : row + 1]  # (1, 16): a bar image, then a random one
    # the same network in NumPy: scipy calls the integrand ~500 times, one z at a time
    w1, b1, w2, b2 = (t.detach().numpy() for t in decoder.parameters())
    x_np = x[0].numpy()

    def joint(z: float) -> float:
        logits = w2 @ np.tanh(w1[:, 0] * z + b1) + b2  # (16,)
        log_p_x_given_z = np.sum(x_np * logits - np.logaddexp(0.0, logits))
        return math.exp(log_p_x_given_z - 0.5 * z * z - 0.5 * math.log(2 * math.pi))

    value, abserr = integrate.quad(joint, -np.inf, np.inf, epsabs=0.0, epsrel=1e-11, limit=500)
    with torch.no_grad():
        found = log_evidence(x, decoder).item()
    assert abserr < 1e-9 * value
    assert found == pytest.approx(math.log(value), abs=1e-8)


def test_decoder_ignoring_z_gives_log_bernoulli_and_prior_posterior():
    """If logits do not depend on z, p(x) = p(x | logits) and p(z | x) = p(z), exactly.

    Catches a missing prior term, weights that do not integrate the prior to 1, and a
    posterior that forgets to divide by p(x).
    """
    logits = torch.linspace(-3, 3, 16, dtype=F64)

    def decoder(z):  # (G, 1) -> (G, 16), the same logits for every z
        return logits.expand(z.shape[0], 16)

    x = images()
    torch.testing.assert_close(
        log_evidence(x, decoder), log_bernoulli(x, logits), rtol=1e-12, atol=1e-12
    )
    z, density = posterior_on_grid(x, decoder)
    prior = log_standard_normal(z[:, None]).exp()  # (G,)
    torch.testing.assert_close(density, prior.expand_as(density), rtol=1e-10, atol=1e-14)


def test_evidence_is_a_distribution_over_all_images():
    """sum over all 2^9 images of p(x) = integral p(z) sum_x p(x | z) dz = 1 (3x3 images).

    Catches anything that breaks normalisation: a missing prior, a stray constant.
    """
    D = 9
    codes = torch.arange(2**D)[:, None]
    every_image = ((codes >> torch.arange(D)) & 1).to(F64)  # (512, 9)
    decoder = make_decoder("tanh", 16, 3.0, seed=11, data_dim=D)
    with torch.no_grad():
        total = log_evidence(every_image, decoder).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-10)


# --- the posterior ---------------------------------------------------------------------------


def test_posterior_integrates_to_one_and_its_mean_matches_brute_force():
    decoder = make_decoder("tanh", 32, 2.0, seed=12)
    x = images(n=6)
    with torch.no_grad():
        z, density = posterior_on_grid(x, decoder)  # (G,), (B, G)
    grid = simpson_grid(dtype=F64)
    w = grid.log_w.exp()  # (G,)
    assert z.shape == (DEFAULT_NUM_POINTS,) and density.shape == (len(x), DEFAULT_NUM_POINTS)
    assert (density >= 0).all()
    torch.testing.assert_close(density @ w, torch.ones(len(x), dtype=F64), rtol=0, atol=1e-12)

    # brute force with torch.distributions: p(x, z_g) for each image and grid point
    with torch.no_grad():
        logits = decoder(grid.z)  # (G, 16)
    bern = torch.distributions.Bernoulli(logits=logits[None])  # batch (1, G, 16)
    log_joint = bern.log_prob(x[:, None, :]).sum(-1) + torch.distributions.Normal(
        0.0, 1.0
    ).log_prob(grid.z[:, 0])  # (B, G)
    joint = log_joint.exp()
    expected_mean = (joint * w * grid.z[:, 0]).sum(-1) / (joint * w).sum(-1)
    torch.testing.assert_close(density @ (w * z), expected_mean, rtol=1e-10, atol=1e-12)


def test_log_joint_on_grid_is_likelihood_plus_prior():
    """Catches the prior added per pixel or log p(z) left out."""
    decoder = make_decoder("relu", 8, 1.0, seed=13)
    grid = simpson_grid((-3.0, 3.0), 11, dtype=F64)
    x = images(n=3)
    with torch.no_grad():
        found = log_joint_on_grid(x, decoder, grid)  # (B, G)
        logits = decoder(grid.z)  # (G, 16)
    expected = log_bernoulli(x[:, None, :], logits[None]) + log_standard_normal(grid.z)
    torch.testing.assert_close(found, expected, rtol=1e-12, atol=1e-12)


# --- the quadrature rule ---------------------------------------------------------------------


@pytest.mark.parametrize("num_points", [3, 5, 21])
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_simpson_integrates_cubics_exactly(degree, num_points):
    """Simpson's rule is exact for polynomials of degree <= 3; trapezoid is not for degree 2."""
    low, high = -1.5, 2.5
    grid = simpson_grid((low, high), num_points, dtype=F64)
    w, z = grid.log_w.exp(), grid.z[:, 0]
    coef = torch.tensor([0.7, -1.3, 2.1, 0.9], dtype=F64)[: degree + 1]
    poly = sum(c * z**k for k, c in enumerate(coef))
    exact = sum(c * (high ** (k + 1) - low ** (k + 1)) / (k + 1) for k, c in enumerate(coef))
    assert (w * poly).sum().item() == pytest.approx(exact.item(), rel=1e-13, abs=1e-13)


def test_simpson_is_not_exact_for_degree_four():
    """The rule really is Simpson's (not a higher-order one): z^4 on [0, 1] with 3 points gives
    h/3 (0 + 4/16 + 1) = 5/24, not 1/5."""
    grid = simpson_grid((0.0, 1.0), 3, dtype=F64)
    assert (grid.log_w.exp() * grid.z[:, 0] ** 4).sum().item() == pytest.approx(5 / 24, rel=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_simpson_grid_integrates_the_gaussian_to_one(dtype):
    grid = simpson_grid(dtype=dtype)
    assert grid.z.shape == (DEFAULT_NUM_POINTS, 1) and grid.log_w.shape == (DEFAULT_NUM_POINTS,)
    assert grid.z.dtype == grid.log_w.dtype == dtype
    assert grid.z[0].item() == -8.0 and grid.z[-1].item() == 8.0
    total = torch.logsumexp(grid.log_w + log_standard_normal(grid.z), 0).exp().item()
    assert total == pytest.approx(1.0, abs=1e-12 if dtype == F64 else 1e-6)


def test_simpson_grid_follows_requested_device():
    grid = simpson_grid(num_points=5, device="meta")
    assert grid.z.device.type == "meta" and grid.log_w.device.type == "meta"


# --- batches, gradients, properties ------------------------------------------------------------


def test_batch_equals_rows_one_by_one():
    """Catches a logsumexp over the wrong dimension (mixing images in a batch)."""
    decoder = make_decoder("relu", 16, 2.0, seed=14)
    x = images(n=8)
    with torch.no_grad():
        batch = log_evidence(x, decoder)
        rows = torch.cat([log_evidence(x[i : i + 1], decoder) for i in range(len(x))])
    assert batch.shape == (len(x),)
    torch.testing.assert_close(batch, rows, rtol=1e-13, atol=1e-13)


def test_a_batch_larger_than_one_block_equals_the_one_block_sum():
    """log_evidence works through the batch in blocks of rows; a batch that spans several
    blocks and a remainder must give exactly the (B, G) logsumexp, and its gradient.
    Catches a dropped or repeated block, or blocks joined in the wrong order."""
    decoder = make_decoder("tanh", 16, 2.0, seed=16)
    x, _ = Bars().sample(
        2 * evidence._ROWS_PER_BLOCK + 37, generator=torch.Generator().manual_seed(3), dtype=F64
    )
    grid = simpson_grid(evidence.DEFAULT_Z_RANGE, DEFAULT_NUM_POINTS, dtype=F64)
    weights = torch.linspace(0.5, 1.5, len(x), dtype=F64)  # a different weight per image
    blocked = log_evidence(x, decoder)
    (blocked * weights).sum().backward()
    blocked_grads = [p.grad.clone() for p in decoder.parameters()]
    decoder.zero_grad()
    whole = torch.logsumexp(log_joint_on_grid(x, decoder, grid) + grid.log_w, dim=-1)
    (whole * weights).sum().backward()
    assert blocked.shape == (len(x),)
    torch.testing.assert_close(blocked, whole, rtol=1e-13, atol=1e-13)
    for got, want in zip(blocked_grads, (p.grad for p in decoder.parameters()), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-12)


def test_gradient_flows_to_every_decoder_parameter_and_matches_finite_differences():
    decoder = make_decoder("tanh", 8, 2.0, seed=15)
    x = images(n=4)
    log_evidence(x, decoder, num_points=201).sum().backward()
    for name, p in decoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name

    # central difference on one output bias
    bias = decoder.net[-1].bias
    analytic = bias.grad[3].item()
    step = 1e-6
    with torch.no_grad():
        bias[3] += step
        up = log_evidence(x, decoder, num_points=201).sum().item()
        bias[3] -= 2 * step
        down = log_evidence(x, decoder, num_points=201).sum().item()
        bias[3] += step
    assert analytic == pytest.approx((up - down) / (2 * step), rel=1e-6, abs=1e-8)


def test_gradient_ascent_raises_the_evidence_of_bar_data():
    """'Maximizing the evidence': 30 Adam steps raise mean log p(x) on 128 bar images."""
    torch.manual_seed(0)
    decoder = GenerativeNetwork(1, 16, (16,), "tanh")  # float32, the course default
    x, _ = Bars().sample(128, generator=torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam(decoder.parameters(), lr=0.05)
    history = []
    for _ in range(30):
        loss = -log_evidence(x, decoder, num_points=401).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(-loss.item())
    assert history[-1] > history[0] + 1.0, history
    assert history[-1] <= -Bars().entropy() + 0.5  # cannot beat the data's entropy by much


_PROPERTY_DECODERS = [make_decoder(*d) for d in DECODERS]  # built once, never trained


@given(
    arrays(np.float64, (4, 16), elements=st.sampled_from([0.0, 1.0])),
    st.integers(0, len(DECODERS) - 1),
)
def test_log_evidence_of_binary_images_is_at_most_zero(x, which):
    """p(x) is a probability of a discrete outcome; catches forgetting the weights or prior."""
    decoder = _PROPERTY_DECODERS[which]
    with torch.no_grad():
        assert (log_evidence(torch.from_numpy(x), decoder, num_points=201) <= 0).all()
