"""Lecture 01's z explorer, headless: the checks and timing that used to sit in the lecture.

Lecture 01 builds its explorer in the notebook (a figure of three panels, ``show_models_at`` to
redraw it, ``on_change`` to answer the slider); it is not a ``dgmlab.widgets`` module, so
neither tests/test_widgets_*.py nor benchmarks/widgets.py (which discovers ``explore_*`` there)
reaches it. This test runs the lecture's code cells in this process (matplotlib's Agg backend,
no kernel, no browser), then moves the slider as a student would, by calling ``on_change``, and
checks what each panel shows against the models themselves.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time

import matplotlib
import nbformat
import pytest
import torch
from course import LECTURES

LECTURE = LECTURES / "01_bar_manifold.ipynb"
MAX_UPDATE_MS = 1000  # the dgmlab explorers' target is 50 ms (benchmarks/widgets.py); this
# bound only catches a pathological update (a full re-layout and redraw at every move is ~300)


@pytest.fixture(scope="module")
def lecture():
    """The namespace of lecture 01 after all its code cells ran, as after Run All."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(LECTURE, as_version=4)
    namespace: dict = {"__name__": "__lecture__"}
    cwd = os.getcwd()
    os.chdir(LECTURE.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{LECTURE.name}:{cell.get('id')}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    yield namespace
    with contextlib.suppress(Exception):
        plt.close("all")


def _panel(ns, k: int) -> torch.Tensor:
    """(D,) the pixel probabilities panel k of the explorer shows now."""
    return torch.as_tensor(ns["tiles"][k].get_array()).flatten().float()


def test_the_explorer_is_what_the_lecture_shows(lecture):
    nb = nbformat.read(LECTURE, as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "widgets.VBox([z_slider, picture])" in last.source
    assert lecture["z_slider"].value == 0.0 and bytes(lecture["picture"].value[:4]) == b"\x89PNG"


@pytest.mark.parametrize("z_value, column", [(-1.0, 0), (-0.3, 1), (0.3, 2), (1.0, 3)])
def test_each_panel_shows_its_model_at_the_slider_value(lecture, z_value, column):
    ns = lecture
    ns["on_change"]({"new": z_value})  # what moving the slider to z_value does
    data, device = ns["data"], ns["device"]
    # the rule: the bar in column c(z) = #{k : t_k < z}, no noise
    assert torch.equal(_panel(ns, 0), data.templates()[column].float())
    z = torch.tensor([[z_value]], device=device)
    with torch.no_grad():
        for k, net in ((1, ns["hand_set"]), (2, ns["decoder"])):
            expected = torch.sigmoid(net(z))[0].float().cpu()  # (D,)
            assert torch.allclose(_panel(ns, k), expected), f"panel {k} at z = {z_value}"
    # the hand-set decoder draws the rule's column (probability 0.95 inside the bar)
    assert torch.equal((_panel(ns, 1) > 0.5).float(), data.templates()[column].float())
    assert f"{z_value:+.2f}" in ns["explorer"]._suptitle.get_text()


def test_the_picture_follows_the_slider_and_updates_quickly(lecture, record_property):
    ns = lecture
    pictures, times = [], []
    for z_value in (-1.0, 0.0, 0.3, 1.2, -2.0):
        start = time.perf_counter()
        ns["on_change"]({"new": z_value})
        times.append(1000 * (time.perf_counter() - start))
        pictures.append(bytes(ns["picture"].value))
    assert all(p[:4] == b"\x89PNG" for p in pictures)
    assert len(set(pictures)) == len(pictures), "the picture did not change with z"
    median_ms = statistics.median(times)
    record_property("update_ms", round(median_ms, 1))
    assert median_ms < MAX_UPDATE_MS, f"one update took {median_ms:.0f} ms (median of 5)"
