"""dgmlab.quadrature: the choice of grid and the grid posterior's moments."""

import math

import pytest
import torch

from dgmlab.quadrature import (
    DEFAULT_NUM_POINTS,
    DEFAULT_SPACING,
    DEFAULT_Z_RANGE,
    covering_grid,
    grid_posterior,
    grids_covering,
    simpson_grid,
)

F64 = torch.float64


def test_grid_posterior_of_a_gaussian_gives_its_normalizer_mean_and_std():
    """f = c N(z; m, s^2) on the default grid: log Z = log c, mean m, std s (an oracle)."""
    grid = simpson_grid(dtype=F64)
    m, s = torch.tensor([0.3, -1.5], dtype=F64), torch.tensor([0.7, 0.2], dtype=F64)
    z = grid.z[:, 0]
    log_f = math.log(3.0) + torch.distributions.Normal(m[:, None], s[:, None]).log_prob(z)
    out = grid_posterior(log_f, grid)
    torch.testing.assert_close(out.log_normalizer, torch.full((2,), math.log(3.0), dtype=F64))
    torch.testing.assert_close(out.mean, m)
    torch.testing.assert_close(out.std, s)
    torch.testing.assert_close(out.mass.sum(-1), torch.ones(2, dtype=F64))


def test_grid_posterior_rejects_a_wrong_number_of_nodes():
    with pytest.raises(ValueError, match=r"log_f must have shape \(B, G\) with G = 2001"):
        grid_posterior(torch.zeros(2, 5), simpson_grid())


def test_covering_grid_is_the_default_grid_where_that_suffices():
    default = simpson_grid(dtype=F64)
    same = covering_grid(-3.0, 3.0, dtype=F64)
    assert torch.equal(same.z, default.z) and torch.equal(same.log_w, default.log_w)
    wider = covering_grid(-3.0, 12.0, dtype=F64)
    assert float(wider.z[-1, 0]) >= 12.0 and float(wider.z[0, 0]) == DEFAULT_Z_RANGE[0]
    assert float(wider.z[1, 0] - wider.z[0, 0]) <= DEFAULT_SPACING + 1e-12
    finer = covering_grid(-1.0, 1.0, spacing=1e-3, dtype=F64)
    assert float(finer.z[1, 0] - finer.z[0, 0]) <= 1e-3 + 1e-12 and finer.z.shape[0] % 2 == 1


def test_grids_covering_groups_rows_by_what_they_need():
    mu = torch.tensor([0.0, 9.0, 0.5, -0.5], dtype=F64)
    sigma = torch.tensor([1.0, 1.0, 1e-3, 0.5], dtype=F64)
    groups = grids_covering(mu - 8 * sigma, mu + 8 * sigma, sigma)
    rows = sorted(torch.cat([r for r, _ in groups]).tolist())
    assert rows == [0, 1, 2, 3]  # every row once
    for r, grid in groups:
        z = grid.z[:, 0]
        spacing = float(z[1] - z[0])
        for b in r.tolist():  # each grid reaches mu +- 8 sigma and resolves sigma
            assert float(z[0]) <= float(mu[b] - 8 * sigma[b]) + 1e-9
            assert float(z[-1]) >= float(mu[b] + 8 * sigma[b]) - 1e-9
            assert spacing <= float(sigma[b]) / 4 + 1e-12
    default = [r.tolist() for r, g in groups if g.z.shape[0] == DEFAULT_NUM_POINTS]
    assert default == [[0, 3]], "rows the default grid resolves share it"
