"""``python -m dgmgrade ASSIGNMENT ...``: grade a class, from the course folder (grading/)."""

from .cli import main

raise SystemExit(main())
