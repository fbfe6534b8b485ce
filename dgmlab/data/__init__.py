"""Data sets the course can always make offline."""

from dgmlab.data.bars import Bars, bars, bars_entropy
from dgmlab.data.digits import digits, digits_splits
from dgmlab.data.ring import ring_centers, ring_of_gaussians

__all__ = [
    "Bars",
    "bars",
    "bars_entropy",
    "digits",
    "digits_splits",
    "ring_centers",
    "ring_of_gaussians",
]
