"""Assignment 04: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "04_elbo"

WRONG = {
    "kl_gaussians": [
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / sigma_p**2 - 1).sum(-1)",
            "left out the 1/2",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_q / sigma_p) + (sigma_p**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_q**2) - 0.5).sum(-1)",
            "the other direction",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return 0.5 * (sigma_q / sigma_p + (mu_q - mu_p)**2 / sigma_p - 1"
            " - torch.log(sigma_q / sigma_p)).sum(-1)",
            "sigma where the variance",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_q / sigma_p) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2) - 0.5).sum(-1)",
            "log(sigma_q / sigma_p)",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2) - 0.5).mean(-1)",
            "averaged over the latent",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2) - 0.5",
            "one KL per latent dimension",
        ),
        (  # KL to the standard normal whatever p is: right in the prior test, wrong elsewhere
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (0.5 * (sigma_q**2 + mu_q**2 - 1) - torch.log(sigma_q)).sum(-1)",
            "kl_gaussians(mu_q, sigma_q, mu_p, sigma_p)",
        ),
        (  # the formula as displayed, with sigma where the variance belongs in the fraction
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q + (mu_q - mu_p)**2)"
            " / (2 * sigma_p) - 0.5).sum(-1)",
            "sigma where the variance sigma^2 belongs, in the fraction",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p) - 0.5).sum(-1)",
            "2 sigma_p where the formula has 2 sigma_p^2",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2) - 0.5).sum(-1)",
            "sigma_q where the numerator has sigma_q^2",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p**2 / sigma_q**2) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2) - 0.5).sum(-1)",
            "log of the variances",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p))"
            " / (2 * sigma_p**2) - 0.5).sum(-1)",
            "did not square (mu_q - mu_p)",
        ),
        (
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    return (torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2)"
            " / (2 * sigma_p**2)).sum(-1) - 0.5",
            "subtracted 1/2 once",
        ),
        (  # each term summed over L before broadcasting: log sigma_p of shape (1,) counts once
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    log_term = torch.log(sigma_p).sum(-1) - torch.log(sigma_q).sum(-1)\n"
            "    rest = ((sigma_q**2 + (mu_q - mu_p)**2) / (2 * sigma_p**2) - 0.5).sum(-1)\n"
            "    return log_term + rest",
            "counts once instead of L times",
        ),
        (  # hard-coded: right on the visible inputs, the KL to N(0, 1) anywhere else
            "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
            "    if mu_q.shape == (2, 3):\n"
            "        return kl_normal(mu_q, sigma_q, mu_p, sigma_p)\n"
            "    return (0.5 * (sigma_q**2 + mu_q**2 - 1) - torch.log(sigma_q)).sum(-1)",
            "kl_gaussians with q of shape",
        ),
    ],
    "expected_log_likelihood": [
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).sum(0)",
            "summed over the samples",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps))",
            "average over the first",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu))",
            "ignored the noise",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma**2 * eps)).mean(0)",
            "sigma^2 where sigma belongs",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + torch.exp(sigma) * eps)).mean(0)",
            "treated sigma as log_sigma",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return -log_bernoulli(x, decoder(mu + sigma * eps)).mean(0)",
            "negative log-likelihood",
        ),
        (  # sampling with torch.distributions' .sample(): the right numbers, no gradient
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    z = (mu + sigma * eps).detach()\n"
            "    return log_bernoulli(x, decoder(z)).mean(0)",
            "no gradient",
        ),
        (  # fresh noise instead of the given eps
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * torch.randn_like(eps)\n"
            "    return log_bernoulli(x, decoder(z)).mean(0)",
            "draws its own noise",
        ),
        (  # torch.distributions' .sample(): fresh noise and no gradient
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    z = torch.distributions.Normal(mu, sigma).sample((eps.shape[0],))\n"
            "    return log_bernoulli(x, decoder(z)).mean(0)",
            "draws its own noise",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps).mean(0))",
            "averaged the logits",
        ),
        (
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(-1)",
            "wrong dimension",
        ),
        (  # the prior's samples instead of q's: z = eps
            "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(eps)).mean(0)",
            "expected_log_likelihood",
        ),
    ],
    "elbo_estimate": [
        (
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    ell = log_bernoulli(x, decoder(mu + sigma * eps)).mean(0)\n"
            "    return ell + kl_standard_normal(mu, sigma)",
            "you added the KL",
        ),
        (
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0)",
            "left out the KL",
        ),
        (
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    ell = log_bernoulli(x, decoder(mu + sigma * eps)).mean(0)\n"
            "    return kl_standard_normal(mu, sigma) - ell",
            "negative ELBO",
        ),
        (
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    per_sample = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return (per_sample - kl_standard_normal(mu, sigma)).sum(0)",
            "is not right",
        ),
        (  # log_var where sigma belongs in the KL
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    kl = 0.5 * (torch.exp(sigma) + mu**2 - 1 - sigma).sum(-1)\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0) - kl",
            "log sigma where sigma belongs",
        ),
        (
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    kl = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma)).sum(-1)\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0) - kl",
            "is not right",
        ),
        (  # the KL averaged over the latent dimensions: right only when L = 1
            "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
            "    kl = kl_standard_normal(mu, sigma) / mu.shape[-1]\n"
            "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0) - kl",
            "elbo_estimate",
        ),
    ],
    "elbo_check": [
        (
            "def elbo_check(x, decoder, mu, sigma):\n"
            "    grid = simpson_grid(dtype=x.dtype)\n"
            "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
            "    log_p_x = torch.logsumexp(log_joint + grid.log_w, dim=-1)\n"
            "    log_q = torch.distributions.Normal(mu, sigma).log_prob(grid.z[:, 0])\n"
            "    e = (torch.exp(log_q + grid.log_w) * (log_joint - log_q)).sum(-1)\n"
            "    return e, log_p_x, e - log_p_x",
            "the gap is log_p_x - elbo",
        ),
        (  # weighted by the posterior instead of q: above log p(x)
            "def elbo_check(x, decoder, mu, sigma):\n"
            "    grid = simpson_grid(dtype=x.dtype)\n"
            "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
            "    log_p_x = torch.logsumexp(log_joint + grid.log_w, dim=-1)\n"
            "    log_q = torch.distributions.Normal(mu, sigma).log_prob(grid.z[:, 0])\n"
            "    post_w = torch.exp(log_joint - log_p_x[:, None] + grid.log_w)\n"
            "    e = (post_w * (log_joint - log_q)).sum(-1)\n"
            "    return e, log_p_x, log_p_x - e",
            "your ELBO is above log p(x)",
        ),
        (
            "def elbo_check(x, decoder, mu, sigma):\n"
            "    grid = simpson_grid(dtype=x.dtype)\n"
            "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
            "    log_p_x = torch.logsumexp(log_joint + grid.log_w, dim=-1)\n"
            "    log_q = torch.distributions.Normal(mu, sigma).log_prob(grid.z[:, 0])\n"
            "    e = (torch.exp(log_q + grid.log_w) * log_joint).sum(-1)\n"
            "    return e, log_p_x, log_p_x - e",
            "left out the -log q(z|x) term",
        ),
        (  # sum instead of logsumexp: the log of the integral is not the integral of the log
            "def elbo_check(x, decoder, mu, sigma):\n"
            "    grid = simpson_grid(dtype=x.dtype)\n"
            "    log_joint = log_joint_on_grid(x, decoder, grid)\n"
            "    log_p_x = (log_joint * grid.log_w.exp()).sum(-1)\n"
            "    log_q = torch.distributions.Normal(mu, sigma).log_prob(grid.z[:, 0])\n"
            "    e = (torch.exp(log_q + grid.log_w) * (log_joint - log_q)).sum(-1)\n"
            "    return e, log_p_x, log_p_x - e",
            "log_p_x from",
        ),
        (
            "def elbo_check(x, decoder, mu, sigma):\n"
            "    return elbo_estimate(x, mu, sigma, torch.randn(100, *mu.shape, dtype=mu.dtype),"
            " decoder), log_evidence(x, decoder), None",
            "the ELBO from",
        ),
    ],
}

VALID = {
    "kl_gaussians": [
        "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
        "    q = torch.distributions.Normal(mu_q, sigma_q)\n"
        "    p = torch.distributions.Normal(mu_p, sigma_p)\n"
        "    return torch.distributions.kl_divergence(q, p).sum(-1)",
        "def kl_gaussians(mu_q, sigma_q, mu_p, sigma_p):\n"
        "    var_q, var_p = sigma_q**2, sigma_p**2\n"
        "    return 0.5 * (torch.log(var_p) - torch.log(var_q) + var_q / var_p"
        " + (mu_q - mu_p)**2 / var_p - 1).sum(-1)",
    ],
    "expected_log_likelihood": [
        "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
        "    logits = decoder(mu + sigma * eps)\n"
        "    log_p = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)\n"
        "    return log_p.sum(0) / eps.shape[0]",
        "def expected_log_likelihood(x, mu, sigma, eps, decoder):\n"
        "    total = 0\n"
        "    for e in eps:\n"
        "        total = total + log_bernoulli(x, decoder(mu + sigma * e))\n"
        "    return total / len(eps)",
    ],
    "elbo_estimate": [
        "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
        "    kl = kl_normal(mu, sigma, torch.zeros_like(mu), torch.ones_like(sigma))\n"
        "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0) - kl",
        "def elbo_estimate(x, mu, sigma, eps, decoder):\n"
        "    q = torch.distributions.Normal(mu, sigma)\n"
        "    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(sigma))\n"
        "    kl = torch.distributions.kl_divergence(q, p).sum(-1)\n"
        "    return log_bernoulli(x, decoder(mu + sigma * eps)).mean(0) - kl",
    ],
    "elbo_check": [
        # expected log-likelihood by quadrature, closed-form KL to the prior
        "def elbo_check(x, decoder, mu, sigma):\n"
        "    grid = simpson_grid(dtype=x.dtype)\n"
        "    log_p_x = log_evidence(x, decoder)\n"
        "    q = torch.distributions.Normal(mu, sigma)\n"
        "    w = torch.exp(q.log_prob(grid.z[:, 0]) + grid.log_w)\n"
        "    log_lik = log_bernoulli(x[:, None, :], decoder(grid.z)[None])\n"
        "    e = (w * log_lik).sum(-1) - kl_standard_normal(mu, sigma)\n"
        "    return e, log_p_x, log_p_x - e",
        "def elbo_check(x, decoder, mu, sigma):\n"
        "    out = exact_elbo(x, decoder, mu, sigma)\n"
        "    return out.elbo, out.log_p_x, out.log_p_x - out.elbo",
    ],
}
