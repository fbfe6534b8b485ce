"""Data sets the course can always make offline."""

from dgmlab.data.bars import Bars, bars, bars_entropy

__all__ = ["Bars", "bars", "bars_entropy"]
