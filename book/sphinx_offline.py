"""A Sphinx extension of the book's: pages that run without the network.

Jupyter Book 1 always loads sphinx-thebe, which writes thebe's address on unpkg.com into every
page (twice: Sphinx 7.4 emits ``env-before-read-docs`` again for the book's second read, and
the second ``const THEBE_JS_URL`` is a JavaScript error). The book launches no kernel (its
explorers move in JupyterLab), so this takes sphinx-thebe's page hooks off: no thebe script,
no thebe configuration, no CDN address on any page.

It also loads MathJax on every page, not only on those whose body has an equation: the
navigation shows lecture titles with equations ($K$) on every page; and it typesets the search
page's results, which arrive after MathJax ran (static/typeset-search.js).
"""

from __future__ import annotations

from pathlib import Path


def setup(app):
    app.set_html_assets_policy("always")
    app.connect("builder-inited", _static)
    app.add_js_file("typeset-search.js")
    for event in ("env-before-read-docs", "doctree-resolved"):
        for listener in list(app.events.listeners.get(event, [])):
            if listener.handler.__module__ == "sphinx_thebe":
                app.disconnect(listener.id)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _static(app):
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))
