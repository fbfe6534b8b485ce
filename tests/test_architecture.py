"""dgmlab's structure: imports run one way, down the floors, with no cycles and none hidden in
functions; each idea (the Gaussian, the quadrature grid, the per-datapoint optimizer) has one
home. The checks read the source with ``ast`` and regular expressions, import nothing, and
each is shown to fail on a small synthetic package (the ``test_checker_*`` tests).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from test_docs import module_map

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dgmlab"


def floors_from_the_docs() -> dict[str, int]:
    """Module or package -> floor, read from docs/architecture.md's module map (the one place
    the floors live; tests/test_docs.py keeps that table in step with the files). A module not
    in it fails the test: a new module must be given its floor there."""
    floors: dict[str, int] = {}
    for path, floor in module_map().items():  # "dgmlab/models/vae.py" -> 3
        room = ".".join(Path(path).with_suffix("").parts[:2])  # "dgmlab.models"
        assert floors.setdefault(room, floor) == floor, f"{room}'s files sit on two floors"
    floors["dgmlab"] = 5  # the package's __init__: re-exports, imported by no module of its own
    return floors


FLOORS = floors_from_the_docs()
# rooms on one floor that stand side by side: none imports another
SIDE_BY_SIDE = [{"dgmlab.evidence", "dgmlab.bounds", "dgmlab.estimators"}]
# optional heavy packages a function may import when it needs them (and only those)
LOCAL_IMPORTS_ALLOWED = {"ipywidgets", "sklearn"}

# one home per idea: a module-level function or class of this name is defined here only
HOMES = {
    "rsample": "dgmlab.gaussian",
    "log_prob": "dgmlab.gaussian",
    "kl": "dgmlab.gaussian",
    "kl_standard": "dgmlab.gaussian",
    "log_normal": "dgmlab.gaussian",
    "kl_normal": "dgmlab.gaussian",
    "kl_standard_normal": "dgmlab.gaussian",
    "log_standard_normal": "dgmlab.gaussian",
    "sample_normal": "dgmlab.gaussian",
    "standard_normal_noise": "dgmlab.gaussian",
    "simpson_grid": "dgmlab.quadrature",
    "Grid": "dgmlab.quadrature",
    "grid_posterior": "dgmlab.quadrature",
    "grids_covering": "dgmlab.quadrature",
    "grid_covering": "dgmlab.quadrature",
    "best_gaussian": "dgmlab.variational",
    "refine_gaussian": "dgmlab.variational",
    "ascend": "dgmlab.variational",
}
# source patterns that are an idea's own mathematics, allowed only in its home
HOME_PATTERNS = {
    "dgmlab.gaussian": [  # a hand-written Gaussian log-density or density
        r"\bLOG_2PI\b",
        r"log\(\s*2(\.0)?\s*\*\s*(math\.|torch\.|np\.)?pi\b",
        r"sqrt\(\s*2(\.0)?\s*\*\s*(math\.|torch\.|np\.)?pi\b",
        # ((z - mu) / sigma)**2
        r"\(\s*\(?\s*\w+\s*-\s*\w+\s*\)?\s*/\s*\w*sigma\w*\s*\)\s*\*\*\s*2",
        r"\*\*\s*2\s*/\s*\(\s*2(\.0)?\s*\*\s*\w*sigma",  # (z - mu)**2 / (2 sigma**2)
        r"Normal\([^()]*\)\.log_prob\b",
    ],
    "dgmlab.quadrature": [  # Simpson's weights
        r"\[\s*1::2\s*\]\s*=\s*4",
        r"/\s*3(\.0)?\s*\)?\s*\*\s*\(?\s*1\s*,\s*4",
        r"\bh\s*/\s*3\b",
    ],
    "dgmlab.variational": [  # an optimizer over a per-datapoint (mu, sigma)
        r"optim\.\w+\(\s*\[\s*mu\b",
    ],
}


def module_sources(package: Path = PACKAGE) -> dict[str, str]:
    """{'dgmlab.x.y': source} for every .py file of the package."""
    sources = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        sources[".".join(parts)] = path.read_text()
    return sources


def _is_package(module: str, sources: dict[str, str]) -> bool:
    return any(other.startswith(module + ".") for other in sources)


def imports(module: str, source: str, sources: dict[str, str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function or class?) for each import in ``source``.

    ``from dgmlab import checks`` imports the module dgmlab.checks; ``from dgmlab.models import
    VAE`` imports dgmlab.models (its __init__); relative imports are resolved.
    """
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    top_level |= {  # imports under a module-level if / try are still at the top
        id(child)
        for node in tree.body
        if isinstance(node, (ast.If, ast.Try))
        for child in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        local = id(node) not in top_level
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, local) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if _is_package(module, sources) else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in sources else base
                found.append((target, node.lineno, local))
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """module -> the package's modules it imports (anywhere in its source)."""
    return {
        module: {t for t, _, _ in imports(module, source, sources) if t in sources}
        for module, source in sources.items()
    }


def floor_of(module: str, floors: dict[str, int]) -> int | None:
    """The floor of the longest entry of ``floors`` that is module or a package above it."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in floors:
            return floors[key]
    return None


def room_of(module: str, floors: dict[str, int]) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in floors:
            return ".".join(parts[:n])
    return module


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by depth-first search, each as [a, b, ..., a]."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def layering_violations(
    graph: dict[str, set[str]],
    floors: dict[str, int] = FLOORS,
    side_by_side: list[set[str]] = SIDE_BY_SIDE,
) -> list[str]:
    """Imports that go up a floor or across side-by-side rooms; modules without a floor."""
    problems = []
    for module, targets in sorted(graph.items()):
        here = floor_of(module, floors)
        if here is None:
            problems.append(f"{module} has no floor in FLOORS")
            continue
        for target in sorted(targets):
            there = floor_of(target, floors)
            if there is None:
                problems.append(f"{target} has no floor in FLOORS")
            elif there > here:
                problems.append(f"{module} (floor {here}) imports {target} (floor {there})")
            a, b = room_of(module, floors), room_of(target, floors)
            if a != b and any(a in group and b in group for group in side_by_side):
                problems.append(f"{module} imports {target}: they stand side by side")
    return problems


def local_import_violations(
    sources: dict[str, str], allowed: set[str] = LOCAL_IMPORTS_ALLOWED
) -> list[str]:
    """Imports inside a function or class, other than of the allowed optional packages."""
    problems = []
    for module, source in sorted(sources.items()):
        for target, line, local in imports(module, source, sources):
            if local and target.split(".")[0] not in allowed:
                problems.append(f"{module}:{line} imports {target} inside a function or class")
    return problems


def misplaced_ideas(
    sources: dict[str, str],
    homes: dict[str, str] = HOMES,
    patterns: dict[str, list[str]] = HOME_PATTERNS,
) -> list[str]:
    """Module-level definitions of a homed name, or an idea's mathematics, outside its home."""
    problems = []
    for module, source in sorted(sources.items()):
        for node in ast.parse(source).body:  # module level: a method may share a name
            is_def = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            if is_def and node.name in homes and homes[node.name] != module:
                home = homes[node.name]
                problems.append(f"{module}:{node.lineno} defines {node.name} (home: {home})")
        for home, regexes in patterns.items():
            if module == home:
                continue
            for number, line in enumerate(source.splitlines(), 1):
                code = line.split("#", 1)[0]  # comments may say the equation
                for regex in regexes:
                    if re.search(regex, code):
                        problems.append(f"{module}:{number} belongs in {home}: {line.strip()}")
    return problems


# ---- dgmlab itself ----

SOURCES = module_sources()


def test_the_floor_table_knows_the_real_modules():
    assert "dgmlab.gaussian" in SOURCES and "dgmlab.models.vae" in SOURCES
    assert floor_of("dgmlab.models.vae", FLOORS) == 3
    assert floor_of("dgmlab.widgets._view", FLOORS) == 4


def test_dgmlab_has_no_import_cycle():
    assert cycles(import_graph(SOURCES)) == []


def test_dgmlab_imports_only_down_the_floors():
    assert layering_violations(import_graph(SOURCES)) == []


def test_dgmlab_has_no_function_local_import():
    assert local_import_violations(SOURCES) == []


def test_each_idea_lives_in_its_one_home():
    assert misplaced_ideas(SOURCES) == []


# ---- each check can fail ----


def _package(**modules: str) -> dict[str, str]:
    return {f"pkg.{name}" if name != "pkg" else "pkg": src for name, src in modules.items()}


def test_checker_finds_a_cycle():
    sources = _package(a="from pkg import b\n", b="import pkg.c\n", c="from pkg.a import f\n")
    assert cycles(import_graph(sources)) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    assert cycles(import_graph(_package(a="from pkg import b\n", b="x = 1\n"))) == []


def test_checker_finds_an_upward_import_a_sideways_one_and_a_module_without_a_floor():
    floors = {"pkg.low": 0, "pkg.high": 1, "pkg.left": 1, "pkg.right": 1}
    sources = _package(
        low="from pkg.high import thing\n",
        high="from pkg import low\n",
        left="from pkg import right\n",
        right="",
        stray="",
    )
    problems = layering_violations(import_graph(sources), floors, [{"pkg.left", "pkg.right"}])
    assert problems == [
        "pkg.left imports pkg.right: they stand side by side",
        "pkg.low (floor 0) imports pkg.high (floor 1)",
        "pkg.stray has no floor in FLOORS",
    ]


def test_checker_finds_a_function_local_import_but_allows_an_optional_package():
    sources = _package(
        a="def f():\n    from pkg import b\n    import ipywidgets\n    return b\n",
        b="class C:\n    import json\n",
        c="try:\n    import numpy\nexcept ImportError:\n    numpy = None\n",
    )
    assert local_import_violations(sources) == [
        "pkg.a:2 imports pkg.b inside a function or class",
        "pkg.b:2 imports json inside a function or class",
    ]


def test_checker_finds_a_hand_written_gaussian_simpson_weights_and_an_optimizer():
    homes = {"simpson_grid": "pkg.quadrature"}
    patterns = {key.replace("dgmlab", "pkg"): value for key, value in HOME_PATTERNS.items()}
    sources = _package(
        gaussian="LOG_2PI = 1.8\nq = -0.5 * LOG_2PI - 0.5 * ((z - mu) / sigma) ** 2\n",
        quadrature="def simpson_grid():\n    w[1::2] = 4.0\n",
        evidence="log_q = -0.5 * LOG_2PI - torch.log(sigma)\n",
        widget="q = torch.exp(-0.5 * ((z - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))\n",
        grid="def simpson_grid(n):\n    w[1::2] = 4.0\n",
        fit="opt = torch.optim.Adam([mu, log_sigma], lr=lr)\n",
        fine="# log N = -0.5 log(2 pi) - 0.5 ((z - mu) / sigma)^2, in a comment\n",
    )
    problems = misplaced_ideas(sources, homes, patterns)
    assert [p.split(" belongs")[0].split(" defines")[0] for p in problems] == [
        "pkg.evidence:1",
        "pkg.fit:1",
        "pkg.grid:1",
        "pkg.grid:2",
        "pkg.widget:1",
        "pkg.widget:1",
    ]
