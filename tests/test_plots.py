"""Tests for dgmlab.plots: the drawn pixels are the input pixels, and bad input says why."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab import plots  # noqa: E402
from dgmlab.data import bars  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn(fig, b):
    """The (size, size) pixels drawn in the b-th Axes of fig."""
    return np.asarray(fig.axes[b].images[0].get_array())


def test_show_images_draws_every_input_pixel():
    x, _ = bars(10, generator=torch.Generator().manual_seed(0))
    fig = plots.show_images(x, ncols=4)
    assert len(fig.axes) == 10
    for b in range(10):
        np.testing.assert_array_equal(drawn(fig, b), x[b].view(4, 4).numpy())
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 4)


def test_show_images_keeps_row_major_layout():
    x = torch.zeros(1, 9)
    x[0, 5] = 1.0  # row 1, column 2 of a 3x3 image
    fig = plots.show_images(x)
    image = drawn(fig, 0)
    assert image.shape == (3, 3)
    assert image[1, 2] == 1.0 and image.sum() == 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool])
def test_show_images_accepts_float_int_and_bool_pixels(dtype):
    x = (torch.arange(32) % 3 == 0).view(2, 16).to(dtype)
    fig = plots.show_images(x)
    np.testing.assert_array_equal(drawn(fig, 1), x[1].view(4, 4).float().numpy())


def test_show_images_titles_and_suptitle():
    x, column = bars(3, generator=torch.Generator().manual_seed(1))
    titles = [f"column {int(c)}" for c in column]
    fig = plots.show_images(x, titles=titles, suptitle="bars")
    assert [ax.get_title() for ax in fig.axes] == titles
    assert fig.get_suptitle() == "bars"


def test_show_images_explicit_size_and_given_figure():
    x = torch.rand(6, 25)
    fig = plt.figure()
    assert plots.show_images(x, size=5, ncols=3, fig=fig) is fig
    assert len(fig.axes) == 6
    np.testing.assert_allclose(drawn(fig, 5), x[5].view(5, 5).numpy())


def test_show_image_draws_into_given_axes():
    _, ax = plt.subplots()
    x = torch.rand(16)
    image = plots.show_image(x, ax=ax, title="one")
    assert image in ax.images and ax.get_title() == "one"
    np.testing.assert_allclose(np.asarray(image.get_array()), x.view(4, 4).numpy())
    assert image.get_clim() == (0.0, 1.0)


def test_show_probabilities_draws_sigmoid_of_logits():
    logits = torch.tensor([[-200.0, 0.0, 3.0, -3.0] * 4, [5.0] * 16], dtype=torch.float64)
    fig = plots.show_probabilities(logits, titles=["a", "b"])
    assert len(fig.axes) == 3  # two images and the colour bar
    for b in range(2):
        expected = torch.sigmoid(logits[b]).view(4, 4).float().numpy()
        np.testing.assert_allclose(drawn(fig, b), expected, rtol=1e-6)


def test_show_probabilities_accepts_one_image_without_colorbar():
    logits = torch.randn(16)
    fig = plots.show_probabilities(logits, colorbar=False)
    assert len(fig.axes) == 1
    np.testing.assert_allclose(drawn(fig, 0), torch.sigmoid(logits).view(4, 4).numpy())


def test_set_image_replaces_pixels():
    image = plots.show_image(torch.zeros(16))
    x = torch.rand(16)
    assert plots.set_image(image, x) is image
    np.testing.assert_allclose(np.asarray(image.get_array()), x.view(4, 4).numpy())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: plots.show_images([[0.0] * 16]),
            TypeError,
            "x must be a torch.Tensor, found list",
        ),
        (lambda: plots.show_images(torch.rand(16)), ValueError, r"x must have shape \(B, D\)"),
        (lambda: plots.show_images(torch.rand(2, 15)), ValueError, "square number of pixels"),
        (lambda: plots.show_images(torch.rand(2, 16), size=3), ValueError, "size must satisfy"),
        (lambda: plots.show_images(torch.rand(0, 16)), ValueError, "at least one image"),
        (
            lambda: plots.show_images(torch.randn(2, 16) * 5),
            ValueError,
            r"x must have every entry in \[0, 1\].*show_probabilities",
        ),
        (
            lambda: plots.show_images(torch.full((1, 16), float("nan"))),
            ValueError,
            "x must not contain NaN",
        ),
        (lambda: plots.show_images(torch.rand(2, 16), ncols=0), ValueError, "ncols must be >= 1"),
        (
            lambda: plots.show_images(torch.rand(2, 16), titles=["a"]),
            ValueError,
            r"titles must have one entry per image \(2\), found 1",
        ),
        (
            lambda: plots.show_images(torch.rand(2, 16), titles="ab"),
            TypeError,
            "titles must be a sequence",
        ),
        (
            lambda: plots.show_probabilities(torch.randn(2, 3, 16)),
            ValueError,
            r"logits must have shape \(B, D\) or \(D,\), found shape \(2, 3, 16\)",
        ),
        (
            lambda: plots.show_probabilities(torch.randn(2, 10)),
            ValueError,
            "logits must have a square number of pixels",
        ),
        (
            lambda: plots.show_probabilities(torch.zeros(16, dtype=torch.int64)),
            TypeError,
            "logits must be a floating-point tensor",
        ),
        (lambda: plots.show_image(torch.rand(2, 16)), ValueError, r"x must have shape \(D,\)"),
        (
            lambda: plots.set_image(plots.show_image(torch.rand(16)), torch.rand(9)),
            ValueError,
            "x must have 16 pixels to fill a 4x4 image, found 9",
        ),
        (lambda: plots.set_image("image", torch.rand(16)), TypeError, "image must be"),
    ],
)
def test_bad_input_names_argument_expected_and_found(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_show_images_refuses_a_figure_that_already_has_axes():
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="fig must be an empty Figure, found one with 1 Axes"):
        plots.show_images(torch.rand(2, 16), fig=fig)


def test_library_never_shows(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("dgmlab.plots must not call plt.show()")

    monkeypatch.setattr(plt, "show", fail)
    plots.show_images(torch.rand(3, 16))
    plots.show_probabilities(torch.randn(16))
