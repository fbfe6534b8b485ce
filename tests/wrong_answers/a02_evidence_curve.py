"""Assignment 02: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "02_evidence_curve"

_LJ = "def log_joint(x, z, decoder):\n"
_LE = "def log_evidence_by_quadrature(x, decoder, z, log_w):\n"
_PD = "def posterior_density(x, decoder, z, log_w):\n"
_AE = "def ascend_evidence(decoder, x, steps, lr):\n"

WRONG = {
    "log_joint": [
        (_LJ + "    return log_bernoulli_pairwise(x, decoder(z))", "left out the prior"),
        (
            _LJ + "    return log_bernoulli_pairwise(x, decoder(z)) + log_standard_normal(z).exp()",
            "not its log",
        ),
        (
            _LJ + "    return log_bernoulli_pairwise(x, decoder(z)) - 0.5 * z[:, 0] ** 2",
            "0.5 log(2 pi)",
        ),
        (
            _LJ + "    return log_bernoulli_pairwise(x, decoder(z)) / x.shape[1]"
            " + log_standard_normal(z)",
            "averaged over pixels",
        ),
        (
            _LJ + "    return (log_bernoulli_pairwise(x, decoder(z)) + log_standard_normal(z)).T",
            "return (B, G)",
        ),
        (  # log(sigmoid) written by hand: -inf for confident decoders (hidden tests, weights x3)
            _LJ + "    p = torch.sigmoid(decoder(z))\n"
            "    lik = x @ torch.log(p).T + (1 - x) @ torch.log(1 - p).T\n"
            "    return lik + log_standard_normal(z)",
            "NaN or infinite",
        ),
    ],
    "log_evidence_by_quadrature": [
        (_LE + "    return torch.logsumexp(log_joint(x, z, decoder), -1)", "quadrature weights"),
        (
            _LE + "    return torch.log((log_joint(x, z, decoder) + log_w).exp().sum(-1))",
            "NaN or infinite",
        ),
        (_LE + "    return (log_joint(x, z, decoder) + log_w).max(-1).values", "largest term"),
        (
            _LE + "    return torch.logsumexp(log_joint(x, z, decoder), -1)"
            " - torch.log(torch.tensor(float(z.shape[0])))",
            "mean over the grid",
        ),
        (
            _LE + "    return (log_w.exp() * log_joint(x, z, decoder)).sum(-1)",
            "not the log of the area",
        ),
        (  # the default grid whatever grid was given: right on the visible test's simpson_grid()
            _LE + "    grid = simpson_grid()\n"
            "    return torch.logsumexp(log_joint(x, grid.z, decoder) + grid.log_w, -1)",
            "log_evidence_by_quadrature",
        ),
        (
            _LE + "    return torch.logsumexp(log_joint(x, z, decoder) + log_w, 0)",
            "should have shape",
        ),
    ],
    "posterior_density": [
        (_PD + "    return log_joint(x, z, decoder).exp()", "divide it by the evidence"),
        (
            _PD + "    lj = log_joint(x, z, decoder)\n"
            "    return lj - torch.logsumexp(lj + log_w, -1, keepdim=True)",
            "log posterior",
        ),
        (_PD + "    return torch.softmax(log_joint(x, z, decoder), -1)", "probability per node"),
        (
            _PD + "    lj = log_joint(x, z, decoder)\n"
            "    return (lj + torch.logsumexp(lj + log_w, -1, keepdim=True)).exp()",
            "multiplied by the evidence",
        ),
    ],
    "ascend_evidence": [
        (
            _AE + "    opt = torch.optim.SGD(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        J = log_evidence(x, decoder).mean()\n"
            "        trace.append(J.detach())\n"
            "        opt.zero_grad(); J.backward(); opt.step()\n"
            "    trace.append(log_evidence(x, decoder).mean().detach())\n"
            "    return torch.stack(trace)",
            "you descended",
        ),
        (
            _AE + "    opt = torch.optim.SGD(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        values = log_evidence(x, decoder)\n"
            "        trace.append(values.mean().detach())\n"
            "        opt.zero_grad(); (-values.sum()).backward(); opt.step()\n"
            "    trace.append(log_evidence(x, decoder).mean().detach())\n"
            "    return torch.stack(trace)",
            "the sum of log p(x_b)",
        ),
        (
            _AE + "    opt = torch.optim.SGD(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        J = log_evidence(x, decoder).mean()\n"
            "        trace.append(J.detach())\n"
            "        (-J).backward(); opt.step()\n"
            "    trace.append(log_evidence(x, decoder).mean().detach())\n"
            "    return torch.stack(trace)",
            "did not clear the gradients",
        ),
        (  # trained a copy: the caller's decoder never changes
            _AE + "    decoder = copy.deepcopy(decoder)\n"
            "    opt = torch.optim.SGD(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        J = log_evidence(x, decoder).mean()\n"
            "        trace.append(J.detach())\n"
            "        opt.zero_grad(); (-J).backward(); opt.step()\n"
            "    trace.append(log_evidence(x, decoder).mean().detach())\n"
            "    return torch.stack(trace)",
            "change them in place",
        ),
        (  # Adam is a different algorithm from the plain gradient step asked for
            _AE + "    opt = torch.optim.Adam(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        J = log_evidence(x, decoder).mean()\n"
            "        trace.append(J.detach())\n"
            "        opt.zero_grad(); (-J).backward(); opt.step()\n"
            "    trace.append(log_evidence(x, decoder).mean().detach())\n"
            "    return torch.stack(trace)",
            "is not right",
        ),
        (  # forgot the final evaluation
            _AE + "    opt = torch.optim.SGD(decoder.parameters(), lr=lr)\n"
            "    trace = []\n"
            "    for _ in range(steps):\n"
            "        J = log_evidence(x, decoder).mean()\n"
            "        trace.append(J.detach())\n"
            "        opt.zero_grad(); (-J).backward(); opt.step()\n"
            "    return torch.stack(trace)",
            "should have shape",
        ),
    ],
}

VALID = {
    "log_joint": [
        _LJ + "    p_z = torch.distributions.Normal(0.0, 1.0).log_prob(z[:, 0])  # (G,)\n"
        "    bern = torch.distributions.Bernoulli(logits=decoder(z)[None])  # batch (1, G, D)\n"
        "    lik = bern.log_prob(x[:, None]).sum(-1)  # (B, G)\n"
        "    return lik + p_z",
        _LJ + "    F = torch.nn.functional\n"
        "    l = decoder(z)  # (G, D)\n"
        "    lik = x @ F.logsigmoid(l).T + (1 - x) @ F.logsigmoid(-l).T\n"
        "    return lik - 0.5 * torch.log(torch.tensor(2 * torch.pi)) - 0.5 * z[:, 0] ** 2",
    ],
    "log_evidence_by_quadrature": [
        _LE + "    return torch.logsumexp(log_joint(x, z, decoder) + log_w, dim=1)",
        _LE + "    a = log_joint(x, z, decoder) + log_w\n"
        "    m = a.max(-1, keepdim=True).values\n"
        "    return (m + torch.log(torch.exp(a - m).sum(-1, keepdim=True)))[:, 0]",
    ],
    "posterior_density": [
        _PD + "    lj = log_joint(x, z, decoder)\n"
        "    return torch.exp(lj - torch.logsumexp(lj + log_w, -1, keepdim=True))",
        _PD + "    lj = log_joint(x, z, decoder)\n"
        "    return torch.softmax(lj + log_w, -1) / log_w.exp()",
    ],
    "ascend_evidence": [
        _AE + "    trace = []\n"
        "    for _ in range(steps):\n"
        "        J = log_evidence(x, decoder).mean()\n"
        "        trace.append(J.item())\n"
        "        grads = torch.autograd.grad(J, list(decoder.parameters()))\n"
        "        with torch.no_grad():\n"
        "            for p, g in zip(decoder.parameters(), grads):\n"
        "                p.add_(lr * g)\n"
        "    trace.append(log_evidence(x, decoder).mean().item())\n"
        "    return torch.tensor(trace)",
        _LE
        + "    return torch.logsumexp(log_joint(x, z, decoder) + log_w, dim=-1)\n"
        + _AE
        + "    grid = simpson_grid()\n"
        "    opt = torch.optim.SGD(decoder.parameters(), lr=lr, maximize=True)\n"
        "    trace = []\n"
        "    for _ in range(steps):\n"
        "        J = log_evidence_by_quadrature(x, decoder, grid.z, grid.log_w).mean()\n"
        "        trace.append(J.detach())\n"
        "        opt.zero_grad(); J.backward(); opt.step()\n"
        "    with torch.no_grad():\n"
        "        trace.append(log_evidence_by_quadrature(x, decoder, grid.z, grid.log_w).mean())\n"
        "    return torch.stack(trace)",
    ],
}
