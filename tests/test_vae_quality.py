"""ACCEPTANCE TEST (target A): the course's bar VAE gets close to the best possible log p(x)
with a tight ELBO, on fixed seeds, trained on the CPU in seconds.

The bar data come from a known distribution, so -H(p_data) is the best expected
log-likelihood any model can have, and the 1-D latent makes log p(x) and the ELBO exact
(quadrature). Both expectations are sums over all 2^16 images weighted by p_data(x), so the
numbers carry no sampling noise (``dgmlab.recipes.exact_expectations``):

    KL(p_data || p) = -H(p_data) - E[log p(x)]   target A: < 0.1 nats
    gap             = E[log p(x)] - E[ELBO]      target A: < 0.3 nats

The model is ``dgmlab.recipes.train_bar_vae`` (its docstring gives the recipe and the
numbers measured on seeds 0-4). The two targets pull against each other: a Gaussian q cannot
fit the truncated posteriors of a decoder with sharp column boundaries, so the ELBO alone
leaves the boundaries soft (KL 0.115, gap 0.16), while the importance-weighted bound sharpens
them (KL 0.02, gap 0.42). The recipe's short L_2 phase lands between.

Reproduce the numbers:  python tests/test_vae_quality.py [seed ...]
"""

import sys
import time

import pytest
import torch

from dgmlab.recipes import exact_expectations, train_bar_vae

TARGET_KL = 0.1
TARGET_GAP = 0.3


def train_and_measure(seed: int) -> dict[str, float]:
    """Train the recipe's bar VAE on one seed; return its exact expectations and CPU time."""
    cpu, wall = time.process_time(), time.perf_counter()
    vae, history = train_bar_vae(seed, progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    r = exact_expectations(vae)
    return {
        "neg_entropy": r.neg_entropy,
        "expected_log_p_x": r.log_p_x,
        "expected_elbo": r.elbo,
        "kl_data": r.kl_data,
        "gap": r.gap,
        "train_cpu_seconds": cpu,
        "train_wall_seconds": wall,
        "final_loss": history.step_loss[-1],
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_acceptance_bar_vae_near_entropy_with_tight_elbo(seed):
    r = train_and_measure(seed)
    # no model beats -H in expectation, and the ELBO is a lower bound (exact sums, not samples)
    assert r["kl_data"] >= -1e-6, r
    assert r["gap"] > 0, r
    # target A
    assert r["kl_data"] < TARGET_KL, f"E[log p(x)] is {r['kl_data']:.4f} nats below -H: {r}"
    assert r["gap"] < TARGET_GAP, f"the ELBO is {r['gap']:.4f} nats below log p(x): {r}"


if __name__ == "__main__":
    torch.set_num_threads(1)
    for s in [int(a) for a in sys.argv[1:]] or [0]:
        print(f"seed {s}")
        for name, value in train_and_measure(s).items():
            print(f"{name:>20s} {value: .4f}")
