"""Assignment 11: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "11_flows"

_ST = "    m = mask.to(x.dtype)\n    s, t = s_net(m * x), t_net(m * x)\n"
_ST_Z = "    m = mask.to(z.dtype)\n    s, t = s_net(m * z), t_net(m * z)\n"
_LOG_P = "    K, B, D = u.shape\n    log_p = log_prob((x + u).reshape(K * B, D)).reshape(K, B)\n"

WRONG = {
    "coupling_forward": [
        (  # the networks see everything: not invertible
            "def coupling_forward(x, mask, s_net, t_net):\n"
            "    m = mask.to(x.dtype)\n"
            "    s, t = s_net(x), t_net(x)\n"
            "    return m * x + (1 - m) * (x * torch.exp(s) + t), ((1 - m) * s).sum(-1)",
            "only the kept coordinates m * x",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return x * torch.exp(s) + t, ((1 - m) * s).sum(-1)",
            "where mask == 1, z = x",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return m * x + (1 - m) * (x * torch.exp(s) + t), s.sum(-1)",
            "only the transformed ones",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return m * x + (1 - m) * (x * torch.exp(s) + t), ((1 - m) * s).sum(-1).exp()",
            "return its log",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return m * x + (1 - m) * ((x + t) * torch.exp(s)), ((1 - m) * s).sum(-1)",
            "shifted before scaling",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return m * x + (1 - m) * (x * torch.exp(-s) + t), -((1 - m) * s).sum(-1)",
            "exp(-s)",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return m * x + (1 - m) * (x * torch.exp(s) + t), (1 - m) * s",
            "has shape (B,)",
        ),
        (
            "def coupling_forward(x, mask, s_net, t_net):\n"
            + _ST
            + "    return [m * x + (1 - m) * (x * torch.exp(s) + t), ((1 - m) * s).sum(-1)]",
            "should return a tuple",
        ),
    ],
    "coupling_inverse": [
        (
            "def coupling_inverse(z, mask, s_net, t_net):\n"
            + _ST_Z
            + "    return m * z + (1 - m) * (z * torch.exp(-s) - t)",
            "first subtract t",
        ),
        (
            "def coupling_inverse(z, mask, s_net, t_net):\n"
            + _ST_Z
            + "    return m * z + (1 - m) * (z - t) * torch.exp(s)",
            "divides by it",
        ),
        (
            "def coupling_inverse(z, mask, s_net, t_net):\n"
            "    m = mask.to(z.dtype)\n"
            "    s, t = s_net(z), t_net(z)\n"
            "    return m * z + (1 - m) * (z - t) * torch.exp(-s)",
            "feed them m * z",
        ),
        (
            "def coupling_inverse(z, mask, s_net, t_net):\n"
            + _ST_Z
            + "    return (z - t) * torch.exp(-s)",
            "where mask == 1, x = z",
        ),
        (
            "def coupling_inverse(z, mask, s_net, t_net):\n"
            + _ST_Z
            + "    return m * z + (1 - m) * (z + t) * torch.exp(-s)",
            "subtracts it",
        ),
    ],
    "flow_log_prob": [
        (
            "def flow_log_prob(x, layers):\n"
            "    h = x\n"
            "    for layer in layers:\n"
            "        h, _ = layer(h)\n"
            "    return -0.5 * (h.pow(2) + math.log(2 * math.pi)).sum(-1)",
            "left out the log-determinants",
        ),
        (
            "def flow_log_prob(x, layers):\n"
            "    h, total = x, 0.0\n"
            "    for layer in layers:\n"
            "        h, log_det = layer(h)\n"
            "        total = total - log_det\n"
            "    return -0.5 * (h.pow(2) + math.log(2 * math.pi)).sum(-1) + total",
            "so add them",
        ),
        (
            "def flow_log_prob(x, layers):\n"
            "    h, total = x, 0.0\n"
            "    for layer in layers:\n"
            "        h, log_det = layer(h)\n"
            "        total = total + log_det\n"
            "    return -0.5 * h.pow(2).sum(-1) + total",
            "constant",
        ),
        (
            "def flow_log_prob(x, layers):\n"
            "    h = x\n"
            "    for layer in layers:\n"
            "        h, log_det = layer(h)\n"
            "    return -0.5 * (h.pow(2) + math.log(2 * math.pi)).sum(-1) + log_det",
            "only the last layer",
        ),
        (
            "def flow_log_prob(x, layers):\n"
            "    h, total = x, 0.0\n"
            "    for layer in layers:\n"
            "        h, log_det = layer(h)\n"
            "        total = total + log_det\n"
            "    return -0.5 * (x.pow(2) + math.log(2 * math.pi)).sum(-1) + total",
            "evaluated the base density at x",
        ),
    ],
    "dequantized_bound": [
        (
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return torch.logsumexp(log_p, dim=0) - math.log(K)",
            "left out the noise's density",
        ),
        (
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return torch.logsumexp(log_p - D * math.log(width), dim=0) - math.log(K)",
            "you subtracted D log(width)",
        ),
        (
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return log_p.mean(0) + D * math.log(width)",
            "log of the mean",
        ),
        (
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return torch.logsumexp(log_p + D * math.log(width), dim=0)",
            "the -log K",
        ),
        (
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return torch.logsumexp(log_p + math.log(width), dim=0) - math.log(K)",
            "D log(width)",
        ),
        (  # the mean of the densities, not of the weights, in probability space: underflows
            "def dequantized_bound(log_prob, x, u, width):\n"
            + _LOG_P
            + "    return torch.log(torch.exp(log_p).mean(0))",
            "noise's density",
        ),
    ],
}

VALID = {
    "coupling_forward": [
        "def coupling_forward(x, mask, s_net, t_net):\n"
        "    keep = mask.bool()\n"
        "    h = torch.where(keep, x, torch.zeros_like(x))\n"
        "    s = torch.where(keep, torch.zeros_like(x), s_net(h))\n"
        "    t = torch.where(keep, torch.zeros_like(x), t_net(h))\n"
        "    return x * s.exp() + t, s.sum(dim=1)",
        "def coupling_forward(x, mask, s_net, t_net):\n"
        "    m = mask.double().to(x.dtype)\n"
        "    kept = x * m\n"
        "    s = s_net(kept) * (1 - m)\n"
        "    z = kept + (1 - m) * x * torch.exp(s) + (1 - m) * t_net(kept)\n"
        "    return (z, torch.einsum('bd->b', s))",
    ],
    "coupling_inverse": [
        "def coupling_inverse(z, mask, s_net, t_net):\n"
        "    keep = mask.bool()\n"
        "    h = torch.where(keep, z, torch.zeros_like(z))\n"
        "    return torch.where(keep, z, (z - t_net(h)) / torch.exp(s_net(h)))",
    ],
    "flow_log_prob": [
        "def flow_log_prob(x, layers):\n"
        "    log_dets = []\n"
        "    for layer in layers:\n"
        "        x, ld = layer(x)\n"
        "        log_dets.append(ld)\n"
        "    base = torch.distributions.Normal(torch.zeros_like(x), torch.ones_like(x))\n"
        "    return base.log_prob(x).sum(-1) + torch.stack(log_dets).sum(0)",
    ],
    "dequantized_bound": [
        "def dequantized_bound(log_prob, x, u, width):\n"
        "    K = u.shape[0]\n"
        "    log_w = torch.stack([log_prob(x + u_k) for u_k in u])\n"
        "    log_w = log_w - x.shape[1] * math.log(1 / width)\n"
        "    return torch.logsumexp(log_w, 0) - torch.log(torch.tensor(float(K), dtype=x.dtype))",
        "def dequantized_bound(log_prob, x, u, width):\n"
        "    return dequantized_log_likelihood(log_prob, x, u.shape[0], width=width, u=u)",
    ],
}
