"""dgmlab: the small PyTorch library behind the dgm-course.

Modules by concept: ``device``, ``checks``, ``data``, ``densities``, ``evidence``, ``models``.
"""

from dgmlab import checks, data, densities, evidence, models
from dgmlab.checks import set_validation
from dgmlab.device import get_device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "checks",
    "data",
    "densities",
    "evidence",
    "get_device",
    "models",
    "seed_everything",
    "set_validation",
]
