"""Shared pytest configuration. Generic settings only: fixtures for one module live in its tests."""

import os

import torch
from hypothesis import settings

# deadline=None: a torch op's first call can be slow (lazy initialisation); that is not a bug.
# derandomize=True, database=None: the same examples on every run, so CI is deterministic.
settings.register_profile("dgmlab", deadline=None, derandomize=True, database=None, max_examples=50)
# A longer search for local bug hunting: HYPOTHESIS_PROFILE=dgmlab-thorough pytest ...
settings.register_profile(
    "dgmlab-thorough", parent=settings.get_profile("dgmlab"), max_examples=2000
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dgmlab"))

# The suite runs as `pytest -n 2` on 2 cores, with notebook kernels beside the workers: one torch
# thread per process avoids oversubscription, which makes tiny ops ~100x slower. Kernels started
# by the tests get the same through OMP_NUM_THREADS (tests/course.py's environment()).
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


# `pytest -p no:xdist` runs everything in this one process; without the plugin, addopts'
# --dist=loadgroup and the xdist_group markers would be errors (--strict-config, --strict-markers)
def pytest_addoption(parser, pluginmanager):
    if pluginmanager.is_blocked("xdist"):
        parser.addoption("--dist", default="no", help="ignored: pytest-xdist is disabled")


def pytest_configure(config):
    if config.pluginmanager.is_blocked("xdist"):
        config.addinivalue_line("markers", "xdist_group(name): ignored: pytest-xdist is disabled")
