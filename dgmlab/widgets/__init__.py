"""ipywidgets explorers for the lectures, one module per lecture.

``bar_manifold`` (lecture 01: several models' pixel probabilities as z moves),
``evidence_curve`` (02), ``jensen`` (03), ``elbo`` (04), ``reparameterization`` (05),
``vae_practical`` (06), ``amortization`` (07: the posterior, q* and the encoder's q),
``importance_weighting`` (08: K importance weights and L_K against log p(x)),
``maximum_likelihood`` (09: EM's iterations stepped), ``autoregressive`` (10: a sample drawn
pixel by pixel, in either ordering), ``flows`` (11: a monotone map reshapes a Gaussian; its
log-det term), ``density_ratio`` (12: a classifier's estimate of log p/q against the truth),
``diffusion`` (13: the forward process noises two moons into a Gaussian),
``landscape`` (14: the families that meet a reader's requirements).

Every explorer is an ``explorer.Explorer``: named controls, an update function (the controls'
values in, the plot's artists moved, numbers out) and a view. A lecture module holds the
mathematics (plain functions the tests call headless) and a small plot class that makes its
artists once and moves them in ``update``; its ``explore_*`` function is the controls and the
layout. Updates must feel live: tens of milliseconds, rendering included. An explorer shows
its figure as a PNG in an ``ipywidgets.Image`` through ``_view.FigureView`` (layout computed
once, only what moved redrawn, text and PNG encoding kept cheap), never through
``display(fig)``, whose inline re-render costs 80-400 ms a move; on a matplotlib that renderer
is not tested with it falls back to ``_view.PlainView``. benchmarks/widgets.py times every
control.
"""
