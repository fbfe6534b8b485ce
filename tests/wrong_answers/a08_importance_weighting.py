"""Assignment 08: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "08_importance_weighting"

WRONG = {
    "log_mean_exp": [
        (
            "def log_mean_exp(a):\n    return torch.logsumexp(a, dim=0)",
            "left out the -log K",
        ),
        (
            "def log_mean_exp(a):\n    return a.mean(0)",
            "averaged the log weights",
        ),
        (  # the direct formula: exp underflows to 0 (or overflows) on the shifted inputs
            "def log_mean_exp(a):\n    return torch.log(torch.exp(a).mean(0))",
            "NaN or infinite",
        ),
        (
            "def log_mean_exp(a):\n"
            "    m = a.max(0).values\n"
            "    return torch.log(torch.exp(a - m).mean(0))",
            "did not add it back",
        ),
        (
            "def log_mean_exp(a):\n    return torch.logsumexp(a, dim=-1) - math.log(a.shape[-1])",
            "average over the first",
        ),
        (
            "def log_mean_exp(a):\n    return a.max(0).values",
            "the max",
        ),
    ],
    "iwae_estimate": [
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_normal(z, mu, sigma)\n"
            "    return torch.logsumexp(log_w, dim=0)",
            "left out the -log K",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_normal(z, mu, sigma)\n"
            "    return log_w.mean(0)",
            "the ELBO estimate",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " + log_normal(z, mu, sigma)\n"
            "    return log_mean_exp(log_w)",
            "subtract it",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    return log_mean_exp(log_bernoulli(x, decoder(z)) - log_normal(z, mu, sigma))",
            "left out the prior",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_standard_normal(eps)\n"
            "    return log_mean_exp(log_w)",
            "-log sigma",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma**2 * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_normal(z, mu, sigma)\n"
            "    return log_mean_exp(log_w)",
            "sigma^2 where sigma belongs",
        ),
        (
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * eps\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_normal(z, mu, sigma)\n"
            "    return -log_mean_exp(log_w)",
            "negative bound",
        ),
        (  # draws its own noise instead of using eps
            "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
            "    z = mu + sigma * torch.randn_like(eps)\n"
            "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " - log_normal(z, mu, sigma)\n"
            "    return log_mean_exp(log_w)",
            "draws its own noise",
        ),
    ],
    "normalized_weights": [
        (
            "def normalized_weights(log_w):\n    return torch.softmax(log_w, dim=-1)",
            "normalized over the last dimension",
        ),
        (
            "def normalized_weights(log_w):\n    return torch.exp(log_w)",
            "without normalizing",
        ),
        (
            "def normalized_weights(log_w):\n    return torch.exp(log_w) / torch.exp(log_w).sum(0)",
            "NaN or infinite",
        ),
        (
            "def normalized_weights(log_w):\n"
            "    return torch.softmax(log_w, dim=0) * log_w.shape[0]",
            "divided by the mean weight",
        ),
        (
            "def normalized_weights(log_w):\n    return log_w / log_w.sum(0)",
            "normalized the log weights themselves",
        ),
        (
            "def normalized_weights(log_w):\n    return torch.log_softmax(log_w, dim=0)",
            "the log of the normalized weights",
        ),
    ],
    "gradient_snr": [
        (
            "def gradient_snr(grads):\n    return grads.mean(0).abs() / grads.std(0, correction=0)",
            "divides by R - 1",
        ),
        (
            "def gradient_snr(grads):\n    return grads.mean(0) / grads.std(0)",
            "absolute value",
        ),
        (
            "def gradient_snr(grads):\n    return grads.mean(0).abs() / grads.var(0)",
            "instead of the standard deviation",
        ),
        (
            "def gradient_snr(grads):\n    return grads.std(0) / grads.mean(0).abs()",
            "inverted the ratio",
        ),
        (
            "def gradient_snr(grads):\n    return grads.mean(1).abs() / grads.std(1)",
            "wrong dimension",
        ),
        (
            "def gradient_snr(grads):\n    return grads.abs().mean(0) / grads.std(0)",
            "averaged |g|",
        ),
    ],
}

VALID = {
    "log_mean_exp": [
        "def log_mean_exp(a):\n"
        "    m = a.max(dim=0, keepdim=True).values\n"
        "    return (m + torch.log(torch.exp(a - m).mean(0, keepdim=True)))[0]",
        "def log_mean_exp(a):\n    return torch.logsumexp(a - math.log(a.shape[0]), dim=0)",
    ],
    "iwae_estimate": [
        "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
        "    z = mu + sigma * eps\n"
        "    q = torch.distributions.Normal(mu, sigma)\n"
        "    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(sigma))\n"
        "    log_lik = torch.distributions.Bernoulli(logits=decoder(z)).log_prob(x).sum(-1)\n"
        "    log_w = log_lik + p.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)\n"
        "    return torch.logsumexp(log_w, 0) - math.log(eps.shape[0])",
        # log q through the noise: log N(eps; 0, I) - sum log sigma
        "def iwae_estimate(x, mu, sigma, eps, decoder):\n"
        "    z = mu + sigma * eps\n"
        "    log_q = log_standard_normal(eps) - torch.log(sigma).sum(-1)\n"
        "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z) - log_q\n"
        "    return log_mean_exp(log_w)",
    ],
    "normalized_weights": [
        "def normalized_weights(log_w):\n"
        "    w = torch.exp(log_w - log_w.max(0).values)\n"
        "    return w / w.sum(0)",
        "def normalized_weights(log_w):\n"
        "    return torch.exp(log_w - torch.logsumexp(log_w, dim=0))",
    ],
    "gradient_snr": [
        "def gradient_snr(grads):\n"
        "    R = grads.shape[0]\n"
        "    mean = grads.sum(0) / R\n"
        "    std = (((grads - mean) ** 2).sum(0) / (R - 1)).sqrt()\n"
        "    return mean.abs() / std",
        "def gradient_snr(grads):\n"
        "    return torch.abs(torch.mean(grads, dim=0)) / torch.std(grads, dim=0, correction=1)",
    ],
}
