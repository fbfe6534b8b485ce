"""Assignment 09: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "09_maximum_likelihood_and_em"

_LOG_P_X_GIVEN_C = "    per_c = x @ theta.log().T + (1 - x) @ torch.log1p(-theta).T\n"

WRONG = {
    "mixture_log_likelihood": [
        (  # the textbook formula, probabilities multiplied: 0 for thousands of pixels
            "def mixture_log_likelihood(x, pi, theta):\n"
            "    p = (theta[None] ** x[:, None] * (1 - theta[None]) ** (1 - x[:, None])).prod(-1)\n"
            "    return torch.log((pi * p).sum(-1))",
            "infinite entries",
        ),
        (
            "def mixture_log_likelihood(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.logsumexp(per_c, dim=-1)",
            "log pi_c belongs inside",
        ),
        (
            "def mixture_log_likelihood(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return (pi.log() + per_c).max(-1).values",
            "a max",
        ),
        (
            "def mixture_log_likelihood(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return (pi.log() + per_c).sum(-1)",
            "summed log p(x, c) over the components",
        ),
        (
            "def mixture_log_likelihood(x, pi, theta):\n"
            "    return torch.logsumexp(pi.log() + x @ theta.log().T, dim=-1)",
            "(1 - x_d) log(1 - theta_cd)",
        ),
        (
            "def mixture_log_likelihood(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.logsumexp(per_c, dim=-1) - torch.log(torch.tensor(float(len(pi))))",
            "log of a mean",
        ),
    ],
    "responsibilities": [
        (
            "def responsibilities(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.softmax(per_c, dim=-1)",
            "left out the prior weights",
        ),
        (
            "def responsibilities(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.softmax(pi.log() + per_c, dim=0)",
            "normalized over the images",
        ),
        (
            "def responsibilities(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.log_softmax(pi.log() + per_c, dim=-1)",
            "log-responsibilities",
        ),
        (  # probabilities first: 0/0 for thousands of pixels
            "def responsibilities(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    joint = pi * per_c.exp()\n"
            "    return joint / joint.sum(-1, keepdim=True)",
            "NaN or infinite",
        ),
        (
            "def responsibilities(x, pi, theta):\n"
            + _LOG_P_X_GIVEN_C
            + "    return torch.softmax(2 * pi.log() + per_c, dim=-1)",
            "pi twice",
        ),
    ],
    "m_step": [
        (
            "def m_step(x, r, alpha):\n"
            "    N_c = r.sum(0)\n"
            "    return N_c / r.shape[0], (r.T @ x) / N_c[:, None]",
            "pseudo-counts in pi",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    pi = (N_c + alpha) / (N + C * alpha)\n"
            "    return pi, (r.T @ x + alpha) / (N_c[:, None] + alpha)",
            "N_c + 2 alpha",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    pi = (N_c + alpha) / (N + alpha)\n"
            "    return pi, (r.T @ x + alpha) / (N_c[:, None] + 2 * alpha)",
            "N + C alpha",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    return (N_c + alpha) / (N + C * alpha), (r.T @ x + alpha) / (N + 2 * alpha)",
            "divide by N_c",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    hard = torch.nn.functional.one_hot(r.argmax(1), C).to(x.dtype)\n"
            "    return (N_c + alpha) / (N + C * alpha), "
            "(hard.T @ x + alpha) / (N_c[:, None] + 2 * alpha)",
            "hard assignments",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    return torch.full((C,), 1.0 / C, dtype=x.dtype), "
            "(r.T @ x + alpha) / (N_c[:, None] + 2 * alpha)",
            "same weight 1/C",
        ),
        (
            "def m_step(x, r, alpha):\n"
            "    N, C = r.shape\n"
            "    N_c = r.sum(0)\n"
            "    pi = (N_c + alpha) / (N + C * alpha)\n"
            "    return [pi, (r.T @ x + alpha) / (N_c[:, None] + 2 * alpha)]",
            "should return a tuple",
        ),
    ],
    "kl_on_bars": [
        (
            "def kl_on_bars(log_p_theta, bars):\n"
            "    log_p_data = bars.log_prob(all_images(16).double())\n"
            "    return (log_p_theta.exp() * (log_p_theta - log_p_data)).sum()",
            "the other direction",
        ),
        (
            "def kl_on_bars(log_p_theta, bars):\n"
            "    log_p_data = bars.log_prob(all_images(16).double())\n"
            "    return -(log_p_data.exp() * log_p_theta).sum()",
            "cross-entropy",
        ),
        (
            "def kl_on_bars(log_p_theta, bars):\n"
            "    log_p_data = bars.log_prob(all_images(16).double())\n"
            "    return (log_p_data - log_p_theta).mean()",
            "equal weights",
        ),
        (
            "def kl_on_bars(log_p_theta, bars):\n"
            "    log_p_data = bars.log_prob(all_images(16).double())\n"
            "    return (log_p_data.exp() * (log_p_theta - log_p_data)).sum()",
            "sign flipped",
        ),
    ],
}

VALID = {
    "mixture_log_likelihood": [
        "def mixture_log_likelihood(x, pi, theta):\n"
        "    d = torch.distributions.Independent(torch.distributions.Bernoulli(probs=theta), 1)\n"
        "    return torch.logsumexp(pi.log() + d.log_prob(x[:, None, :]), dim=-1)",
        "def mixture_log_likelihood(x, pi, theta):\n"
        "    lp = (x[:, None] * theta.log() + (1 - x[:, None]) * (1 - theta).log()).sum(-1)\n"
        "    a = pi.log() + lp\n"
        "    m = a.max(-1, keepdim=True).values\n"
        "    return (m + (a - m).exp().sum(-1, keepdim=True).log()).squeeze(-1)",
    ],
    "responsibilities": [
        "def responsibilities(x, pi, theta):\n" + _LOG_P_X_GIVEN_C + "    a = pi.log() + per_c\n"
        "    return (a - torch.logsumexp(a, -1, keepdim=True)).exp()",
        "def responsibilities(x, pi, theta):\n    return BernoulliMixture(pi, theta).posterior(x)",
    ],
    "m_step": [
        "def m_step(x, r, alpha):\n"
        "    mixture = em.m_step(x, r, alpha=alpha)\n"
        "    return mixture.pi, mixture.theta",
        "def m_step(x, r, alpha):\n"
        "    N, C = r.shape\n"
        "    on = torch.einsum('nc,nd->cd', r, x)\n"
        "    off = torch.einsum('nc,nd->cd', r, 1 - x)\n"
        "    pi = (r.sum(0) + alpha) / (N + C * alpha)\n"
        "    return pi, (on + alpha) / (on + off + 2 * alpha)",
    ],
    "kl_on_bars": [
        "def kl_on_bars(log_p_theta, bars):\n"
        "    log_p_data = bars.log_prob(all_images(16).double())\n"
        "    return torch.nn.functional.kl_div(log_p_theta, log_p_data, reduction='sum',"
        " log_target=True)",
        "def kl_on_bars(log_p_theta, bars):\n"
        "    log_p_data = bars.log_prob(all_images(16).double())\n"
        "    return -bars.entropy() - (log_p_data.exp() * log_p_theta).sum()",
    ],
}
