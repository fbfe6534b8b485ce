"""dgmlab.models.vae: the decoder and encoder MLPs' shape contract, sigma > 0, parameter counts."""

import math

import pytest
import torch
from torch import nn

from dgmlab.models import (
    VAE,
    GenerativeNetwork,
    InferenceNetwork,
    bar_decoder,
    count_parameters,
    generative_network,
    inference_network,
    sample,
)
from dgmlab.quadrature import simpson_grid

S, B = 3, 5


@pytest.mark.parametrize(("L", "D"), [(1, 16), (2, 9), (5, 64)])
@pytest.mark.parametrize("lead", [(B,), (S, B), ()], ids=["B", "S,B", "unbatched"])
def test_decoder_output_shape(L, D, lead):
    """z (..., L) -> logits (..., D); catches an output of size L or a dropped sample axis."""
    decoder = GenerativeNetwork(latent_dim=L, data_dim=D)
    logits = decoder(torch.randn(*lead, L))
    assert logits.shape == (*lead, D)
    assert logits.dtype == torch.float32


@pytest.mark.parametrize(("D", "L"), [(16, 1), (9, 2), (64, 5)])
@pytest.mark.parametrize("lead", [(B,), (S, B)], ids=["B", "S,B"])
def test_encoder_output_shapes(D, L, lead):
    """x (..., D) -> mu, sigma (..., L) each; catches returning the (..., 2L) head unsplit."""
    encoder = InferenceNetwork(data_dim=D, latent_dim=L)
    mu, sigma = encoder(torch.rand(*lead, D))
    assert mu.shape == sigma.shape == (*lead, L)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus", "elu"])
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6, -1e6])
def test_sigma_is_positive_even_for_huge_inputs(activation, scale):
    """softplus + min_sigma keeps sigma > 0 and finite; catches exp (overflows to inf) or a
    softplus without the floor (underflows to 0 in float32)."""
    torch.manual_seed(0)
    encoder = InferenceNetwork(data_dim=16, latent_dim=3, activation=activation)
    with torch.no_grad():
        encoder.net[-1].bias[3:] = -200.0  # push pre-sigma far negative: softplus -> 0
        _, sigma = encoder(scale * torch.rand(64, 16))
    assert torch.isfinite(sigma).all()
    assert (sigma >= encoder.min_sigma).all() and (sigma > 0).all()


def test_min_sigma_is_the_floor():
    encoder = InferenceNetwork(min_sigma=0.25)
    with torch.no_grad():
        encoder.net[-1].bias[1:] = -1e4
        encoder.net[-1].weight.zero_()
        _, sigma = encoder(torch.rand(4, 16))
    torch.testing.assert_close(sigma, torch.full((4, 1), 0.25))


def test_count_parameters_one_hidden_layer():
    """L*H + H + H*D + D for one hidden layer; catches counting only weights (no biases)."""
    L, H, D = 2, 7, 16
    assert count_parameters(GenerativeNetwork(L, D, (H,))) == L * H + H + H * D + D
    # the encoder's output layer has 2L units: mu and the pre-sigma
    assert count_parameters(InferenceNetwork(D, L, (H,))) == D * H + H + H * 2 * L + 2 * L


def test_count_parameters_two_hidden_layers():
    L, H1, H2, D = 1, 5, 11, 16
    expected = (L * H1 + H1) + (H1 * H2 + H2) + (H2 * D + D)
    assert count_parameters(GenerativeNetwork(L, D, (H1, H2))) == expected


def test_count_parameters_skips_frozen_parameters():
    decoder = GenerativeNetwork(1, 4, (3,))
    decoder.net[0].requires_grad_(False)  # 1*3 + 3 numbers frozen
    assert count_parameters(decoder) == 3 * 4 + 4


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus", "elu"])
def test_configurable_sizes_and_activation(activation):
    decoder = GenerativeNetwork(3, 10, (4, 6, 8), activation)
    linears = [m for m in decoder.net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 4), (4, 6), (6, 8), (8, 10)]
    expected_type = {"tanh": nn.Tanh, "relu": nn.ReLU, "softplus": nn.Softplus, "elu": nn.ELU}
    activations = [m for m in decoder.net if not isinstance(m, nn.Linear)]
    assert len(activations) == 3
    assert all(isinstance(m, expected_type[activation]) for m in activations)
    assert not isinstance(decoder.net[-1], type(activations[0]))  # logits are not squashed


def test_lecture_factories_build_the_classes():
    decoder = generative_network(latent_dim=2, data_dim=9, hidden_dims=(4,), activation="relu")
    encoder = inference_network(data_dim=9, latent_dim=2, hidden_dims=(4,), activation="relu")
    assert isinstance(decoder, GenerativeNetwork) and isinstance(encoder, InferenceNetwork)
    assert decoder(torch.zeros(1, 2)).shape == (1, 9)
    assert count_parameters(decoder) == 2 * 4 + 4 + 4 * 9 + 9


def test_same_seed_same_network_and_outputs():
    def build():
        torch.manual_seed(123)
        return GenerativeNetwork(1, 16, (8,)), InferenceNetwork(16, 1, (8,))

    (d1, e1), (d2, e2) = build(), build()
    z, x = torch.linspace(-2, 2, 7)[:, None], torch.rand(7, 16)
    assert torch.equal(d1(z), d2(z))
    assert all(torch.equal(a, b) for a, b in zip(e1(x), e2(x), strict=True))
    torch.manual_seed(124)
    d3 = GenerativeNetwork(1, 16, (8,))
    assert not torch.equal(d1(z), d3(z))


def test_float64_network_takes_float64_input():
    decoder = GenerativeNetwork().double()
    assert decoder(torch.zeros(2, 1, dtype=torch.float64)).dtype == torch.float64


def test_logits_are_unbounded_not_probabilities():
    """The decoder returns logits; catches a sigmoid on the output layer."""
    decoder = GenerativeNetwork(1, 16, (8,))
    with torch.no_grad():
        decoder.net[-1].bias.fill_(5.0)
    assert (decoder(torch.zeros(1, 1)) > 1.0).any()


def _exact_pixel_moments(decoder):
    """E[x_d] and E[x_0 x_4] (two pixels of column 0) under p(x), by quadrature over z."""
    grid = simpson_grid(dtype=torch.float64)
    with torch.no_grad():
        probs = torch.sigmoid(decoder(grid.z.float()).double())  # (G, D)
    weight = torch.exp(grid.log_w + torch.distributions.Normal(0.0, 1.0).log_prob(grid.z[:, 0]))
    return weight @ probs, weight @ (probs[:, 0] * probs[:, 4])


def test_ancestral_samples_have_the_exact_marginal_pixel_means():
    """x ~ p(x): pixel means and a same-column pair match the quadrature marginal within 5 SE.

    Catches thresholding sigmoid at 0.5 (means 0.25, not 0.34, for 20% flips), sigmoid taken
    twice (every mean > 0.5), z from N(0, 4) (wrong column masses: 0.1, 0.2, 0.3, 0.4 are
    the prior's), and a fresh z per pixel (the pair's moment drops to the product of means).
    """
    decoder = bar_decoder((0.1, 0.2, 0.3, 0.4), flip_prob=0.2)
    N = 40000
    x = sample(decoder, N, torch.Generator().manual_seed(0))  # (N, 16)
    assert x.shape == (N, 16) and set(x.unique().tolist()) <= {0.0, 1.0}
    means, pair = _exact_pixel_moments(decoder)
    tolerance = 5 * math.sqrt(0.25 / N)  # 5 standard errors of a mean of 0/1 values
    torch.testing.assert_close(x.double().mean(0), means, atol=tolerance, rtol=0)
    assert abs(float((x[:, 0] * x[:, 4]).double().mean() - pair)) < tolerance
    # the VAE's method is the same draw from its decoder
    vae = VAE()
    torch.testing.assert_close(
        vae.sample(5, torch.Generator().manual_seed(1)),
        sample(vae.decoder, 5, torch.Generator().manual_seed(1)),
    )
    with pytest.raises(ValueError, match="num_samples must be >= 1, found 0"):
        vae.sample(0)
