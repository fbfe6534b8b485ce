"""The benchmark suite's command line: run the items, print a table, write the results.

    python -m benchmarks [--mode quick|full] [--only NAME,...] [--device cpu|cuda]
                         [--threads N] [--class-size N] [--update] [--out DIR]

Writes ``DIR/<mode>.json`` (everything), ``DIR/<mode>.md`` (a summary with the machine,
date and commit) and the scaling plot ``DIR/<mode>_scaling.png``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

import torch

from benchmarks.common import Config, Result, machine
from benchmarks.sources import source_digest

ITEMS = {
    "notebooks": "benchmarks.notebooks",
    "training": "benchmarks.training",
    "quality": "benchmarks.quality",
    "scaling": "benchmarks.scaling",
    "grading": "benchmarks.grading",
    "widgets": "benchmarks.widgets",
    "gpu": "benchmarks.gpu",
    "compile": "benchmarks.compiled",
    "amortization": "benchmarks.amortization",
    "maximum_likelihood": "benchmarks.maximum_likelihood",
    "importance_weighting": "benchmarks.importance_weighting",
    "autoregressive": "benchmarks.autoregressive",
    "flows": "benchmarks.flows",
    "gans": "benchmarks.gans",
    "diffusion": "benchmarks.diffusion",
}
# named groups of items for --only: "landscape" is every model of lecture 14's closing table,
# which must come from one run (tests/test_landscape.py checks the record)
GROUPS = {
    "landscape": [
        "quality",
        "importance_weighting",
        "maximum_likelihood",
        "autoregressive",
        "flows",
        "gans",
        "diffusion",
    ],
}
SCHEMA = 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--mode",
        choices=["quick", "full"],
        default="quick",
        help="quick: seconds, checks the machinery (CI); full: the record",
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated items to run (default all): {', '.join(ITEMS)}; or a group: "
        + "; ".join(f"{g} = {','.join(items)}" for g, items in GROUPS.items()),
    )
    parser.add_argument(
        "--device", default="cpu", help="device for the in-process benchmarks (cpu, cuda, cuda:N)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads for the in-process benchmarks (default 1)",
    )
    parser.add_argument(
        "--class-size",
        type=int,
        default=30,
        help="students in the grading benchmark's class run (full mode; default 30; fewer are "
        "extrapolated to 30)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the other benchmarks already in DIR/<mode>.json (rerun only --only's)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the results (default benchmarks/results/)",
    )
    return parser.parse_args(argv)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict]) -> list[str]:
    """A Markdown table from a list of dicts (columns: the union of keys, in first-seen order)."""
    if not rows:
        return []
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**MISSED**", None: "not judged"}[met]


def _provenance(m: dict) -> dict:
    """When, on which commit and at what load one benchmark ran (from ``machine()``)."""
    return {
        "ran_at": m.get("date"),
        "commit": m.get("commit"),
        "dirty": m.get("dirty"),
        "load_average_at_start": m.get("load_average_at_start"),
    }


def _provenance_text(b: dict, m: dict) -> str:
    commit = b.get("commit", m["commit"])
    dirty = " (with uncommitted changes)" if b.get("dirty", m["dirty"]) else ""
    load = b.get("load_average_at_start", m["load_average_at_start"])
    return (
        f"ran at {b.get('ran_at', m['date'])} on commit `{commit}`{dirty}, "
        f"load average at start {load}"
    )


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# dgm-course benchmarks ({report['mode']} mode)",
        "",
        f"- date: {m['date']}; commit `{m['commit']}`"
        + (" (with uncommitted changes)" if m["dirty"] else ""),
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; load average at "
        f"start {m['load_average_at_start']}",
        f"- software: Python {m['python']}, torch {m['torch']} ({m['torch_threads']} thread(s) "
        f"in-process), device `{m['device']}`; GPU: {m['gpu'] or 'none'}",
        f"- command: `{m['command']}`; took {report['seconds']:.0f} s",
        *(
            ["- merged: each section below says when, on which commit and at what load it ran"]
            if "merged" in m["command"]
            else []
        ),
        "",
        "## Targets",
        "",
    ]
    targets = [
        {
            "benchmark": name,
            "what": t["what"],
            "value": None if t["value"] is None else f"{t['value']} {t['unit']}".strip(),
            "target": t["target"],
            "verdict": _verdict(t["met"]),
        }
        for name, b in report["benchmarks"].items()
        for t in b["targets"]
    ]
    lines += table(targets) + [""]
    scale = scale_rows(report)
    if scale:
        lines += [
            "## Every model on one scale",
            "",
            "Bars: expected nats per image above -H(p_data), the best any model can do (exact "
            "where the model allows it). Digits: nats per image on the 447 test images, 17 "
            "levels per pixel; a bound is never below the model's true NLL. Each row comes from "
            "the benchmark named in its last column, in this run unless that section says "
            "otherwise.",
            "",
            *table(scale),
            "",
        ]
    for name, b in report["benchmarks"].items():
        lines += [f"## {b['title']} (`{name}`)", ""]
        if b["skipped"]:
            lines += [f"Skipped: {b['skipped']}", "", f"- {_provenance_text(b, m)}", ""]
            continue
        lines += table(b["rows"]) + [""]
        for heading, rows in b["tables"].items():
            lines += [f"### {heading}", ""] + table(rows) + [""]
        lines += [f"- {note}" for note in b["notes"]]
        lines += [f"- figure: `{fig}`" for fig in b["figures"]]
        lines += [f"- took {b['seconds']:.0f} s; {_provenance_text(b, m)}", ""]
    return "\n".join(lines)


def scale_rows(report: dict, samples: bool = False) -> list[dict]:
    """Every benchmark's models on the one scale, best digits number first (without their
    sample images unless ``samples``: a table shows the numbers, lecture 14 the images)."""
    rows = [
        row if samples else {k: v for k, v in row.items() if k != "samples"}
        for b in report["benchmarks"].values()
        for row in b.get("scale", [])
    ]
    return sorted(rows, key=lambda r: (r["digits: test nats"] is None, r["digits: test nats"] or 0))


def print_summary(report: dict, flush: bool = False) -> None:
    """Print each benchmark's tables and verdicts (as each finishes, and at the end)."""
    for name, b in report["benchmarks"].items():
        print(f"\n== {name}: {b['title']} ({b['seconds']:.0f} s)")
        if b["skipped"]:
            print(f"   skipped: {b['skipped']}")
            continue
        for line in table(b["rows"]) + [
            line for rows in b["tables"].values() for line in ["", *table(rows)]
        ]:
            print("  " + line)
        for t in b["targets"]:
            value = "" if t["value"] is None else f"{t['value']} {t['unit']}".strip()
            print(
                f"   [{_verdict(t['met']).strip('*')}] {t['what']}: {value} (target {t['target']})"
            )
    if scale_rows(report):
        print("\n== every model on one scale")
        for line in table(scale_rows(report)):
            print("  " + line)
    if flush:
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    asked = [n.strip() for n in args.only.split(",") if n.strip()] or list(ITEMS)
    names = list(dict.fromkeys(item for n in asked for item in GROUPS.get(n, [n])))
    unknown = [n for n in names if n not in ITEMS]
    if unknown:
        print(
            f"--only: unknown item(s) {unknown}; choose from {list(ITEMS)} or a group "
            f"{list(GROUPS)}",
            file=sys.stderr,
        )
        return 2
    if args.threads < 1:
        print(f"--threads must be >= 1, found {args.threads}", file=sys.stderr)
        return 2
    device = torch.device(args.device)  # raises on a malformed name
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            f"--device {args.device}: torch finds no CUDA device on this machine", file=sys.stderr
        )
        return 2
    out = args.out or Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.class_size < 2:
        print(f"--class-size must be >= 2, found {args.class_size}", file=sys.stderr)
        return 2
    config = Config(
        mode=args.mode,
        device=str(device),
        threads=args.threads,
        class_size=args.class_size,
        out=out,
    )
    start = time.perf_counter()
    run_id = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    report = {"schema": SCHEMA, "mode": args.mode, "machine": machine(config), "benchmarks": {}}
    failed = False
    for name in names:
        t0 = time.perf_counter()
        started = machine(config)  # the commit and the load this item ran on
        print(f"running {name} ...", flush=True)
        try:
            result = importlib.import_module(ITEMS[name]).run(config)
        except Exception:  # noqa: BLE001 - one broken item must not lose the others' results
            failed = True
            result = Result(name, name, skipped="error: " + traceback.format_exc(limit=3)[-600:])
        result.seconds = time.perf_counter() - t0
        report["benchmarks"][name] = {
            **result.to_json(),
            **_provenance(started),
            "run_id": run_id,  # the items of one command share it
            "source_digest": source_digest(ITEMS[name]),  # the code its numbers came from
        }
        print_summary({"benchmarks": {name: report["benchmarks"][name]}}, flush=True)
    report["seconds"] = time.perf_counter() - start
    previous = out / f"{args.mode}.json"
    if args.update and previous.exists():  # read now, not at the start: another run may write
        earlier = json.loads(previous.read_text())
        kept = earlier.get("benchmarks", {})
        for section in kept.values():  # written before sections carried their provenance
            for key, value in _provenance(earlier.get("machine", {})).items():
                section.setdefault(key, value)
        report["benchmarks"] = {**kept, **report["benchmarks"]}
        report["machine"]["command"] += " (merged with earlier results)"
    (out / f"{args.mode}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{args.mode}.md").write_text(markdown(report) + "\n")
    print("\n==== summary ====")
    print_summary(report)
    print(f"\nwrote {out / (args.mode + '.json')} and {out / (args.mode + '.md')}")
    return 1 if failed else 0
