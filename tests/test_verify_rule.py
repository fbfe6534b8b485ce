"""The verification rule (docs/grading-threats.md, "What the verifier re-runs"), both sides.

Fair: correct answers written the ways students write them keep full marks: non-literal
module-level constants, aliases, decorators (functools.lru_cache, torch.no_grad()), a top-level
wrapper, helpers in another answer cell, a callable object where a function is asked for,
torch.distributions instead of the formula, printing, warnings and a progress bar on stderr,
a statement that never finishes or exits at the top of a cell (dropped, and noted).
Tamper-proof: whatever the rule keeps still cannot change what the tests rely on: a kept
assignment whose value patches a helper, a rebinding of the set-up's names, attribute
patches; each fails and, where statements were dropped for changing other objects, is flagged.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from course import GRADING, SOLUTIONS
from dgmgrade import runrecord, verify

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("verify_rule")]

HIDE = [str(SOLUTIONS.parent / ".git"), str(GRADING)]
A01, A04 = "01_bar_manifold", "04_elbo"
WRONG_DRAW_BAR = "def draw_bar(column, size=4):\n    return torch.zeros(size * size)\n"

FAIR_01 = {
    "non-literal constants": {
        "draw_bar": "ONE = 2 / 2\nSHAPE = (4, 4)\n\ndef draw_bar(column, size=4):\n"
        "    image = torch.zeros(size, size)\n    image[:, column] = ONE\n"
        "    return image.reshape(size * size)\n",
    },
    "alias": {
        "log_likelihood": "softplus = torch.nn.functional.softplus\n\n"
        "def log_likelihood(x, logits):\n    return (x * logits - softplus(logits)).sum(-1)\n",
    },
    "decorators": {
        "count_decoder_parameters": "import functools\n\n@functools.lru_cache(maxsize=None)\n"
        "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
        "    return latent_dim * hidden_dim + hidden_dim + hidden_dim * data_dim + data_dim\n",
        "draw_bar": "@torch.no_grad()\ndef draw_bar(column, size=4):\n"
        "    image = torch.zeros(size, size)\n    image[:, column] = 1.0\n"
        "    return image.reshape(size * size)\n",
    },
    "top-level wrapper printing to stderr": {
        "decoder_forward": "import sys\n\ndef decoder_forward(z, W1, b1, W2, b2):\n"
        "    return torch.tanh(z @ W1.T + b1) @ W2.T + b2\n\n"
        "def verbose(f):\n    def wrapped(*args):\n"
        "        print('calling', f.__name__, file=sys.stderr)\n        return f(*args)\n"
        "    return wrapped\n\ndecoder_forward = verbose(decoder_forward)\n",
    },
    "helper in another answer cell": {
        "draw_bar": "def _layer(z, W, b):\n    return z @ W.T + b\n\n"
        "def draw_bar(column, size=4):\n    image = torch.zeros(size, size)\n"
        "    image[:, column] = 1.0\n    return image.reshape(size * size)\n",
        "decoder_forward": "def decoder_forward(z, W1, b1, W2, b2):\n"
        "    return _layer(torch.tanh(_layer(z, W1, b1)), W2, b2)\n",
    },
    "a callable object": {
        "count_decoder_parameters": "class Counter:\n"
        "    def __call__(self, latent_dim, hidden_dim, data_dim):\n"
        "        return (latent_dim + 1) * hidden_dim + (hidden_dim + 1) * data_dim\n\n"
        "count_decoder_parameters = Counter()\n",
    },
    "torch.distributions": {
        "log_likelihood": "from torch.distributions import Bernoulli\n\n"
        "def log_likelihood(x, logits):\n    return Bernoulli(logits=logits).log_prob(x).sum(-1)\n",
    },
    "printing, warnings, a progress bar": {
        "log_likelihood": "import sys, warnings\nfrom tqdm import tqdm\n"
        "for _ in tqdm(range(3), file=sys.stderr):\n    pass\n"
        "warnings.warn('just so you know')\nprint('hello')\n\n"
        "def log_likelihood(x, logits):\n    print('working')\n"
        "    warnings.warn('still working')\n"
        "    return (x * logits - torch.nn.functional.softplus(logits)).sum(-1)\n",
    },
    "an endless loop at the top of a cell": {
        "draw_bar": "while True:\n    pass\n\ndef draw_bar(column, size=4):\n"
        "    image = torch.zeros(size, size)\n    image[:, column] = 1.0\n"
        "    return image.reshape(size * size)\n",
    },
    "sys.exit() at the top of a cell": {
        "decoder_forward": "import sys\nsys.exit()\n\ndef decoder_forward(z, W1, b1, W2, b2):\n"
        "    return torch.tanh(z @ W1.T + b1) @ W2.T + b2\n",
    },
}

TAMPER_01 = {
    # kept (a plain-name assignment) but its value patches the helper: the tamper check fails it
    "kept assignment that patches a helper": {
        "draw_bar": "import dgmlab.testing\n"
        "_ = setattr(dgmlab.testing, 'assert_close', lambda *a, **k: None)\n" + WRONG_DRAW_BAR,
    },
    # rebinding the set-up's names: the tests keep the set-up's
    "rebinding the set-up's helpers": {
        "draw_bar": "assert_close = assert_equal_int = lambda *a, **k: None\n" + WRONG_DRAW_BAR,
    },
    # dropped (an attribute assignment to an imported object) and flagged
    "attribute patch": {
        "draw_bar": "import dgmlab.testing\n"
        "dgmlab.testing.assert_close = lambda *a, **k: None\n" + WRONG_DRAW_BAR,
    },
    "exec of a patch": {
        "draw_bar": "exec('import torch; torch.allclose = lambda *a, **k: True')\n"
        + WRONG_DRAW_BAR,
    },
    # a kept assignment that never finishes: every test that needs the cell's names fails
    "an assignment that never finishes": {
        "draw_bar": "import itertools\nTOTAL = sum(itertools.repeat(1))\n" + WRONG_DRAW_BAR,
    },
}

FAIR_04 = {
    "the issue's HALF": {
        "kl_gaussians": "HALF = 1 / 2\n\ndef kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
        "    return (torch.log(sigma_p / sigma_q)\n"
        "            + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - HALF).sum(-1)\n",
    },
    "the issue's alias of torch.distributions": {
        "kl_gaussians": "kl_divergence = torch.distributions.kl_divergence\n"
        "Normal = torch.distributions.Normal\n\n"
        "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
        "    return kl_divergence(Normal(mu_q, sigma_q), Normal(mu_p, sigma_p)).sum(-1)\n",
    },
}


def _solution(assignment, grade_id):
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", cell.source)


def _submission(tmp_path, assignment, name, answers):
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers.get(meta["grade_id"], _solution(assignment, meta["grade_id"]))
    path = tmp_path / re.sub(r"\W+", "-", name) / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def verified(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setattr(verify, "TEST_TIMEOUT", 6.0)  # the endless cases wait this long
    tmp = tmp_path_factory.mktemp("rule")
    out = {}
    for assignment, cases in ((A01, FAIR_01 | TAMPER_01), (A04, FAIR_04)):
        paths = {k: _submission(tmp, assignment, k, a) for k, a in cases.items()}
        source = SOLUTIONS / assignment / f"{assignment}.ipynb"
        found, _tests = verify.verify_many(source, paths, seeds=["3"], hide=HIDE, timeout=6.0)
        out.update(found)
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.parametrize("case", list(FAIR_01) + list(FAIR_04))
def test_an_honest_variation_keeps_full_marks(verified, case):
    verdicts, notes = verified[case]
    failed = [
        (v.cell, v.ename, v.evalue[:200], v.tampered, v.blocked) for v in verdicts if not v.passed
    ]
    assert not failed, failed
    assert all(n.startswith("NOTE ") for n in notes), f"an honest answer was flagged: {notes}"


@pytest.mark.parametrize(
    "case", ["an endless loop at the top of a cell", "sys.exit() at the top of a cell"]
)
def test_what_the_verifier_drops_is_noted_for_the_record(verified, case):
    _verdicts, notes = verified[case]
    assert any(n.startswith("NOTE ") and "not re-run by the verifier" in n for n in notes), notes


@pytest.mark.parametrize("case", list(TAMPER_01))
def test_tampering_still_fails(verified, case):
    verdicts, _notes = verified[case]
    (v,) = [v for v in verdicts if v.cell == "test_draw_bar"]
    assert not v.passed, f"{case} passed"


@pytest.mark.parametrize("case", ["attribute patch", "exec of a patch"])
def test_dropped_statements_that_change_other_objects_are_flagged(verified, case):
    _verdicts, notes = verified[case]
    assert any("changes another object" in n and not n.startswith("NOTE ") for n in notes), notes


def test_a_kept_patch_is_reported_as_tampering(verified):
    verdicts, _notes = verified["kept assignment that patches a helper"]
    assert any(v.tampered for v in verdicts), [(v.cell, v.ename, v.tampered) for v in verdicts]


def test_an_assignment_that_never_finishes_costs_the_tests_that_need_it(verified):
    verdicts, _notes = verified["an assignment that never finishes"]
    assert all(not v.passed and v.ename == "Timeout" for v in verdicts), verdicts


# ---------------------------------------------------------------- issue 12 item 5


def _autograded(tmp_path, outputs, record):
    nb = nbformat.read(SOLUTIONS / A01 / f"{A01}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_draw_bar":
            cell.outputs = outputs
            if record is not None:
                cell.metadata[runrecord.RUN_KEY] = record
    path = tmp_path / f"{A01}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    ("outputs", "record", "expected"),
    [
        ([], None, None),  # no outputs, no record of a run: did not run, never "passed"
        ([], {"state": "not run"}, None),
        ([], {"state": "raised", "why": "AssertionError"}, False),  # the error output was lost
        ([], {"state": "finished"}, True),
        ([], {"state": "killed"}, False),
    ],
)
def test_a_cell_without_outputs_is_not_read_as_passed(tmp_path, outputs, record, expected):
    found = runrecord.kernel_verdicts(_autograded(tmp_path, outputs, record))
    assert found["test_draw_bar"] is expected
