"""The wrong-answer catalogue: one module per assignment, named aNN_slug.py, each defining
ASSIGNMENT, WRONG = {function: [(wrong source, hint the failure message must contain)]} and
VALID = {function: [valid alternative source]}. Every graded function needs entries in both."""

import importlib
import pkgutil

WRONG, VALID = {}, {}
for _module in pkgutil.iter_modules(__path__):
    _catalogue = importlib.import_module(f"{__name__}.{_module.name}")
    WRONG[_catalogue.ASSIGNMENT] = _catalogue.WRONG
    VALID[_catalogue.ASSIGNMENT] = _catalogue.VALID

# (assignment, function, index) of every case, for pytest.mark.parametrize
WRONG_CASES = [(a, f, i) for a, fs in WRONG.items() for f, cs in fs.items() for i in range(len(cs))]
VALID_CASES = [(a, f, i) for a, fs in VALID.items() for f, cs in fs.items() for i in range(len(cs))]
