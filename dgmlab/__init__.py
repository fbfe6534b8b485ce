"""dgmlab: the small PyTorch library behind the dgm-course.

One module per idea, on floors; a module imports only from its own floor or below
(docs/architecture.md holds the table, tests/test_architecture.py checks it):

    0  device, checks
    1  gaussian, quadrature, densities, data
    2  evidence, bounds, estimators          (side by side: none imports another)
    3  models, variational, testing (the exercises' checks)
    4  train, recipes, plots, widgets
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
