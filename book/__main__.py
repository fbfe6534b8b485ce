"""``python -m book``: build the course's website into build/book/ (see book/build.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from book.build import BuildError, build
from course_tools import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__)
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "build" / "book",
        help="folder for the staged sources and the site (default: build/book; the site lands "
        "in OUTPUT/_build/html/index.html)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder of executed notebooks (default: OUTPUT/executed); an unchanged lecture "
        "is read from it, not run again",
    )
    parser.add_argument(
        "--repository-url",
        default="",
        help="where the repository is browsable (https://host/owner/repo/blob/main): the "
        "solution links point there; without it the pages name the solution's path",
    )
    args = parser.parse_args(argv)
    cache = args.cache or args.output / "executed"
    try:
        site = build(args.output.resolve(), cache.resolve(), repository_url=args.repository_url)
    except BuildError as error:
        print(f"book: {error}", file=sys.stderr)
        return 1
    print(f"book: the site is {site / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
