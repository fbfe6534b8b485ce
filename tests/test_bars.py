"""dgmlab.data.bars: sampling statistics, exact log_prob and entropy by brute force over all images.

Statistical tests use fixed seeds; their tolerances are stated as multiples of a binomial
standard deviation, so a correct sampler fails them only with negligible probability.
"""

import math

import pytest
import torch

from dgmlab.data import Bars, bars, bars_entropy

F64 = torch.float64
SETTINGS = [
    pytest.param(dict(size=4), id="uniform"),
    pytest.param(dict(size=4, column_probs=(0.1, 0.2, 0.3, 0.4), flip_prob=0.05), id="skewed"),
    pytest.param(dict(size=4, column_probs=(0.7, 0.1, 0.2, 0.0), flip_prob=0.0), id="no-flips"),
    pytest.param(dict(size=4, column_probs=(0.05, 0.6, 0.05, 0.3), flip_prob=0.3), id="flip-0.3"),
    pytest.param(dict(size=3, column_probs=(0.2, 0.5, 0.3), flip_prob=0.1), id="size-3"),
    pytest.param(dict(size=2, flip_prob=0.45), id="size-2"),
]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def all_images(size: int) -> torch.Tensor:
    """(2^D, D) float64: every binary size x size image, one per row."""
    D = size * size
    codes = torch.arange(2**D)[:, None]  # (2^D, 1)
    return ((codes >> torch.arange(D)) & 1).to(F64)  # (2^D, D)


def brute_force_p(data: Bars, x: torch.Tensor) -> torch.Tensor:
    """p_data(x) = sum_c pi_c prod_d eps^[x_d != t_cd] (1 - eps)^[x_d == t_cd], as products."""
    eps = torch.tensor(data.flip_prob, dtype=F64)
    t = data.templates(F64)  # (C, D)
    differs = x[:, None, :] != t[None, :, :]  # (N, C, D)
    per_pixel = torch.where(differs, eps, 1.0 - eps)  # (N, C, D) float64
    return (data.pi * per_pixel.prod(-1)).sum(-1)  # (N,)


# --- sampling ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("size", [1, 3, 4, 6])
def test_sample_shape_dtype_device_and_binary_values(size, dtype):
    """Catches images of shape (n, size, size), float flips instead of 0/1, labels off by one."""
    x, column = Bars(size=size, flip_prob=0.2).sample(500, generator=_gen(0), dtype=dtype)
    assert x.shape == (500, size * size)
    assert x.dtype == dtype and x.device.type == "cpu"
    assert ((x == 0) | (x == 1)).all()
    assert column.shape == (500,) and column.dtype == torch.int64
    assert column.min() >= 0 and column.max() < size


def test_sample_on_requested_device():
    """device= moves images and labels together ('meta' stands in for a GPU here)."""
    x, column = Bars().sample(5, generator=_gen(0), device="meta")
    assert x.device.type == "meta" and column.device.type == "meta"


def test_sample_zero_images_gives_empty_tensors():
    x, column = Bars().sample(0)
    assert x.shape == (0, 16) and column.shape == (0,)


def test_without_flips_each_image_is_its_column_template():
    """Images are flattened row by row: x.view(n, size, size)[:, :, c] is column c.

    Catches templates that light a row instead of a column, and labels that disagree with them.
    """
    size = 5
    x, column = Bars(size=size, flip_prob=0.0).sample(200, generator=_gen(1))
    images = x.view(-1, size, size)  # (n, rows, cols)
    expected = torch.zeros_like(images)
    expected[torch.arange(200), :, column] = 1.0
    assert torch.equal(images, expected)
    assert set(column.tolist()) == set(range(size))


def test_flip_prob_one_gives_complement_of_template():
    data = Bars(size=4, flip_prob=1.0)
    x, column = data.sample(50, generator=_gen(2))
    assert torch.equal(x, 1.0 - data.templates()[column])


def test_column_frequencies_match_column_probs():
    """Each count ~ Binomial(n, pi_c); tolerance 5 binomial standard deviations.

    Catches ignoring column_probs (uniform draws) or mapping probabilities to wrong columns.
    """
    pi = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=F64)
    n = 40_000
    _, column = Bars(size=4, column_probs=pi).sample(n, generator=_gen(3))
    freq = torch.bincount(column, minlength=4).to(F64) / n
    std = (pi * (1 - pi) / n).sqrt()
    assert ((freq - pi).abs() < 5 * std).all(), (freq, pi)


@pytest.mark.parametrize("flip_prob", [0.0, 0.05, 0.3, 0.5])
def test_flip_rate_matches_flip_prob(flip_prob):
    """Pixels that differ from the template ~ Binomial(n D, eps); tolerance 5 std.

    Catches flipping with probability 1 - eps, or flipping only on-pixels.
    """
    data = Bars(size=4, flip_prob=flip_prob)
    n = 20_000
    x, column = data.sample(n, generator=_gen(4))
    flipped = x != data.templates()[column]  # (n, D)
    rate = flipped.double().mean().item()
    std = math.sqrt(flip_prob * (1 - flip_prob) / (n * data.num_pixels))
    assert abs(rate - flip_prob) <= 5 * std, (rate, flip_prob)
    # on- and off-pixels are flipped alike
    on = data.templates()[column] == 1
    if flip_prob > 0:
        assert abs(flipped[on].double().mean().item() - flip_prob) < 0.02
        assert abs(flipped[~on].double().mean().item() - flip_prob) < 0.02


def test_generator_makes_draws_reproducible():
    data = Bars(column_probs=(0.1, 0.2, 0.3, 0.4), flip_prob=0.2)
    first = data.sample(100, generator=_gen(7))
    again = data.sample(100, generator=_gen(7))
    other = data.sample(100, generator=_gen(8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_global_seed_makes_draws_reproducible_without_generator():
    torch.manual_seed(11)
    first = bars(50, flip_prob=0.2)
    torch.manual_seed(11)
    again = bars(50, flip_prob=0.2)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])


def test_bars_function_is_the_class_sample():
    kwargs = dict(size=3, column_probs=(0.2, 0.5, 0.3), flip_prob=0.1)
    x, column = bars(30, generator=_gen(5), **kwargs)
    x2, column2 = Bars(**kwargs).sample(30, generator=_gen(5))
    assert torch.equal(x, x2) and torch.equal(column, column2)
    assert x.dtype == torch.float32


def test_pi_is_a_copy_and_tensor_column_probs_are_accepted():
    data = Bars(size=3, column_probs=torch.tensor([0.2, 0.5, 0.3]))
    pi = data.pi
    pi[0] = 99.0
    torch.testing.assert_close(data.pi, torch.tensor([0.2, 0.5, 0.3], dtype=F64))


# --- exact log_prob ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_log_prob_sums_to_one_over_all_images(kwargs):
    """sum_x p_data(x) = 1 over all 2^D images; catches a missing log pi or log(1 - eps) term."""
    data = Bars(**kwargs)
    total = data.log_prob(all_images(data.size)).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_log_prob_matches_brute_force_mixture(kwargs):
    """Catches a Hamming distance computed as x . t only, or eps and 1 - eps swapped."""
    data = Bars(**kwargs)
    x = all_images(data.size)
    p = brute_force_p(data, x)
    log_p = data.log_prob(x)
    assert torch.equal(log_p == -math.inf, p == 0)  # impossible images are exactly impossible
    possible = p > 0
    torch.testing.assert_close(log_p[possible], p[possible].log(), rtol=1e-12, atol=1e-12)


def test_log_prob_follows_dtype_of_x():
    data = Bars()
    x, _ = data.sample(20, generator=_gen(6))  # float32
    log_p = data.log_prob(x)
    assert log_p.dtype == torch.float32 and log_p.shape == (20,)
    torch.testing.assert_close(log_p.double(), data.log_prob(x.double()), rtol=1e-6, atol=1e-6)


# --- exact entropy -------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_entropy_matches_brute_force_sum_over_all_images(kwargs):
    """H = -sum_x p log p over all 2^D images to 1e-9 nats.

    Catches a wrong multiplicity (binomial count) in the grouped sum, or a distance formula
    that counts only on-pixels.
    """
    data = Bars(**kwargs)
    p = brute_force_p(data, all_images(data.size))
    expected = -torch.special.xlogy(p, p).sum().item()
    assert data.entropy() == pytest.approx(expected, abs=1e-9)
    assert bars_entropy(**kwargs) == data.entropy()


@pytest.mark.parametrize("size", [1, 2, 3, 6])
def test_entropy_closed_forms(size):
    """eps = 0: H = H(pi); eps = 1/2: every image equally likely, H = D log 2."""
    assert Bars(size=size, flip_prob=0.0).entropy() == pytest.approx(math.log(size), abs=1e-9)
    assert Bars(size=size, flip_prob=0.5).entropy() == pytest.approx(
        size * size * math.log(2.0), rel=1e-12
    )


@pytest.mark.parametrize("kwargs", [dict(size=4), dict(size=6, flip_prob=0.1)])
def test_entropy_matches_monte_carlo(kwargs):
    """H ~ -mean log p(x_i), x_i ~ p_data (N = 20,000, fixed seed); tolerance 5 standard errors.

    This also covers size 6, too big (2^36 images) for the brute-force sum.
    """
    data = Bars(**kwargs)
    x, _ = data.sample(20_000, generator=_gen(9), dtype=F64)
    neg_log_p = -data.log_prob(x)
    std_error = neg_log_p.std().item() / math.sqrt(len(x))
    assert data.entropy() == pytest.approx(neg_log_p.mean().item(), abs=5 * std_error)
