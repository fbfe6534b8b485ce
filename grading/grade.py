"""Grade a whole class from this folder: ``python grade.py ASSIGNMENT [...]``.

The same command as ``python -m dgmgrade`` (see ``dgmgrade/cli.py`` and INSTRUCTORS.md), with
this folder as the course folder wherever it is run from.
"""

from pathlib import Path

from dgmgrade.cli import main

if __name__ == "__main__":
    raise SystemExit(main(course=Path(__file__).resolve().parent))
