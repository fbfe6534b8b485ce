"""Assignment 05: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "05_reparameterization"

WRONG = {
    "reparameterized_sample": [
        (
            "def reparameterized_sample(mu, sigma, eps):\n    return mu + sigma**2 * eps",
            "sigma^2 (the variance)",
        ),
        (
            "def reparameterized_sample(mu, sigma, eps):\n    return mu + torch.exp(sigma) * eps",
            "log_sigma",
        ),
        ("def reparameterized_sample(mu, sigma, eps):\n    return mu + eps", "left out sigma"),
        (
            "def reparameterized_sample(mu, sigma, eps):\n    return mu * eps + sigma",
            "multiplied mu by the noise",
        ),
        (  # naive sampling: right distribution, other numbers, and no gradient
            "def reparameterized_sample(mu, sigma, eps):\n"
            "    return torch.distributions.Normal(mu, sigma).sample((eps.shape[0],))",
            "is not right",
        ),
        (  # the right numbers with the graph cut
            "def reparameterized_sample(mu, sigma, eps):\n    return (mu + sigma * eps).detach()",
            "no grad_fn",
        ),
        (  # mu cut from the graph: gradients reach sigma only
            "def reparameterized_sample(mu, sigma, eps):\n    return mu.detach() + sigma * eps",
            "",
        ),
    ],
    "pathwise_gradients": [
        (
            "def pathwise_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps).unsqueeze(-1).expand_as(eps)\n"
            "    return c, c * eps",
            "instead of its derivative",
        ),
        (
            "def pathwise_gradients(f, mu, sigma, eps):\n"
            "    z = (mu + sigma * eps).detach().requires_grad_(True)\n"
            "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
            "    return d, d",
            "dz/dsigma = eps",
        ),
        (
            "def pathwise_gradients(f, mu, sigma, eps):\n"
            "    z = (mu + sigma * eps).detach().requires_grad_(True)\n"
            "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
            "    return d.mean(0), (d * eps).mean(0)",
            "one estimate per sample",
        ),
        (
            "def pathwise_gradients(f, mu, sigma, eps):\n"
            "    z = (mu + sigma * eps).detach().requires_grad_(True)\n"
            "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
            "    return d, d * sigma",
            "multiplied by sigma instead of eps",
        ),
        (
            "def pathwise_gradients(f, mu, sigma, eps):\n"
            "    z = (mu + sigma * eps).detach().requires_grad_(True)\n"
            "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
            "    return d * eps, d * eps",
            "that is the sigma-gradient",
        ),
    ],
    "score_function_gradients": [
        (
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps).unsqueeze(-1)\n"
            "    return c * eps, c * (eps**2 - 1) / sigma",
            "left out the 1/sigma of the score",
        ),
        (
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps).unsqueeze(-1)\n"
            "    return c * eps / sigma**2, c * (eps**2 - 1) / sigma",
            "divided by sigma^2",
        ),
        (
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps).unsqueeze(-1)\n"
            "    return c * eps / sigma, c * eps**2 / sigma",
            "left out the -1",
        ),
        (
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps).unsqueeze(-1)\n"
            "    return c * eps / sigma, c * (eps**2 - 1)",
            "left out the 1/sigma",
        ),
        (  # the pathwise estimator in disguise: fails on the step cost (no derivative)
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    z = (mu + sigma * eps).detach().requires_grad_(True)\n"
            "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
            "    return d, d * eps",
            "",
        ),
        (  # forgot to add the trailing dimension: broadcasting goes wrong (or fails) for L > 1
            "def score_function_gradients(f, mu, sigma, eps):\n"
            "    c = f(mu + sigma * eps)\n"
            "    return (c * eps.transpose(0, -1) / sigma.transpose(0, -1)).transpose(0, -1),"
            " (c * (eps**2 - 1).transpose(0, -1) / sigma.transpose(0, -1)).transpose(0, -1)",
            "",
        ),
    ],
    "variance_of_the_mean": [
        (
            "def variance_of_the_mean(g):\n    return g.flatten(0, 1).var(0)",
            "average each repeat's S samples first",
        ),
        ("def variance_of_the_mean(g):\n    return g.mean(1).std(0)", "standard deviation"),
        (
            "def variance_of_the_mean(g):\n    return g.mean(1).var(0) / g.shape[1]",
            "divided by S once more",
        ),
        ("def variance_of_the_mean(g):\n    return g.var(1).mean(0)", "variance_of_the_mean"),
        (  # the two axes swapped: averages over the repeats, variance over the samples
            "def variance_of_the_mean(g):\n    return g.mean(0).var(0)",
            "variance_of_the_mean",
        ),
    ],
}

VALID = {
    "reparameterized_sample": [
        "def reparameterized_sample(mu, sigma, eps):\n    return torch.addcmul(mu, sigma, eps)",
        "def reparameterized_sample(mu, sigma, eps):\n"
        "    return torch.distributions.AffineTransform(mu, sigma)(eps)",
    ],
    "pathwise_gradients": [
        "def pathwise_gradients(f, mu, sigma, eps):\n"
        "    mu = mu.detach().clone().requires_grad_(True)\n"
        "    sigma = sigma.detach().clone().requires_grad_(True)\n"
        "    z = mu + sigma * eps\n"
        "    (d,) = torch.autograd.grad(f(z).sum(), z)\n"
        "    return d.detach(), (d * eps).detach()",
        "def pathwise_gradients(f, mu, sigma, eps):\n"
        "    grad = torch.func.vmap(torch.func.grad(lambda z: f(z[None])[0]))\n"
        "    z = mu + sigma * eps\n"
        "    d = grad(z.reshape(-1, z.shape[-1])).reshape(z.shape)\n"
        "    return d, d * eps",
    ],
    "score_function_gradients": [
        "def score_function_gradients(f, mu, sigma, eps):\n"
        "    z = (mu + sigma * eps).detach()\n"
        "    cost = f(z).unsqueeze(-1)\n"
        "    # the scores written in z: (z - mu) / sigma^2 and ((z - mu)^2 - sigma^2) / sigma^3\n"
        "    score_mu = (z - mu) / sigma**2\n"
        "    score_sigma = ((z - mu)**2 - sigma**2) / sigma**3\n"
        "    return cost * score_mu, cost * score_sigma",
        "def score_function_gradients(f, mu, sigma, eps):\n"
        "    cost = f(mu + sigma * eps)[..., None]\n"
        "    return cost * eps / sigma, cost * (eps * eps - 1) / sigma",
    ],
    "variance_of_the_mean": [
        "def variance_of_the_mean(g):\n"
        "    m = g.mean(1)\n"
        "    return ((m - m.mean(0))**2).sum(0) / (m.shape[0] - 1)",
        "def variance_of_the_mean(g):\n    return g.mean(1).var(0, correction=0)",
    ],
}
