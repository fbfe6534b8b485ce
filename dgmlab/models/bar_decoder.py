"""A decoder set by hand to draw bars: the model the lectures use before anything is trained.

It shows that the decoder architecture of lecture 01 *can* draw the data (lecture 01), gives
lecture 02 a decoder whose prior mass per bar we choose (the 20/40/20/20 remark), and gives
lectures 03-04 a fixed, known decoder to compute exact evidences and ELBOs with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from dgmlab import checks
from dgmlab.models.vae import GenerativeNetwork


def bar_decoder(
    column_probs: Sequence[float] | None = None,
    size: int = 4,
    flip_prob: float = 0.05,
    sharpness: float = 5.0,
) -> GenerativeNetwork:
    """A hand-set decoder that draws bar c when z falls in the c-th slice of the prior.

    The slices are cut at the prior's quantiles t_c = Phi^-1(pi_1 + ... + pi_c), so the prior
    puts mass pi_c on bar c. One tanh unit per cut, h_c = tanh(sharpness (z - t_c)), and

        on_c(z) = (h_{c-1} - h_c) / 2   (with h_0 = 1, h_C = -1),   ~ 1 inside slice c, else ~ 0
        logit_d(z) = a (2 on_{col(d)}(z) - 1),   a = log((1 - rho) / rho)

    so a pixel of the chosen column is on with probability 1 - rho and every other pixel
    with probability rho, as in ``dgmlab.data.Bars``.

    Args:
        column_probs: pi, the prior mass of each bar (default uniform); size entries.
        size: image side; C = size bars, D = size * size pixels.
        flip_prob: rho, the probability that noise flips a pixel, in (0, 0.5).
        sharpness: how steep the switch from one bar to the next is (> 0).

    Returns:
        A ``GenerativeNetwork(latent_dim=1, data_dim=D, hidden_dims=(C - 1,))``; its weights
        are ordinary parameters, so it can be trained further.
    """
    C = checks.positive_int("size", size, minimum=2)
    probs = torch.full((C,), 1.0 / C, dtype=torch.float64) if column_probs is None else None
    if probs is None:
        probs = torch.as_tensor(column_probs, dtype=torch.float64).flatten()
        if probs.numel() != C or bool((probs <= 0).any()) or abs(float(probs.sum()) - 1) > 1e-6:
            raise ValueError(
                f"column_probs must be {C} positive numbers summing to 1, found {probs.tolist()}"
            )
    if not 0 < float(flip_prob) < 0.5:
        raise ValueError(f"flip_prob must be in (0, 0.5), found {flip_prob!r}")
    if not 0 < float(sharpness) < math.inf:
        raise ValueError(f"sharpness must be a positive number, found {sharpness!r}")
    cuts = torch.distributions.Normal(0.0, 1.0).icdf(probs.cumsum(0)[:-1])  # (C-1,)
    a = math.log((1 - flip_prob) / flip_prob)
    # on = M h + b, with on_0 = (1 - h_1)/2, on_c = (h_c - h_{c+1})/2, on_{C-1} = (1 + h_{C-1})/2
    M = torch.zeros(C, C - 1, dtype=torch.float64)
    b = torch.zeros(C, dtype=torch.float64)
    M[torch.arange(C - 1), torch.arange(C - 1)] = -0.5
    M[torch.arange(1, C), torch.arange(C - 1)] = 0.5
    b[0] = b[-1] = 0.5
    column = torch.arange(C * C) % C  # (D,) the column of each pixel (row-major images)
    net = GenerativeNetwork(latent_dim=1, data_dim=C * C, hidden_dims=(C - 1,))
    with torch.no_grad():
        net.net[0].weight.copy_(torch.full((C - 1, 1), float(sharpness)))
        net.net[0].bias.copy_(-float(sharpness) * cuts)
        net.net[2].weight.copy_(2 * a * M[column])  # (D, C-1)
        net.net[2].bias.copy_(2 * a * b[column] - a)  # (D,)
    return net
