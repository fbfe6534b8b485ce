"""Numbers the lectures state in words, checked against the numbers their cells print.

A lecture that says "the gap grows to 17.8 nats" while its cell prints 12.3 teaches the wrong
thing. Each ``Claim`` ties a sentence of a markdown cell to the printed output of one code cell:

- ``prose``: a regular expression searched in the notebook's markdown cells (white space made
  single spaces, so line wrapping does not matter); its first group, if it has one, is the
  number the text states;
- ``cell``: the id of the code cell that prints it (its ``id`` in the .ipynb file; the lectures
  name their cells, ``entropy``, ``proposals``, so that moving a cell does not break a claim);
- ``output``: a regular expression searched in that cell's printed text; its first group, if
  it has one, is the number printed.

Where both have a number, the printed one, rounded to as many decimals as the text gives,
must equal the stated one (the text says 17.8 and the cell prints 17.79: agreed). Where the
output pattern has no group it is a printed check (``... agree: True``) the text relies on.

``check_claims(path, executed_nb)`` asserts every claim about the notebook at ``path``;
tests/test_notebooks.py calls it on each notebook it has just executed. This module is not a
test module (no ``test_`` prefix): tests/test_lecture_text.py tests ``check_claims`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Claim:
    notebook: str  # file name, e.g. "lectures/03_jensen.ipynb"
    prose: str  # regex over markdown cells; group 1 (optional): the number stated
    cell: str  # the id of the code cell that prints it (nbformat 4.5 cell ids)
    output: str  # regex over that cell's printed text; group 1 (optional): the number printed
    # how the two numbers must relate: "rounds" (the printed number, rounded to the stated
    # one's decimals, equals it), "below 10^" (the text says "below 10^n", states n, and the
    # printed number is below 10^n), "below" (the printed number is below the stated one) or
    # "within T" (the text says "about x" and the printed number is within T of x: for a number
    # that a trained model prints, whose last digits depend on the machine's floating point)
    relation: str = "rounds"


_NUM = r"(-?\d+(?:\.\d+)?)"  # a plain decimal number, as group 1
_NUM_E = r"(\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # a number that may have an exponent, as group 1

CLAIMS: list[Claim] = [
    # ---- lecture 01
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"Where do the " + _NUM + r" bits go",
        "entropy",
        r"H\(p_data\) += [\d.]+ nats = " + _NUM + " bits",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"H\(p_\{\\text\{data\}\}\) = " + _NUM + r"\$ nats",
        "entropy",
        r"H\(p_data\) += " + _NUM + " nats",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"\(\$" + _NUM + r"\$ bits\) per image",
        "entropy",
        r"H\(p_data\) += [\d.]+ nats = " + _NUM + " bits",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"-16 \\ln 2 = " + _NUM + r"\$",
        "entropy",
        r"uniform model: .* = " + _NUM + " nats",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"t_k = \\Phi\^\{-1\}\(k/4\) \\approx \(" + _NUM,
        "bar_rule",
        r"cuts t_k = \[" + _NUM,
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"each column is drawn a quarter of the time",
        "rule_frequencies",
        r"when z ~ N\(0, 1\): \[0\.25, 0\.25, 0\.25, 0\.25\]",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"The bar appears in each of the four columns about equally often",
        "column_counts",
        r"largest gap between a column's share and 1/4: 0\.0[0-2]\d",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"The average of column \$c\$ is the probability that each pixel is on",
        "column_means",
        r"largest gap to 0\.95 / 0\.05: 0\.0[0-3]\d",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"It is a little less than that sum",
        "entropy_split",
        r"H\(c \| x\) = .* = 0\.00\d+ nats",  # positive and small
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"becomes \$\\log 0 = -\\infty\$",
        "underflow",
        r"log of it = -inf",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"8 \+ 8 \+ 128 \+ 16 = " + _NUM,
        "decoder_count",
        r"count_parameters\(decoder\) = " + _NUM,
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"The network computes exactly the equation",
        "decoder_equation",
        r"the same as the equation: True",
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"gives the exact answer, \$" + _NUM + r"\$",
        "underflow",
        r"log_bernoulli = " + _NUM,
    ),
    Claim(
        "lectures/01_bar_manifold.ipynb",
        r"The two formulas agree",
        "log_bernoulli_check",
        r"agrees with the formula: True, with torch\.distributions: True",
    ),
    # ---- lecture 02
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"error is below\s+\$10\^\{" + _NUM + r"\}\$\s+nats",
        "prior_area",
        r"largest difference: " + _NUM_E + " nats",
        relation="below 10^",
    ),
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"0\.95\^\{16\} = " + _NUM,
        "evidence_per_image",
        r"0\.25 x 0\.95\^16 = " + _NUM,
    ),
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"columns 0 and 3 get \$p\(x\) = " + _NUM,
        "evidence_per_image",
        r"column [03], 0 flipped pixels, p\(x\) = " + _NUM,
    ),
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"columns 1 and 2,[^$]*get \$" + _NUM,
        "evidence_per_image",
        r"column [12], 0 flipped pixels, p\(x\) = " + _NUM,
    ),
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"On the " + _NUM + r" \*training\* images",
        "train",
        _NUM + r" training images, \d+ distinct",
    ),
    Claim(
        "lectures/02_evidence_curve.ipynb",
        r"\\approx " + _NUM + r"\$ nats per image, so the gradient",
        "kl_split",
        r"KL\(uniform \|\| 20/40/20/20\) = " + _NUM + " nats",
    ),
    # ---- lecture 03
    Claim(
        "lectures/03_jensen.ipynb",
        r"a fraction of about " + _NUM + r" of them",
        "plain_runs",
        r"prior samples in the image's column: " + _NUM,
    ),
    Claim(
        "lectures/03_jensen.ipynb",
        _NUM + r" of the 500 runs with \$S = 10\$ drew no sample in column 2",
        "plain_runs",
        r"S = 10: " + _NUM + r" of 500 runs have no sample in column 2",
    ),
    Claim(
        "lectures/03_jensen.ipynb",
        r"their estimates average \$" + _NUM + r"\$",
        "plain_runs",
        r"their log estimates average " + _NUM,
    ),
    Claim(
        "lectures/03_jensen.ipynb",
        r"the gap grows to " + _NUM + r" nats",
        "proposals",
        r"N\(-1, 1\^2\) +: gap KL\(q \|\| p\(z \| x\)\) = +" + _NUM,
    ),
    Claim(
        "lectures/03_jensen.ipynb",
        r"the gap falls to " + _NUM + r" nats",
        "proposals",
        r"N\(0\.33, 0\.15\^2\) +: gap KL\(q \|\| p\(z \| x\)\) = +" + _NUM,
    ),
    Claim(
        "lectures/03_jensen.ipynb",
        r"For the same samples the first is always at least the second",
        "mc_vs_s",
        r"on every one of the same-sample runs: True",
    ),
    # ---- lecture 04
    Claim(
        "lectures/04_elbo.ipynb",
        r"2 \\cdot 32 \+ 2 = " + _NUM + r"\$ numbers",
        "phi_count",
        r"count_parameters\(encoder\) = " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"2 \\cdot 32 \+ 2 = " + _NUM + r"\$ numbers",
        "phi_count",
        r"by hand, H\(D \+ 1\) \+ 2L\(H \+ 1\) = " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"The area it gains there is smaller than the area it loses elsewhere",
        "curves",
        r"gained less than lost: True",
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"so the identity below is a check",
        "identity",
        r"ELBO \+ KL = log p\(x\) for every column: True\nevery KL >= 0: True",
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"About \$\\mu \\approx " + _NUM,
        "best",
        r"bar in column 1 +best q: mu = " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"About \$\\mu \\approx [-\d.]+\$, \$\\sigma \\approx " + _NUM,
        "best",
        r"bar in column 1 +best q: mu = [-+\d.]+, sigma = " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"gives a gap of about " + _NUM + " nats",
        "best",
        r"bar in column 1 +best q: .*gap = " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"rises above the joint, for \$z\$ in \$\[" + _NUM,
        "best",
        r"blue above green \(red\) for z in \[" + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"rises above the joint, for \$z\$ in \$\[[-+\d.]+, " + _NUM,
        "best",
        r"blue above green \(red\) for z in \[[-+\d.]+, " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"rises above the joint, for \$z\$ in \$\[[-+\d.]+, [-+\d.]+\]\$ and \$\[\+?" + _NUM,
        "best",
        r"blue above green \(red\) for z in \[[-+\d.]+, [-+\d.]+\], \[\+?" + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"rises above the joint, for \$z\$ in \$\[[-+\d.]+, [-+\d.]+\]\$ and \$\[[-+\d.]+, \+?"
        + _NUM,
        "best",
        r"blue above green \(red\) for z in \[[-+\d.]+, [-+\d.]+\], \[[-+\d.]+, \+?" + _NUM + r"\]",
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"only its area is bounded, and the area it gains there is smaller",
        "best",
        r"gained less than lost: True",
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"the mean ELBO went from " + _NUM,
        "move_decoder",
        r"step  0: mean ELBO " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"the mean ELBO went from [-\d.]+ to " + _NUM,
        "move_decoder",
        r"step 30: mean ELBO " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"the mean \$\\log p\(x\)\$ from " + _NUM,
        "move_decoder",
        r"step  0: mean ELBO [-\d.]+, mean log p\(x\) " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"the mean \$\\log p\(x\)\$ from [-\d.]+ to " + _NUM,
        "move_decoder",
        r"step 30: mean ELBO [-\d.]+, mean log p\(x\) " + _NUM,
    ),
    Claim(
        "lectures/04_elbo.ipynb",
        r"Both rose: over 30 steps",
        "move_decoder",
        r"both rose: True",
    ),
    # ---- lecture 05
    Claim(
        "lectures/05_reparameterization.ipynb",
        r"score function is about " + _NUM + " times noisier",
        "exact_variances",
        r"f\(z\) = \(z - 2\)\^2 .*ratio score / pathwise " + _NUM,
    ),
    Claim(
        "lectures/05_reparameterization.ipynb",
        r"the score function's variance, " + _NUM + r", is \*below\*",
        "exact_variances",
        r"f\(z\) = cos z .*score function " + _NUM,
    ),
    Claim(
        "lectures/05_reparameterization.ipynb",
        r"is \*below\* the pathwise " + _NUM,
        "exact_variances",
        r"f\(z\) = cos z +exact Var\[g\]: pathwise " + _NUM,
    ),
    Claim(
        "lectures/05_reparameterization.ipynb",
        r"is \*below\* the pathwise",
        "exact_variances",
        r"for cos z the score function has the smaller variance: True",
    ),
    # ---- lecture 06
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"The ELBO alone stalls near " + _NUM + r" nats from \$-H\$",
        "bars_numbers",
        r"KL\(p_data \|\| p\) = " + _NUM,
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"\\mathrm\{KL\}\(p_\\text\{data\}\\,\\\|\\,p_\\theta\)\$, about " + _NUM + " nats",
        "bars_numbers",
        r"KL\(p_data \|\| p\) = " + _NUM,
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"about 0\.2 to 0\.3 nats, is what the \*Gaussian encoder\*",
        "bars_numbers",
        r"log p\(x\) - ELBO = 0\.[23]\d*\n",  # between 0.2 and 0.4: "0.2 to 0.3", rounded
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"a \*\*control\*\* with the same " + _NUM + " steps",
        "recipe_table",
        r"steps: control " + _NUM,
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"a \*\*control\*\* with the same " + _NUM + " steps",
        "recipe_table",
        r"steps: control \d+, recipe " + _NUM,
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"the first gap .* shrinks and the second, \$\\log p\(x\) - \\text\{ELBO\}\$, grows",
        "recipe_table",
        r"first gap shrank: True\n.*second gap grew: True",
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"Both should beat the uniform model by many nats",
        "digits_eval",
        r"the ELBO beats the uniform model by \d\d+\.\d+ nats",  # positive, at least 10
    ),
    Claim(
        "lectures/06_vae_practical.ipynb",
        r"the importance-sampled estimate should lie above the ELBO",
        "digits_eval",
        r"the IW estimate is above the ELBO by \d+\.\d+ nats",  # not negative
    ),
    # lecture 07
    Claim(
        "lectures/07_amortization.ipynb",
        r"the ELBO rises by several nats",
        "svi_steps",
        r"SVI raised the ELBO by (?:[3-9]|\d\d+)\.\d+ nats in 300 steps",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"the encoder's single forward pass lands closer to .* than 300 steps",
        "encoder_one",
        r"one forward pass beats 300 SVI steps: True",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"Both gaps are zero or positive for every image",
        "gaps",
        r"every gap >= 0: True",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"per image they add up to the encoder's whole gap",
        "gaps",
        r"the two add up to the total: True",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"the amortization gap should shrink with both width and training",
        "close_amortization",
        r"more steps shrink it: True; a wider encoder shrinks it: True",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"A few steps recover part of the amortization gap, not all of it",
        "semi_bars",
        r"50 steps close [1-9]\d?% of the amortization gap\nstill above q\* on average: True",
    ),
    Claim(
        "lectures/07_amortization.ipynb",
        r"so refinement cannot buy a full nat",
        "digits",
        r"at least 1 nat: met False",
    ),
    # ---- lecture 08
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"the exact gap " + _NUM,
        "problem",
        r"gap = " + _NUM + " nats",
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"\(" + _NUM + r" nats below \$\\log p\(x\)\$",
        "sweep",
        r"K = +1: mean .*, log p\(x\) - mean = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"at \$K = 1000\$ is " + _NUM + " times the one",
        "sweep",
        r"std at K = 1000 over std at K = 1: " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"is " + _NUM + r" nats against",
        "compare",
        r"IWAE-trained \(K=8\) +E log p\(x\) = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"nats against " + _NUM + " for the ELBO-trained",
        "compare",
        r"ELBO-trained +E log p\(x\) = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"is " + _NUM + r" nats instead of",
        "compare",
        r"IWAE-trained .*KL\(p_data \|\| p\) = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"nats instead of " + _NUM,
        "compare",
        r"ELBO-trained .*KL\(p_data \|\| p\) = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"the mean ELBO is below " + _NUM,
        "compare",
        r"IWAE-trained .*mean ELBO of its encoder = " + _NUM,
        "below",
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"-?[\d.]+ against " + _NUM + r"\. Both facts",
        "compare",
        r"ELBO-trained .*mean ELBO of its encoder = " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"falls from " + _NUM + r" at \$K = 1\$",
        "snr",
        r"K = +1: encoder, IWAE SNR " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"to " + _NUM + r" at \$K = 1024\$",
        "snr",
        r"K = 1024: encoder, IWAE SNR " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"rises from " + _NUM,
        "snr",
        r"K = +1: .*encoder, DReG SNR " + _NUM,
    ),
    Claim(
        "lectures/08_importance_weighting.ipynb",
        r"rises from [\d.]+ to " + _NUM,
        "snr",
        r"K = 1024: .*encoder, DReG SNR " + _NUM,
    ),
]


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def markdown_text(nb) -> str:
    """The notebook's markdown cells, one per line, each with its runs of white space made one
    space: a claim's words match however the sentence is wrapped."""
    return "\n".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def _printed_text(cell) -> str:
    """A code cell's printed output: its streams and the text of its results."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _agree(stated: str, printed: str) -> bool:
    """The printed number, rounded to the stated number's decimals, equals the stated one."""
    places = Decimal(1).scaleb(-_decimals(stated))
    return Decimal(printed).quantize(places) == Decimal(stated)


def check_claim(claim: Claim, nb) -> None:
    """Assert one claim on an executed notebook ``nb`` (an nbformat NotebookNode)."""
    where = f"{claim.notebook}: claim {claim.prose!r}"
    match = re.search(claim.prose, markdown_text(nb))
    assert match, f"{where}: no markdown cell says this any more"
    stated = match.group(1) if match.groups() else ""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.get("id") == claim.cell]
    assert len(cells) == 1, f"{where}: {len(cells)} code cells have the id {claim.cell!r}"
    text = _printed_text(cells[0])
    match = re.search(claim.output, text)
    assert match, f"{where}: the cell's output does not match {claim.output!r}; it printed:\n{text}"
    if stated and match.groups():
        printed = match.group(1)
        if claim.relation == "below 10^":
            agreed, says = float(printed) < 10.0 ** float(stated), f"below 10^{stated}"
        elif claim.relation == "rounds":
            agreed, says = _agree(stated, printed), stated
        elif claim.relation == "below":
            agreed, says = float(printed) < float(stated), f"below {stated}"
        elif claim.relation.startswith("within "):
            tolerance = float(claim.relation.split()[1])
            agreed = abs(float(printed) - float(stated)) <= tolerance
            says = f"about {stated} (within {tolerance:g})"
        else:
            raise ValueError(f"{where}: unknown relation {claim.relation!r}")
        assert agreed, f"{where}: the text says {says}, the cell prints {printed}"


def check_claims(path: str | Path, executed_nb, claims: list[Claim] | None = None) -> int:
    """Assert every claim about the notebook at ``path``; returns how many were checked."""
    where = "/".join(Path(path).parts[-2:])  # solutions/03_jensen/03_jensen.ipynb is not it
    mine = [c for c in (CLAIMS if claims is None else claims) if c.notebook == where]
    for claim in mine:
        check_claim(claim, executed_nb)
    return len(mine)


# lecture 09
_L09 = "lectures/09_maximum_likelihood_and_em.ipynb"
CLAIMS += [
    Claim(_L09, r"mixture is " + _NUM + r" nats from the data", "kl_exact",
          r"KL\(p_data \|\| p_theta\) += " + _NUM),
    Claim(_L09, r"its expected log-likelihood, " + _NUM + r" nats", "kl_exact",
          r"E_p_data\[log p_theta\(x\)\] = " + _NUM),
    Claim(_L09, r"= " + _NUM + r"\$ nats\.", "kl_exact", r"-H\(p_data\) += " + _NUM),
    Claim(_L09, r"With 20 images the training estimate is " + _NUM, "kl_vs_n",
          r"\n +20 +[\d.]+ +" + r"([-+]?\d+\.\d+)"),
    Claim(_L09, r"while the exact KL is " + _NUM + " nats", "kl_vs_n", r"\n +20 +" + _NUM),
    Claim(_L09, r"with 10000 images the exact KL is " + _NUM, "kl_vs_n", r"10000 +" + _NUM),
    Claim(_L09, r"0\.0027 nats and the estimate " + _NUM, "kl_vs_n",
          r"10000 +[\d.]+ +([-+]?\d+\.\d+)"),
    Claim(_L09, r"The code spends " + _NUM + " bits per image", "huffman",
          r"measured: " + _NUM + " bits per image"),
    Claim(_L09, r"images decode back exactly", "huffman", r"equal the sent ones: True"),
    Claim(_L09, r"over the same images \(" + _NUM + r" bits\)", "huffman",
          r"mean -log2 p_theta\(x\) over those images: " + _NUM),
    Claim(_L09, r"beat \$H\(p_\\text\{data\}\) = " + _NUM + r"\$ bits", "huffman",
          r"H\(p_data\) = " + _NUM + " bits"),
    Claim(_L09, r"ends at " + _NUM + " nats per training", "em_bars",
          r"iterations: " + _NUM + " nats on the training"),
    Claim(_L09, r"The log-likelihood climbs in a handful", "em_bars",
          r"log-likelihood never decreased: True"),
    Claim(_L09, r"test NLL of " + _NUM + r" nats", "em_digits", r"test NLL " + _NUM + " nats"),
    Claim(_L09, r"independent pixels \(" + _NUM + r"\)", "em_digits",
          r"\(C = 1\): test NLL " + _NUM),
    Claim(_L09, r"training NLL, " + _NUM + " nats", "em_digits", r"train " + _NUM),
    Claim(_L09, r"climbed " + _NUM + " nats and never went down", "em_digits",
          r"log-likelihood never decreased: True \(total climb " + _NUM + " nats"),
    Claim(_L09, r"only that sum can never decrease \(the cell checks it", "em_digits",
          r"log prior never decreased: True"),
    Claim(_L09, r"the VAE's as " + _NUM + " nats", "vae_vs_em_plot",
          r"ELBO\(q_phi\) += " + _NUM + " nats"),
    Claim(_L09, r"mixture's gap prints as zero to the sixth decimal", "vae_vs_em_plot",
          r"ELBO\(q = p\(c \| x\)\) = -?0\.000000 nats"),
]  # fmt: skip


# lecture 10
_L10 = "lectures/10_autoregressive.ipynb"
CLAIMS += [
    Claim(_L10, r"a table\s+holds the whole distribution: \$1 \+ 2 \+ 4 \+ 8 = (15)\$ numbers",
          "table_exact", r"entries: " + _NUM),
    Claim(_L10, r"reproduces \$p_\\text\{data\}\$ to rounding", "table_exact",
          r"max \|log p_table\(x\) - log p_data\(x\)\| = [\d.]+e-1[0-9]"),
    Claim(_L10, r"No leak in either", "made_masks",
          r"raster: outputs at or before the flipped pixel that moved: 0\n"
          r"column: outputs at or before the flipped pixel that moved: 0"),
    Claim(_L10, r"under an untrained network, sum to one", "normalized",
          r"raster: sum over all 2\^16 images of p\(x\) = (?:1\.0000000|0\.9999999)"),
    Claim(_L10, r"the raster-order model\s+" + _NUM + r" nats below", "bars_train",
          r"raster order: E log p\(x\) = -?[\d.]+ nats, " + _NUM + " nats below"),
    Claim(_L10, r"the column-order model " + _NUM, "bars_train",
          r"column order: E log p\(x\) = -?[\d.]+ nats, " + _NUM + " nats below"),
    Claim(_L10, r"(16) passes for sixteen pixels|Sixteen passes for sixteen pixels", "sample_bars",
          r"network passes for one batch of raster-order samples: 16 \(D = 16\)"),
    Claim(_L10, r"the exact test NLL is " + _NUM + " nats per image", "digits_train",
          r"test NLL " + _NUM + " nats per image"),
    Claim(_L10, r"the validation NLL is still falling", "digits_train",
          r"after 8 epochs: validation NLL"),
]  # fmt: skip

# lecture 11
_L11 = "lectures/11_flows.ipynb"
CLAIMS += [
    # numbers of trained models: their last digits differ between machines (floating point)
    Claim(_L11, r"The test NLL is about " + _NUM + " nats per dimension", "moons_train",
          r"test NLL " + _NUM + " nats per dimension", "within 0.02"),
    Claim(_L11, r"seconds of training \(train about " + _NUM + r"\)", "moons_train",
          r"train NLL " + _NUM, "within 0.03"),
    Claim(_L11, r"claims more than the cell holds for " + _NUM + " of the 7 cells", "dequant_1d",
          r"exceeds log P\(k\) for " + _NUM + " of 7 cells"),
    Claim(_L11, r"every row keeps", "dequant_1d", r"bound <= log P\(k\) for every k: True"),
    Claim(_L11, r"independent-pixel cross-entropy, " + _NUM + " nats", "bars_flow",
          r"before training\): bound [\d.]+, " + _NUM + " above H"),
    Claim(_L11, r"bring it to about " + _NUM + " nats above", "bars_flow",
          r"K = 1: +bound [\d.]+ nats, " + _NUM + " above H", "within 0.02"),
    Claim(_L11, r"with one noise draw, and about " + _NUM + " with eight", "bars_flow",
          r"K = 8: +bound [\d.]+ nats, " + _NUM + " above H", "within 0.02"),
    Claim(_L11, r"independent-pixel model \(" + _NUM + " nats on the test", "digits_flow",
          r"at the start\): test " + _NUM + " nats"),
    Claim(_L11, r"test bound to about " + _NUM + " nats with one noise", "digits_flow",
          r"test " + _NUM + r" nats \(K = 1\)", "within 0.2"),
    Claim(_L11, r"draw and about " + _NUM + " with sixteen", "digits_flow",
          r"test " + _NUM + r" nats \(K = 16\)", "within 0.2"),
]  # fmt: skip

_L12 = "lectures/12_density_ratios_and_gans.ipynb"
CLAIMS += [
    Claim(_L12, r"the fitted exponent is " + _NUM, "ratio_1d", r"falls like n\^-" + _NUM),
    Claim(_L12, r"from " + _NUM + " nats at 30 samples per class", "ratio_1d",
          r"\n\s+30\s+" + _NUM),
    Claim(_L12, r"per class to " + _NUM + " at 10000", "ratio_1d", r"10000\s+" + _NUM),
    Claim(_L12, r"only " + _NUM + "% of the non-saturating generator's", "ring",
          r"non-saturating : 8/8 modes hit, " + _NUM + "% good"),
    Claim(_L12, r"\(" + _NUM + r"% for the saturating one\)", "ring",
          r"\nsaturating +: \d/8 modes hit, " + _NUM + "% good"),
    Claim(_L12, r"Both runs hit all 8 modes", "ring", r"saturating +: 8/8 modes hit"),
    Claim(_L12, r"collapsed onto " + _NUM + " of the 4 columns", "bars_gan",
          r"columns with >= 5% mass: " + _NUM + " of 4"),
    Claim(_L12, r"is small \(" + _NUM + r" nats\)", "bars_gan", r"KL\(p_G \|\| p_data\) " + _NUM),
    Claim(_L12, r"\\Vert p_G\) = " + _NUM + r"\$ nats: the data", "bars_gan",
          r"KL\(p_data \|\| p_G\) " + _NUM),
    Claim(_L12, r"The total variation is " + _NUM, "bars_gan", r"TV " + _NUM),
    Claim(_L12, r"spreads over " + _NUM + " of the 4 columns", "bars_remedy",
          r"columns with >= 5% mass: " + _NUM + " of 4"),
    Claim(_L12, r"falls from [\d.]+ to " + _NUM + " nats and", "bars_remedy",
          r"KL\(p_data \|\| p_G\) " + _NUM),
    Claim(_L12, r"total variation from\s*[\d.]+ to " + _NUM, "bars_remedy", r"TV " + _NUM),
    Claim(_L12, r"rises slightly, to " + _NUM, "bars_remedy", r"KL\(p_G \|\| p_data\) " + _NUM),
]  # fmt: skip

# lecture 13
_L13 = "lectures/13_diffusion.ipynb"
CLAIMS += [
    # numbers of trained models: their last digits differ between machines (floating point)
    Claim(_L13, r"The held-out bound is about " + _NUM + " nats per dimension", "moons_train",
          r"held-out bound " + _NUM + " nats per dimension", "within 0.05"),
    Claim(_L13, r"test bound is about " + _NUM + r" nats per image at \$T = 64\$", "digits_train",
          r"test " + _NUM + r" nats \(standard error", "within 1.5"),
    Claim(_L13, r"below the independent-pixel model's (106\.3)", "digits_train",
          r"test (\d+\.\d+) nats", "below"),
    Claim(_L13, r"standard error about half a nat", "digits_train", r"standard error 0\.[3-7]\d\)"),
    Claim(_L13, r"its bound is about " + _NUM + " nats; four", "steps_sweep",
          r"\n +1 +" + _NUM + " ", "within 1.5"),
    Claim(_L13, r"four steps already reach about " + _NUM, "steps_sweep", r"\n +4 +" + _NUM + " ",
          "within 1.5"),
]  # fmt: skip
