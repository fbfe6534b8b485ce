"""Assignment 03: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "03_jensen"

_JG = "def jensen_gap(log_z, w):\n"
_MC = "def monte_carlo_jensen(x):\n"
_IE = "def importance_estimates(x, z, decoder, mu, sigma):\n"
_LOG_W = (
    "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z) - log_normal(z, mu, sigma)\n"
)

WRONG = {
    "jensen_gap": [
        (
            _JG + "    return (w * log_z).sum(-1) - torch.logsumexp(torch.log(w) + log_z, -1)",
            "the other sign",
        ),
        (
            _JG + "    K = log_z.shape[-1]\n"
            "    return torch.logsumexp(log_z, -1) - math.log(K) - log_z.mean(-1)",
            "ignored the weights",
        ),
        (
            _JG + "    return torch.logsumexp(log_z, -1) - (w * log_z).sum(-1)",
            "left out log w",
        ),
        (  # forms z = exp(log z): 0 for log z = -1000, so log(0) - finite = -inf
            _JG + "    return torch.log((w * torch.exp(log_z)).sum(-1)) - (w * log_z).sum(-1)",
            "NaN or infinite",
        ),
        (
            _JG + "    return torch.logsumexp(torch.log(w) + log_z, -1)",
            "only the log of the weighted",
        ),
        (  # the second term averaged, not weighted: right for equal weights only
            _JG + "    return torch.logsumexp(torch.log(w) + log_z, -1) - log_z.mean(-1)",
            "jensen_gap",
        ),
    ],
    "monte_carlo_jensen": [
        (_MC + "    return torch.log(x.mean(0)), torch.log(x).mean(0)", "you swapped the two"),
        (_MC + "    return torch.log(x).mean(-1), torch.log(x.mean(-1))", "wrong dimension"),
        (_MC + "    return torch.log(x).mean(0), x.mean(0)", "not its log"),
        (  # E[log X] estimated as log of the median: right for a lognormal's mu only
            _MC + "    return torch.log(x.median(0).values), torch.log(x.mean(0))",
            "expected_log",
        ),
        (  # log of the sum, not of the mean: the 1/S left out
            _MC + "    return torch.log(x).mean(0), torch.logsumexp(torch.log(x), 0)",
            "log_expected",
        ),
    ],
    "importance_estimates": [
        (
            _IE + _LOG_W + "    return torch.logsumexp(log_w, 0), log_w.mean(0)",
            "left out the -log S",
        ),
        (
            _IE + "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)\n"
            "    return torch.logsumexp(log_w, 0) - math.log(z.shape[0]), log_w.mean(0)",
            "left out log q(z)",
        ),
        (
            _IE + "    log_w = log_bernoulli(x, decoder(z)) - log_normal(z, mu, sigma)\n"
            "    return torch.logsumexp(log_w, 0) - math.log(z.shape[0]), log_w.mean(0)",
            "left out the prior",
        ),
        (
            _IE + "    log_w = log_bernoulli(x, decoder(z)) + log_standard_normal(z)"
            " + log_normal(z, mu, sigma)\n"
            "    return torch.logsumexp(log_w, 0) - math.log(z.shape[0]), log_w.mean(0)",
            "added log q(z)",
        ),
        (
            _IE
            + _LOG_W
            + "    return log_w.mean(0), torch.logsumexp(log_w, 0) - math.log(z.shape[0])",
            "swapped",
        ),
        (  # the naive mean of the weights underflows for 64-pixel images (hidden tests)
            _IE + _LOG_W + "    return torch.log(torch.exp(log_w).mean(0)), log_w.mean(0)",
            "NaN or infinite",
        ),
        (
            _IE
            + _LOG_W
            + "    return torch.logsumexp(log_w, 0) - math.log(z.shape[0]), log_w.sum(0)",
            "summed the log weights",
        ),
        (
            _IE + "    S = z.shape[0]\n" + _LOG_W + "    lik = log_bernoulli(x, decoder(z))\n"
            "    return torch.logsumexp(log_w, 0) - math.log(S), lik.mean(0)",
            "expected log-likelihood only",
        ),
    ],
}

VALID = {
    "jensen_gap": [
        _JG + "    m = log_z.max(-1, keepdim=True).values\n"
        "    log_mean = m[..., 0] + torch.log((w * torch.exp(log_z - m)).sum(-1))\n"
        "    return log_mean - torch.einsum('...k,k->...', log_z, w)",
        _JG + "    log_w = torch.where(w > 0, torch.log(w), torch.tensor(float('-inf')))\n"
        "    return torch.logsumexp(log_w + log_z, -1) - (w * log_z).sum(-1)",
    ],
    "monte_carlo_jensen": [
        _MC + "    S = x.shape[0]\n"
        "    log_x = torch.log(x)\n"
        "    return log_x.sum(0) / S, torch.logsumexp(log_x, 0) - math.log(S)",
        _MC + "    return torch.mean(torch.log(x), dim=0), torch.mean(x, dim=0).log()",
    ],
    "importance_estimates": [
        _IE + "    q = torch.distributions.Normal(mu, sigma)\n"
        "    p = torch.distributions.Normal(0.0, 1.0)\n"
        "    lik = torch.distributions.Bernoulli(logits=decoder(z)).log_prob(x).sum(-1)\n"
        "    log_w = lik + p.log_prob(z)[..., 0] - q.log_prob(z)[..., 0]  # (S, B)\n"
        "    S = torch.tensor(float(z.shape[0]))\n"
        "    return torch.logsumexp(log_w, 0) - torch.log(S), log_w.mean(0)",
        _IE + _LOG_W + "    m = log_w.max(0).values\n"
        "    return m + torch.log(torch.exp(log_w - m).mean(0)), log_w.mean(0)",
    ],
}
