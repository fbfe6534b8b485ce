"""The course's book: a static website of the lectures, built offline (``python -m book``).

``book.build`` executes every lecture (through ``course_tools.execute_cached``, so an unchanged
lecture is not run again), turns each explorer's widget into the picture it showed, and builds
the site with Jupyter Book 1 (Sphinx, MyST-NB, the book theme) and a local MathJax. Not part of
``dgmlab`` and not installed: run it from the repository's root.
"""
