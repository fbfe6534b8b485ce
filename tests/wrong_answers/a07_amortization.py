"""Assignment 07: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "07_amortization"

_GRID = (
    "    grid = simpson_grid(dtype=x.dtype)\n"
    "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
    "    log_q = log_normal(grid.z[None], mu[:, None], sigma[:, None])\n"
)

_SVI_HEAD = (
    "def svi(x, decoder, mu, sigma, eps, lr):\n"
    "    mu = mu.detach().clone().requires_grad_(True)\n"
    "    log_sigma = sigma.detach().log().requires_grad_(True)\n"
    "    for e in eps:\n"
    "        s = log_sigma.exp()\n"
)


def _svi(elbo_line: str, step: str = "+", total: str = "elbo.sum()", ret: str = "") -> str:
    return (
        _SVI_HEAD
        + f"        elbo = {elbo_line}\n"
        + f"        g_mu, g_ls = torch.autograd.grad({total}, (mu, log_sigma))\n"
        + "        with torch.no_grad():\n"
        + f"            mu {step}= lr * g_mu\n"
        + f"            log_sigma {step}= lr * g_ls\n"
        + (ret or "    return mu.detach(), log_sigma.exp().detach()")
    )


_ELBO = "log_bernoulli(x, decoder(mu + s * e)).mean(0) - kl_standard_normal(mu, s)"

WRONG = {
    "elbo_on_grid": [
        (
            "def elbo_on_grid(x, decoder, mu, sigma):\n"
            + _GRID
            + "    return (torch.exp(log_q + grid.log_w) * log_joint).sum(-1)",
            "the entropy of q",
        ),
        (
            "def elbo_on_grid(x, decoder, mu, sigma):\n"
            + _GRID
            + "    return (torch.exp(log_q) * (log_joint - log_q)).sum(-1)",
            "quadrature weights",
        ),
        (
            "def elbo_on_grid(x, decoder, mu, sigma):\n"
            + _GRID
            + "    return torch.logsumexp(log_joint + grid.log_w, dim=-1)",
            "returned log p(x)",
        ),
        (
            "def elbo_on_grid(x, decoder, mu, sigma):\n"
            "    grid = simpson_grid(dtype=x.dtype)\n"
            "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
            "    log_q = log_normal(grid.z[None], mu[:, None], sigma[:, None] ** 2)\n"
            "    return (torch.exp(log_q + grid.log_w) * (log_joint - log_q)).sum(-1)",
            "sigma^2 where the standard deviation",
        ),
        (
            "def elbo_on_grid(x, decoder, mu, sigma):\n"
            + _GRID
            + "    return (torch.exp(log_q + grid.log_w) * (log_q - log_joint)).sum(-1)",
            "negative ELBO",
        ),
    ],
    "split_gaps": [
        (
            "def split_gaps(x, decoder, mu_phi, sigma_phi, mu_star, sigma_star):\n"
            "    log_p_x = log_evidence(x, decoder)\n"
            "    star = elbo_on_grid(x, decoder, mu_star, sigma_star)\n"
            "    phi = elbo_on_grid(x, decoder, mu_phi, sigma_phi)\n"
            "    return star - phi, log_p_x - star",
            "wrong order",
        ),
        (
            "def split_gaps(x, decoder, mu_phi, sigma_phi, mu_star, sigma_star):\n"
            "    log_p_x = log_evidence(x, decoder)\n"
            "    star = elbo_on_grid(x, decoder, mu_star, sigma_star)\n"
            "    phi = elbo_on_grid(x, decoder, mu_phi, sigma_phi)\n"
            "    return log_p_x - phi, star - phi",
            "whole gap",
        ),
        (
            "def split_gaps(x, decoder, mu_phi, sigma_phi, mu_star, sigma_star):\n"
            "    log_p_x = log_evidence(x, decoder)\n"
            "    star = elbo_on_grid(x, decoder, mu_star, sigma_star)\n"
            "    phi = elbo_on_grid(x, decoder, mu_phi, sigma_phi)\n"
            "    return log_p_x - star, phi - star",
            "ELBO(q_phi) - ELBO(q*)",
        ),
        (
            "def split_gaps(x, decoder, mu_phi, sigma_phi, mu_star, sigma_star):\n"
            "    log_p_x = log_evidence(x, decoder)\n"
            "    star = elbo_on_grid(x, decoder, mu_star, sigma_star)\n"
            "    phi = elbo_on_grid(x, decoder, mu_phi, sigma_phi)\n"
            "    return star - log_p_x, star - phi",
            "ELBO(q*) - log p(x)",
        ),
    ],
    "svi": [
        (
            "def svi(x, decoder, mu, sigma, eps, lr):\n"
            "    mu = mu.detach().clone().requires_grad_(True)\n"
            "    sigma = sigma.detach().clone().requires_grad_(True)\n"
            "    for e in eps:\n"
            "        elbo = log_bernoulli(x, decoder(mu + sigma * e)).mean(0)"
            " - kl_standard_normal(mu, sigma)\n"
            "        g_mu, g_s = torch.autograd.grad(elbo.sum(), (mu, sigma))\n"
            "        with torch.no_grad():\n"
            "            mu += lr * g_mu\n"
            "            sigma += lr * g_s\n"
            "    return mu.detach(), sigma.detach()",
            "stepped on sigma itself",
        ),
        (_svi(_ELBO, step="-"), "descended"),
        (_svi(_ELBO, total="elbo.mean()"), "averaged the ELBO over the images"),
        (_svi("log_bernoulli(x, decoder(mu + s * e)).mean(0)"), "left out the KL"),
        (
            _svi(_ELBO, ret="        break\n    return mu.detach(), log_sigma.exp().detach()"),
            "took one step",
        ),
        (_svi(_ELBO, ret="    return mu.detach(), log_sigma.detach()"), "returned log sigma"),
        (
            "def svi(x, decoder, mu, sigma, eps, lr):\n"
            "    mu = mu.detach().clone().requires_grad_(True)\n"
            "    log_sigma = sigma.detach().log().requires_grad_(True)\n"
            "    for e in eps:\n"
            "        s = log_sigma.exp()\n"
            "        elbo = " + _ELBO + "\n"
            "        g_mu, = torch.autograd.grad(elbo.sum(), (mu,))\n"
            "        with torch.no_grad():\n"
            "            mu += lr * g_mu\n"
            "    return mu.detach(), log_sigma.exp().detach()",
            "update log sigma too",
        ),
    ],
    "refine": [
        (
            "def refine(x, encoder, decoder, eps, lr):\n"
            "    mu, sigma = encoder(x)\n"
            "    return svi(x, decoder, torch.zeros_like(mu), torch.ones_like(sigma), eps, lr)",
            "started at the prior",
        ),
        (
            "def refine(x, encoder, decoder, eps, lr):\n"
            "    with torch.no_grad():\n"
            "        return encoder(x)",
            "unrefined",
        ),
    ],
}

VALID = {
    "elbo_on_grid": [
        "def elbo_on_grid(x, decoder, mu, sigma):\n"
        "    grid = simpson_grid(dtype=x.dtype)\n"
        "    z = grid.z[:, 0]\n"
        "    log_q = torch.distributions.Normal(mu, sigma).log_prob(z[None, :])\n"
        "    integrand = log_q.exp() * (log_joint_on_grid(x, decoder, grid) - log_q)\n"
        "    return (integrand * grid.log_w.exp()).sum(-1)",
    ],
    "split_gaps": [
        "def split_gaps(x, decoder, mu_phi, sigma_phi, mu_star, sigma_star):\n"
        "    grid = simpson_grid(dtype=x.dtype)\n"
        "    log_p_x = torch.logsumexp(log_joint_on_grid(x, decoder, grid) + grid.log_w, -1)\n"
        "    elbos = [elbo_on_grid(x, decoder, m, s)"
        " for m, s in ((mu_star, sigma_star), (mu_phi, sigma_phi))]\n"
        "    return log_p_x - elbos[0], elbos[0] - elbos[1]",
    ],
    "svi": [
        # SGD on the negative sum is the same ascent
        "def svi(x, decoder, mu, sigma, eps, lr):\n"
        "    mu = mu.detach().clone().requires_grad_(True)\n"
        "    log_sigma = sigma.detach().log().requires_grad_(True)\n"
        "    opt = torch.optim.SGD([mu, log_sigma], lr=lr)\n"
        "    for e in eps:\n"
        "        opt.zero_grad()\n"
        "        s = log_sigma.exp()\n"
        "        z = mu + s * e\n"
        "        loss = -(log_bernoulli(x, decoder(z)).mean(0) - kl_standard_normal(mu, s)).sum()\n"
        "        loss.backward()\n"
        "        opt.step()\n"
        "    return mu.detach(), log_sigma.detach().exp()",
        # the KL written out, parameters as plain tensors rebuilt each step
        "def svi(x, decoder, mu, sigma, eps, lr):\n"
        "    m, ls = mu.detach().clone(), sigma.detach().log()\n"
        "    for e in eps:\n"
        "        m.requires_grad_(True)\n"
        "        ls.requires_grad_(True)\n"
        "        kl = (0.5 * (m**2 + torch.exp(2 * ls) - 1) - ls).sum(-1)\n"
        "        elbo = log_bernoulli(x, decoder(m + ls.exp() * e)).mean(0) - kl\n"
        "        gm, gl = torch.autograd.grad(elbo.sum(), (m, ls))\n"
        "        m, ls = (m + lr * gm).detach(), (ls + lr * gl).detach()\n"
        "    return m, ls.exp()",
    ],
    "refine": [
        "def refine(x, encoder, decoder, eps, lr):\n"
        "    mu, sigma = encoder(x)\n"
        "    return svi(x, decoder, mu.detach(), sigma.detach(), eps, lr)",
    ],
}
