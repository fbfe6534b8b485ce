"""ipywidgets explorers for the lectures, one module per lecture.

Each explorer keeps its update logic in a plain function (numbers in, numbers and a figure
out) that the tests call headless, and builds the widgets only in ``explore_*`` functions.
Updates must feel live: tens of milliseconds, rendering included. An explorer shows its figure
as a PNG in an ``ipywidgets.Image`` through ``_view.FigureView`` (layout computed once, only
what moved redrawn, text and PNG encoding kept cheap), never through ``display(fig)``, whose
inline re-render costs 80-400 ms a move; benchmarks/widgets.py times every control.
"""
