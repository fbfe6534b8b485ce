"""ipywidgets explorers for the lectures, one module per lecture.

Each explorer keeps its update logic in a plain function (numbers in, numbers and a figure
out) that the tests call headless, and builds the widgets only in ``explore_*`` functions.
Updates must feel live: tens of milliseconds.
"""
