"""Assignment 10: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "10_autoregressive"

_MARGINAL = (
    "    D = p.numel().bit_length() - 1\n"
    "    table = []\n"
    "    for d in range(D):\n"
    "        m = p.view(2 ** (d + 1), -1).sum(-1).view(2**d, 2)\n"
)
_CHAIN_HEAD = (
    "    B, D = x.shape\n"
    "    index = torch.zeros(B, dtype=torch.long)\n"
    "    log_p = torch.zeros(B, dtype=torch.float64)\n"
    "    for d in range(D):\n"
    "        p_one = table[d][index]\n"
)
_SAMPLE_HEAD = (
    "    B, D = u.shape\n    x = torch.zeros(B, D, dtype=torch.long)\n    with torch.no_grad():\n"
)

WRONG = {
    "conditionals_from_joint": [
        (
            "def conditionals_from_joint(p):\n" + _MARGINAL + "        table.append(m[:, 1])\n"
            "    return table",
            "divide by the prefix's probability",
        ),
        (
            "def conditionals_from_joint(p):\n"
            + _MARGINAL
            + "        table.append(m[:, 0] / m.sum(-1))\n"
            "    return table",
            "p(x_d = 0 | prefix)",
        ),
        (
            "def conditionals_from_joint(p):\n"
            + _MARGINAL
            + "        table.append(m[:, 1] / m[:, 1].sum())\n"
            "    return table",
            "normalized over the prefixes",
        ),
        (
            "def conditionals_from_joint(p):\n"
            + _MARGINAL
            + "        table.append((m[:, 1].sum() / m.sum()).expand(2**d))\n"
            "    return table",
            "condition on the prefix",
        ),
        (  # the prefix read with the last pixel on axis 0: x_d's axis taken from the back
            "def conditionals_from_joint(p):\n"
            "    D = p.numel().bit_length() - 1\n"
            "    table = []\n"
            "    for d in range(D):\n"
            "        m = p.view(-1, 2 ** (d + 1)).sum(0).view(2**d, 2)\n"
            "        table.append(m[:, 1] / m.sum(-1))\n"
            "    return table",
            "conditionals_from_joint",
        ),
    ],
    "chain_rule_log_prob": [
        (
            "def chain_rule_log_prob(x, table):\n"
            + _CHAIN_HEAD
            + "        log_p = log_p + p_one.log()\n"
            "        index = 2 * index + x[:, d].long()\n"
            "    return log_p",
            "use 1 - p where x_d = 0",
        ),
        (
            "def chain_rule_log_prob(x, table):\n"
            + _CHAIN_HEAD
            + "        log_p = log_p + torch.where(x[:, d] == 1, p_one, 1 - p_one)\n"
            "        index = 2 * index + x[:, d].long()\n"
            "    return log_p",
            "adds log-probabilities",
        ),
        (
            "def chain_rule_log_prob(x, table):\n"
            "    B, D = x.shape\n"
            "    log_p = torch.zeros(B, dtype=torch.float64)\n"
            "    for d in range(D):\n"
            "        index = (x[:, :d].long() * 2 ** torch.arange(d)).sum(-1)\n"
            "        p_one = table[d][index]\n"
            "        log_p = log_p + torch.where(x[:, d] == 1, p_one, 1 - p_one).log()\n"
            "    return log_p",
            "least significant bit",
        ),
        (
            "def chain_rule_log_prob(x, table):\n"
            + _CHAIN_HEAD
            + "        log_p = log_p + torch.where(x[:, d] == 1, p_one, 1 - p_one).log()\n"
            "        index = 2 * index + x[:, d].long()\n"
            "    return log_p / D",
            "log p(x) is the sum",
        ),
        (  # the prefix never grows: every pixel read as if it came first
            "def chain_rule_log_prob(x, table):\n"
            "    B, D = x.shape\n"
            "    log_p = torch.zeros(B, dtype=torch.float64)\n"
            "    for d in range(D):\n"
            "        p_one = table[d][torch.zeros(B, dtype=torch.long)]\n"
            "        log_p = log_p + torch.where(x[:, d] == 1, p_one, 1 - p_one).log()\n"
            "    return log_p",
            "chain_rule_log_prob",
        ),
    ],
    "made_mask": [
        (
            "def made_mask(in_degrees, out_degrees, output_layer):\n"
            "    return (out_degrees[:, None] >= in_degrees[None, :]).float()",
            "a pixel would see itself",
        ),
        (
            "def made_mask(in_degrees, out_degrees, output_layer):\n"
            "    return (out_degrees[:, None] > in_degrees[None, :]).float()",
            "may see inputs of its own degree",
        ),
        (
            "def made_mask(in_degrees, out_degrees, output_layer):\n"
            "    if output_layer:\n"
            "        return (out_degrees[:, None] < in_degrees[None, :]).float()\n"
            "    return (out_degrees[:, None] <= in_degrees[None, :]).float()",
            "wrong way round",
        ),
        (
            "def made_mask(in_degrees, out_degrees, output_layer):\n"
            "    if output_layer:\n"
            "        return (out_degrees[None, :] > in_degrees[:, None]).float()\n"
            "    return (out_degrees[None, :] >= in_degrees[:, None]).float()",
            "return (O, A)",
        ),
    ],
    "sample_sequential": [
        (
            "def sample_sequential(model, u):\n"
            "    with torch.no_grad():\n"
            "        logits = model(torch.zeros(u.shape, dtype=torch.long))\n"
            "    return sample_categorical(logits, u)",
            "feed drawn pixels back",
        ),
        (
            "def sample_sequential(model, u):\n" + _SAMPLE_HEAD + "        for i in range(D):\n"
            "            x[:, i] = sample_categorical(model(x)[:, i], u[:, i])\n"
            "    return x",
            "follow model.order",
        ),
        (
            "def sample_sequential(model, u):\n"
            + _SAMPLE_HEAD
            + "        for i in model.order.tolist():\n"
            "            x[:, i] = model(x)[:, i].argmax(-1)\n"
            "    return x",
            "argmax",
        ),
        (  # the d-th uniform for the d-th pixel drawn, not for pixel i
            "def sample_sequential(model, u):\n"
            + _SAMPLE_HEAD
            + "        for d, i in enumerate(model.order.tolist()):\n"
            "            x[:, i] = sample_categorical(model(x)[:, i], u[:, d])\n"
            "    return x",
            "sample_sequential",
        ),
    ],
}

VALID = {
    "conditionals_from_joint": [
        (  # the same marginals from a D-dimensional view
            "def conditionals_from_joint(p):\n"
            "    D = p.numel().bit_length() - 1\n"
            "    cube = p.view((2,) * D)\n"
            "    out = []\n"
            "    for d in range(D):\n"
            "        m = cube.sum(dim=tuple(range(d + 1, D))) if d + 1 < D else cube\n"
            "        m = m.reshape(2**d, 2)\n"
            "        out.append(m[:, 1] / (m[:, 0] + m[:, 1]))\n"
            "    return out"
        ),
        "def conditionals_from_joint(p):\n"
        "    D = p.numel().bit_length() - 1\n"
        "    return conditional_table(all_images(D).long(), weights=p)",
    ],
    "chain_rule_log_prob": [
        (  # the index recomputed from scratch for each pixel
            "def chain_rule_log_prob(x, table):\n"
            "    B, D = x.shape\n"
            "    total = torch.zeros(B, dtype=torch.float64)\n"
            "    for d in range(D):\n"
            "        weights = 2 ** torch.arange(d - 1, -1, -1)\n"
            "        index = (x[:, :d].long() * weights).sum(-1)\n"
            "        q = table[d][index]\n"
            "        total += x[:, d] * q.log() + (1 - x[:, d]) * torch.log1p(-q)\n"
            "    return total"
        ),
        "def chain_rule_log_prob(x, table):\n    return table_log_prob(x, table)",
    ],
    "made_mask": [
        "def made_mask(in_degrees, out_degrees, output_layer):\n"
        "    return mask(in_degrees, out_degrees, strict=output_layer)",
        "def made_mask(in_degrees, out_degrees, output_layer):\n"
        "    gap = out_degrees.unsqueeze(1) - in_degrees.unsqueeze(0)\n"
        "    return (gap >= 1).float() if output_layer else (gap >= 0).float()",
    ],
    "sample_sequential": [
        "def sample_sequential(model, u):\n    return model.sample(u.shape[0], u=u)",
        (  # the inverse CDF written out
            "def sample_sequential(model, u):\n"
            "    B, D = u.shape\n"
            "    x = torch.zeros(B, D, dtype=torch.long)\n"
            "    for i in model.order.tolist():\n"
            "        with torch.no_grad():\n"
            "            cdf = torch.softmax(model(x)[:, i].double(), -1).cumsum(-1)\n"
            "        x[:, i] = (cdf[:, :-1] <= u[:, i:i + 1].double()).sum(-1)\n"
            "    return x"
        ),
    ],
}
