"""dgm-course benchmarks: speed and quality, measured side by side and recorded.

Run them from the repository's root (see benchmarks/README.md):

    .venv/bin/python -m benchmarks --mode quick   # CI: seconds, checks the machinery
    .venv/bin/python -m benchmarks --mode full    # the record: writes benchmarks/results/
"""
