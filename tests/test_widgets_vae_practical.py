"""Lecture 06's figures and latent explorer, headless (Agg)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlab.models import GenerativeNetwork  # noqa: E402
from dgmlab.widgets.vae_practical import (  # noqa: E402
    LatentExplorer,
    explore_latent,
    latent_mosaic,
    plot_encoder_means,
    plot_latent_map,
    plot_training_curves,
    show_latent_mosaic,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _decoder(latent_dim, data_dim, seed=0):
    torch.manual_seed(seed)
    return GenerativeNetwork(latent_dim, data_dim, (8,))


def test_latent_mosaic_puts_each_decoded_image_at_its_grid_point():
    dec = _decoder(2, 16)
    num, lim = 5, 2.0
    mosaic = latent_mosaic(dec, num=num, z_limit=lim)
    assert mosaic.shape == (num * 5 - 1, num * 5 - 1)  # 4x4 tiles, 1-pixel gaps between them
    ticks = torch.linspace(-lim, lim, num)
    # tile (row i, column j) shows z = (ticks[j], ticks[num - 1 - i]): z_1 right, z_2 up
    # (catches a transposed grid, an upside-down z_2 axis and a scrambled tile layout)
    for i, j in [(0, 0), (0, 4), (3, 1), (4, 4)]:
        z = torch.tensor([[ticks[j], ticks[num - 1 - i]]])
        with torch.no_grad():
            expected = torch.sigmoid(dec(z))[0].view(4, 4)
        tile = mosaic[5 * i : 5 * i + 4, 5 * j : 5 * j + 4]
        torch.testing.assert_close(tile, expected)
    assert torch.all(mosaic[4::5, :] == 0.5) and torch.all(mosaic[:, 4::5] == 0.5)  # the gaps
    plain = latent_mosaic(dec, num=num, z_limit=lim, gap=0)
    torch.testing.assert_close(plain[4:8, 8:12], mosaic[5:9, 10:14])


def test_latent_mosaic_error_messages():
    with pytest.raises(ValueError, match="z_limit must be positive, found -1"):
        latent_mosaic(_decoder(2, 16), z_limit=-1.0)
    with pytest.raises(ValueError, match="gap must be >= 0, found -1"):
        latent_mosaic(_decoder(2, 16), gap=-1)
    with pytest.raises(ValueError, match="num must be >= 1, found 0"):
        latent_mosaic(_decoder(2, 16), num=0)
    with pytest.raises(ValueError, match="square number of pixels"):
        latent_mosaic(_decoder(2, 15))


def test_show_latent_mosaic_labels_the_latent_axes():
    ax = show_latent_mosaic(_decoder(2, 64), num=4, z_limit=3.0)
    assert ax.images[0].get_extent() == [-3.0, 3.0, -3.0, 3.0]
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$" and ax.get_title()


def test_explorer_update_returns_and_draws_the_decoded_image_fast():
    dec = _decoder(2, 64)
    mu, labels = torch.randn(30, 2), torch.randint(0, 10, (30,))
    view = LatentExplorer(dec, mu=mu, labels=labels)
    z = [0.7, -1.3]
    image = view.update(z)
    with torch.no_grad():
        expected = torch.sigmoid(dec(torch.tensor([z])))[0].view(8, 8).numpy()
    np.testing.assert_allclose(image, expected, rtol=1e-6)
    np.testing.assert_allclose(view.image.get_array(), expected, rtol=1e-6)
    assert list(view.marker.get_xdata()) == [0.7] and list(view.marker.get_ydata()) == [-1.3]
    assert view.ax_image.get_title() == "z = (+0.70, -1.30)"
    for k in range(20):
        view.update([0.1 * k, -0.1 * k])
    # speed is measured, not asserted: benchmarks/widgets.py times every explorer


def test_explorer_with_a_1d_latent_moves_the_marker_along_z():
    view = LatentExplorer(_decoder(1, 16), mu=torch.randn(40, 1), labels=torch.arange(40) % 4)
    image = view.update([1.5])
    assert image.shape == (4, 4)
    assert list(view.marker.get_xdata()) == [1.5]


def test_explorer_error_messages():
    with pytest.raises(ValueError, match="latent_dim 1 or 2, found 3"):
        LatentExplorer(_decoder(3, 16))
    view = LatentExplorer(_decoder(2, 16))
    with pytest.raises(ValueError, match="z must have 2 entries, found 1"):
        view.update([0.0])
    fig = plt.figure()
    fig.add_subplot()
    with pytest.raises(ValueError, match="fig must be an empty Figure, found one with 1 Axes"):
        LatentExplorer(_decoder(2, 16), fig=fig)


def test_explore_latent_builds_one_slider_per_latent_dimension():
    import ipywidgets as widgets

    dec = _decoder(2, 16)
    explorer = explore_latent(dec)
    assert list(explorer.controls) == ["z1", "z2"]
    assert [type(s) for s in explorer.controls.values()] == [widgets.FloatSlider] * 2
    explorer.controls["z1"].value = 1.0  # fires the update, headless
    with torch.no_grad():
        expected = torch.sigmoid(dec(torch.tensor([[1.0, 0.0]])))[0].view(4, 4).numpy()
    np.testing.assert_allclose(explorer.result, expected, rtol=1e-6)
    assert explorer.plot.ax_image.get_title() == "z = (+1.00, +0.00)"


def test_training_curves_draw_each_metric_and_the_entropy_line():
    metrics = {"ELBO": [-6.0, -5.0, -4.8], "log p(x)": [-5.5, -4.7, -4.6]}
    ax = plot_training_curves([10, 20, 30], metrics, neg_entropy=-4.56)
    lines = ax.get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == list(metrics.values())
    assert list(lines[0].get_xdata()) == [10, 20, 30]
    assert list(lines[2].get_ydata()) == [-4.56, -4.56]  # the horizontal ceiling
    assert ax.get_xlabel() and ax.get_ylabel() == "nats per image" and ax.get_title()


def test_training_curves_error_messages():
    with pytest.raises(ValueError, match=r"metrics\['ELBO'\] must have one value per eval_step"):
        plot_training_curves([1, 2], {"ELBO": [1.0]})
    with pytest.raises(ValueError, match="metrics must hold at least one curve"):
        plot_training_curves([1], {})
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, found str"):
        plot_training_curves([1], {"ELBO": [1.0]}, ax="left")


def test_encoder_means_draw_one_group_per_column_at_mu():
    mu = torch.tensor([[-1.0], [-0.9], [0.2], [1.1]])
    column = torch.tensor([0, 0, 1, 3])
    ax = plot_encoder_means(mu, column)
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 3  # columns 0, 1, 3
    np.testing.assert_allclose(np.concatenate([o[:, 0] for o in offsets]), mu[:, 0].numpy())
    # jitter stays within its column's band
    for o, c in zip(offsets, [0, 1, 3], strict=True):
        assert np.all(np.abs(o[:, 1] - c) <= 0.25)


def test_encoder_means_error_messages():
    with pytest.raises(ValueError, match="one latent dimension, found shape"):
        plot_encoder_means(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="one entry per image, found 4 and 3"):
        plot_encoder_means(torch.zeros(4, 1), torch.zeros(3, dtype=torch.long))


def test_latent_map_colours_by_label():
    mu = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    labels = torch.tensor([3, 3, 7])
    ax = plot_latent_map(mu, labels)
    assert len(ax.collections) == 2
    np.testing.assert_allclose(ax.collections[1].get_offsets(), [[2.0, -1.0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3", "7"]


def test_latent_map_error_messages():
    with pytest.raises(ValueError, match="last dimension 2"):
        plot_latent_map(torch.zeros(3, 1), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="one row per image, found 3 and 2"):
        plot_latent_map(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))
