"""The benchmark suite runs in its quick mode and writes well-formed results.

No timing is asserted anywhere: the numbers depend on the machine. What is checked is that
every benchmark runs, reports rows and targets of the right shape, and that the helpers
measure side by side (interleaved, order rotated) and render what they are given.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dgmlab.widgets  # noqa: E402
from benchmarks import common, notebooks, run  # noqa: E402

FAST_ITEMS = ",".join(
    ["training", "quality", "scaling", "widgets", "gpu", "compile"]
    + ["amortization", "importance_weighting", "maximum_likelihood"]  # lectures 07-09
    + ["autoregressive", "flows", "gans"]  # lectures 10-12
    + ["diffusion"]  # lecture 13
)


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--mode", "quick", "--out", str(tmp_path), *args],
        cwd=ROOT,
        env=common.course_environment(MPLBACKEND="Agg"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def _check_report(report: dict, items: list[str]) -> None:
    assert report["schema"] == run.SCHEMA and report["mode"] == "quick"
    for key in ("date", "commit", "cpu", "cores", "torch", "torch_threads", "cuda_available"):
        assert key in report["machine"], key
    assert list(report["benchmarks"]) == items
    for name, bench in report["benchmarks"].items():
        skipped = bench["skipped"]
        assert not (skipped or "").startswith("error"), f"{name} crashed: {skipped}"
        if skipped:
            continue
        assert bench["rows"], f"{name}: no rows"
        assert bench["targets"], f"{name}: no targets"
        assert bench["commit"] == report["machine"]["commit"] and bench["ran_at"], name
        for target in bench["targets"]:
            assert set(target) == {"what", "value", "target", "met", "unit"}
            assert target["met"] in (True, False, None)
            assert target["value"] is None or isinstance(target["value"], (int, float))


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = _bench(out, "--only", FAST_ITEMS)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out, done.stdout


def test_quick_mode_writes_json_markdown_and_plot(fast_report):
    out, stdout = fast_report
    report = json.loads((out / "quick.json").read_text())
    _check_report(report, FAST_ITEMS.split(","))
    summary = (out / "quick.md").read_text()
    assert "## Targets" in summary and report["machine"]["commit"] in summary
    assert (out / "quick_scaling.png").stat().st_size > 10_000
    assert "wrote" in stdout and ("[met]" in stdout or "[MISSED]" in stdout)


def test_quick_mode_results_are_sane(fast_report):
    """Catches a training comparison that is not like for like, or a broken quality metric."""
    out, _ = fast_report
    benches = json.loads((out / "quick.json").read_text())["benchmarks"]
    for row in benches["training"]["rows"]:
        assert row["same_steps_as_hand"], "fit and the hand loop took different steps"
        assert row["fit/hand"] > 0 and row["fit/dataloader"] > 0
    for row in benches["quality"]["rows"]:  # bars: E log p(x) can never beat -H(p_data)
        assert row["gap_nats"] >= -1e-4
    for row in benches["quality"]["tables"]["digits"]:
        iw = next(v for k, v in row.items() if k.startswith("test IW NLL"))
        assert 0 < iw <= row["uniform"] + 50
    sizes = [r for r in benches["scaling"]["rows"] if r["ms"] is not None]
    assert all(r["ms"] > 0 for r in sizes)
    variants = {r["variant"]: r for r in benches["compile"]["rows"]}
    assert {"eager", "eager, checks off", "compile default, checks off"} <= set(variants)
    for row in variants.values():  # every variant trained: a finite loss, a time per step
        assert row["ms_per_step"] > 0 and 0 < row["final_loss"] < 100
    assert variants["compile default, checks off"]["compile_s"] > 0
    gpu = benches["gpu"]
    assert (gpu["skipped"] is None) == torch.cuda.is_available()
    # every lecture's explorer is timed: none skipped for want of a fixture
    timed = {row["explorer"].split(".")[1] for row in benches["widgets"]["rows"]}
    explorers = {
        name
        for module in pkgutil.iter_modules(dgmlab.widgets.__path__)
        for name in dir(importlib.import_module(f"dgmlab.widgets.{module.name}"))
        if name.startswith("explore_")
    }
    assert explorers - timed == set(), benches["widgets"]["notes"]
    gan_bars = benches["gans"]["tables"][
        "bars: the bar GAN's exact distribution over all 2^16 images"
    ]
    for row in gan_bars:  # exact divergences of a distribution that sums to 1
        assert row["KL(p_data||p_G)"] >= 0 and row["KL(p_G||p_data)"] >= 0
        assert 0 <= row["TV"] <= 1 and 0 <= row["JS"] <= math.log(2) + 1e-3
        assert abs(sum(row["mass per column"]) - 1) < 0.01


def test_every_model_lands_on_one_scale(fast_report):
    """The models of lectures 06-13 each put a row on the one scale: bars never better than
    -H(p_data) (a negative gap is a broken metric), digits between 0 and uniform noise."""
    out, stdout = fast_report
    report = json.loads((out / "quick.json").read_text())
    rows = run.scale_rows(report)
    on_it = {r["benchmark"] for r in rows}
    assert {"quality", "importance_weighting", "maximum_likelihood"} <= on_it
    assert {"autoregressive", "flows", "gans", "diffusion"} <= on_it
    gans = [r for r in rows if r["benchmark"] == "gans"]  # a GAN has no likelihood: no nats
    assert all(r["log-likelihood"] == "none" and r["bars: nats above -H"] is None for r in gans)
    assert any(r["bars: nats above -H"] is not None for r in rows)
    for r in rows:
        assert r["bars: nats above -H"] is None or r["bars: nats above -H"] >= -1e-4, r
        assert r["digits: test nats"] is None or 0 < r["digits: test nats"] < 64 * math.log(17), r
    digits = [r["digits: test nats"] for r in rows if r["digits: test nats"] is not None]
    assert digits == sorted(digits), "the table is not ordered best first"
    # what lecture 14 sets side by side: every model (not a baseline) has its size, its
    # sampling time and 16 images of each data set it is measured on, in that data's range
    with_samples = run.scale_rows(report, samples=True)
    for r in with_samples:
        if r["family"] == "baseline":
            continue
        assert r["params"] > 0 and r["sample_s (100 images)"] > 0, r["model"]
        for name, levels in (("bars", 2), ("digits", 17)):
            column = "bars: nats above -H" if name == "bars" else "digits: test nats"
            if r[column] is None and name not in r["samples"]:
                continue
            images = torch.tensor(r["samples"][name])  # a number needs images beside it
            assert images.shape == (16, 16 if name == "bars" else 64), (r["model"], name)
            assert 0 <= images.min() and images.max() < levels, (r["model"], name)
            if r["family"] != "GAN":  # a collapsed GAN may draw one image 16 times
                assert images.float().std() > 0, f"{r['model']}: 16 identical {name} images"
    assert {r["family"] for r in with_samples} >= {"VAE", "IWAE", "EM mixture", "autoregressive",
                                                   "flow", "GAN"}  # fmt: skip
    assert all("samples" not in r for r in rows), "the printed table carries the images"
    assert "## Every model on one scale" in (out / "quick.md").read_text()
    assert "== every model on one scale" in stdout


def test_on_scale_rejects_an_unknown_family_and_misshapen_samples():
    """A typo in a family would drop a model from lecture 14's table; images of the wrong
    shape would break its figure: both are refused when the benchmark records them."""
    result = common.Result("x", "x")
    with pytest.raises(ValueError, match="family: expected one of .* found 'flows'"):
        result.on_scale("m", "exact", family="flows", bars=0.1)
    with pytest.raises(ValueError, match=r"samples\['bars'\]: expected shape \(16, D\)"):
        result.on_scale("m", "exact", family="flow", samples={"bars": torch.zeros(15, 16)})
    with pytest.raises(ValueError, match="samples: keys must be"):
        result.on_scale("m", "exact", family="flow", samples={"moons": torch.zeros(16, 2)})
    result.on_scale("m", "exact", family="flow", samples={"bars": torch.ones(16, 16)})
    assert result.scale[0]["samples"]["bars"][0] == [1] * 16


@pytest.mark.notebook
def test_notebook_benchmark_measures_time_and_memory(tmp_path):
    done = _bench(tmp_path, "--only", "notebooks")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "quick.json").read_text())
    _check_report(report, ["notebooks"])
    (row, total) = report["benchmarks"]["notebooks"]["rows"]
    assert row["ok"], row["error"]
    assert row["seconds"] > 0 and total["notebook"] == "TOTAL"
    assert 50 < row["peak_MB"] < 10_000  # a kernel with torch imported holds > 50 MB


@pytest.mark.grading
def test_grading_benchmark_grades_a_solution_with_full_marks(tmp_path):
    done = _bench(tmp_path, "--only", "grading")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "quick.json").read_text())
    _check_report(report, ["grading"])
    assert all(r["full_marks"] for r in report["benchmarks"]["grading"]["rows"])


# --- the helpers ----------------------------------------------------------------------------


def test_interleaved_rotates_the_order_and_pairs_rounds():
    """Catches always running the competitors in one order (a drift would favour one)."""
    calls = []
    times = common.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                               repeats=4, warmup=0)  # fmt: skip
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(v) for v in times.values()] == [4, 4]


def test_ratio_median_is_taken_round_by_round():
    """Catches median(a) / median(b), which mixes rounds with different load."""
    a, b = [1.0, 10.0, 100.0], [1.0, 5.0, 100.0]
    assert common.ratio_median(a, b) == 1.0
    assert common.median(a) / common.median(b) == 2.0


def test_tree_rss_from_proc_counts_children(tmp_path):
    """The /proc fallback sums the memory of the process's descendants, not its own."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this platform")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        import time

        time.sleep(0.5)
        import os

        found = notebooks._tree_rss_proc(os.getpid())
        assert found >= 5e6  # a Python interpreter holds several MB
        assert notebooks._tree_rss_proc(child.pid) == 0  # it has no children
    finally:
        child.kill()
        child.wait()


def test_markdown_renders_rows_targets_and_skips():
    report = {
        "mode": "quick",
        "seconds": 1.0,
        "machine": {
            "date": "d", "commit": "abc1234", "dirty": False, "cpu": "c", "cores": 2,
            "memory_gib": 1, "load_average_at_start": [0, 0, 0], "python": "3", "torch": "2",
            "torch_threads": 1, "device": "cpu", "gpu": None, "command": "python -m benchmarks",
        },
        "benchmarks": {
            "x": common.Result("x", "X", rows=[{"a": 1, "b|c": "y|z"}],
                               targets=[common.Target("w", 2.0, "<= 1", False, "s")]).to_json(),
            "y": common.Result("y", "Y", skipped="nothing to measure").to_json(),
        },
    }  # fmt: skip
    text = run.markdown(report)
    assert "| x | w | 2.0 s | <= 1 | **MISSED** |" in text
    assert "y\\|z" in text  # a pipe inside a cell must not split the table
    assert "Skipped: nothing to measure" in text and "`abc1234`" in text


def test_update_keeps_earlier_sections_with_their_own_commit(tmp_path):
    # a merged record must not credit every section to the commit of the last run
    earlier = {
        "schema": run.SCHEMA, "mode": "quick", "seconds": 1.0,
        "machine": {"date": "2020-01-01 00:00 UTC", "commit": "0ld0ld0", "dirty": False,
                    "load_average_at_start": [9.0, 9.0, 9.0]},
        "benchmarks": {"x": common.Result("x", "X", rows=[{"a": 1}]).to_json()},
    }  # fmt: skip
    (tmp_path / "quick.json").write_text(json.dumps(earlier))
    done = _bench(tmp_path, "--only", "gpu", "--update")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "quick.json").read_text())
    assert list(report["benchmarks"]) == ["x", "gpu"]
    assert report["benchmarks"]["x"]["commit"] == "0ld0ld0"
    assert report["benchmarks"]["gpu"]["commit"] == report["machine"]["commit"] != "0ld0ld0"
    text = (tmp_path / "quick.md").read_text()
    assert "on commit `0ld0ld0`, load average at start [9.0, 9.0, 9.0]" in text
    assert f"on commit `{report['machine']['commit']}`" in text and "- merged:" in text


def test_compile_trainer_restores_the_validation_setting():
    from benchmarks import compiled
    from dgmlab import checks
    from dgmlab.models import VAE

    x = torch.rand(200, 16).round()
    for validate in (False, True):
        trainer = compiled.Trainer(x, lambda: VAE(hidden_dims=(8,)), 100, "cpu", None, validate)
        assert checks.validation_enabled()  # switched for its steps only
        seen = []

        def loss(xb, f=trainer.loss, seen=seen):
            seen.append(checks.validation_enabled())
            return f(xb)

        trainer.loss = loss
        trainer.run(2)
        assert seen == [validate, validate] and checks.validation_enabled()
    assert compiled.modes("cpu") == ["default"]
    assert compiled.modes("cuda") == ["default", "reduce-overhead"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "nonsense"], "unknown item(s) ['nonsense']"),
        (["--threads", "0"], "--threads must be >= 1, found 0"),
        (["--class-size", "1"], "--class-size must be >= 2, found 1"),
    ],
)
def test_command_line_errors(args, message, capsys, tmp_path):
    assert run.main([*args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_cuda_without_a_gpu_is_refused(capsys, tmp_path, monkeypatch):
    """--device cuda on a machine without one fails loudly instead of measuring the CPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run.main(["--device", "cuda", "--out", str(tmp_path)]) == 2
    assert "torch finds no CUDA device" in capsys.readouterr().err
