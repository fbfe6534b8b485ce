"""What a benchmark's numbers depend on: the course's source files it imports, as one digest.

A benchmark item records ``source_digest(its module)`` beside its numbers. When a lecture reads
the record (lecture 14's closing table), a test recomputes the digest: if the item or any
``dgmlab`` / ``benchmarks`` module it imports, directly or through others, has changed in a way
that can change a number, the record is stale and the test names the command that rewrites it.

Docstrings and comments do not count (the digest is taken over each file's syntax tree with
its docstrings removed), so rewording a docstring does not ask for an hour of benchmarks;
``benchmarks.common`` and ``benchmarks.run`` (how results are printed and stored) do not count
either.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from course_tools import ROOT

PACKAGES = ("dgmlab", "benchmarks")
NOT_COUNTED = {"benchmarks.common", "benchmarks.run", "benchmarks.sources"}


def module_path(name: str) -> Path | None:
    """The file of a module of the course (``pkg/mod.py`` or ``pkg/__init__.py``), or None."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imported(name: str, path: Path) -> set[str]:
    """The course modules one file imports; ``from pkg import X`` with X defined by pkg's
    ``__init__`` re-export resolves to the module X comes from, not to the whole package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(name, path).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                found.add(_resolve(base, alias.name))
    return {m for m in found if m.split(".")[0] in PACKAGES and module_path(m) is not None}


def _resolve(base: str, name: str) -> str:
    """``from base import name``: the module name refers to."""
    if module_path(f"{base}.{name}") is not None:
        return f"{base}.{name}"
    init = module_path(base)
    if init is not None and init.name == "__init__.py":  # a re-export: follow it
        for node in ast.walk(ast.parse(init.read_text())):
            if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
                return _resolve(node.module or base, name) if node.module else base
    return base


def source_modules(name: str) -> list[str]:
    """``name`` and every course module it imports, transitively, sorted."""
    if module_path(name) is None:
        raise ValueError(f"module must be a module of the course, found {name!r}")
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_imported(current, module_path(current)) - seen)
    return sorted(seen - NOT_COUNTED)


def _code_only(path: Path) -> str:
    """The file's syntax tree without docstrings, as text: what running it depends on."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def source_digest(name: str) -> str:
    """A digest of the code of ``name`` and of every course module it imports (16 hex digits)."""
    h = hashlib.sha256()
    for module in source_modules(name):
        h.update(module.encode() + b"\0" + _code_only(module_path(module)).encode() + b"\0")
    return h.hexdigest()[:16]
