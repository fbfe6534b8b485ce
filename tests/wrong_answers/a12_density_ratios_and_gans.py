"""Assignment 12: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "12_density_ratios_and_gans"

_JS_HEAD = "def jensen_shannon(log_p, log_q):\n    p, q = log_p.exp(), log_q.exp()\n"

WRONG = {
    "log_ratio_from_classifier": [
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n    return logits",
         "subtract the prior odds"),
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n"
         "    return logits + math.log(n_p / n_q)", "you added the prior odds"),
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n"
         "    return torch.exp(logits - math.log(n_p / n_q))", "return its log"),
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n    return torch.sigmoid(logits)",
         "sigmoid(logit)"),
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n"
         "    return logits - math.log(n_p / (n_p + n_q))", "a class probability"),
        ("def log_ratio_from_classifier(logits, n_p, n_q):\n    return logits - n_p / n_q",
         "is not right"),
    ],
    "discriminator_loss": [
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean()",
         "swapped the labels"),
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()",
         "-V"),
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return F.softplus(-real_logits).sum() + F.softplus(fake_logits).sum()",
         "summed over the batch"),
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()) / 2",
         "their sum"),
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return F.softplus(-real_logits).mean()", "left out the term"),
        ("def discriminator_loss(real_logits, fake_logits):\n"
         "    return torch.cat([F.softplus(-real_logits), F.softplus(fake_logits)]).mean()",
         "pooled"),
        ("def discriminator_loss(real_logits, fake_logits):\n"  # overflows at logit -100
         "    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)\n"
         "    return -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()",
         "NaN or infinite"),
    ],
    "generator_loss": [
        ("def generator_loss(fake_logits, saturating):\n"
         "    if not saturating:\n"
         "        return -F.softplus(fake_logits).mean()\n"
         "    return F.softplus(-fake_logits).mean()", "you returned the other loss"),
        ("def generator_loss(fake_logits, saturating):\n"
         "    if saturating:\n"
         "        return F.softplus(fake_logits).mean()\n"
         "    return -F.softplus(-fake_logits).mean()", "the sign is flipped"),
        ("def generator_loss(fake_logits, saturating):\n"
         "    if saturating:\n"
         "        return -F.softplus(fake_logits).sum()\n"
         "    return F.softplus(-fake_logits).sum()", "average it"),
        ("def generator_loss(fake_logits, saturating):\n"
         "    if saturating:\n"
         "        return -F.softplus(-fake_logits).mean()\n"
         "    return F.softplus(fake_logits).mean()", "mixed up softplus(l) and softplus(-l)"),
        ("def generator_loss(fake_logits, saturating):\n"  # ignores the flag
         "    return F.softplus(-fake_logits).mean()", "you returned the other loss"),
    ],
    "jensen_shannon": [
        (_JS_HEAD + "    m = p + q\n"
         "    return 0.5 * torch.special.xlogy(p, p / m).sum() "
         "+ 0.5 * torch.special.xlogy(q, q / m).sum()", "(p + q) / 2"),
        (_JS_HEAD + "    m = (p + q) / 2\n"
         "    return torch.special.xlogy(p, p / m).sum() + torch.special.xlogy(q, q / m).sum()",
         "factor 1/2"),
        (_JS_HEAD + "    m = (p + q) / 2\n    return torch.special.xlogy(p, p / m).sum()",
         "KL(p || m) alone"),
        (_JS_HEAD + "    return (p * (log_p - log_q)).sum()", "KL(p || q)"),
        (_JS_HEAD + "    m = (p + q) / 2\n"
         "    return (0.5 * (p * torch.log2(p / m)).sum() + 0.5 * (q * torch.log2(q / m)).sum())",
         "nats"),
        (_JS_HEAD + "    log_m = torch.log((p + q) / 2)\n"  # 0 * -inf = NaN on disjoint supports
         "    return 0.5 * (p * (log_p - log_m)).sum() + 0.5 * (q * (log_q - log_m)).sum()",
         "NaN or infinite"),
    ],
}  # fmt: skip

VALID = {
    "log_ratio_from_classifier": [
        "def log_ratio_from_classifier(logits, n_p, n_q):\n"
        "    return logits - math.log(n_p) + math.log(n_q)",
        "def log_ratio_from_classifier(logits, n_p, n_q):\n"
        "    d = torch.sigmoid(logits)\n"
        "    return torch.log(d) - torch.log1p(-d) + math.log(n_q / n_p)",
    ],
    "discriminator_loss": [
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))"
        " + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))",
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())",
    ],
    "generator_loss": [
        "def generator_loss(fake_logits, saturating):\n"
        "    if saturating:\n"
        "        return F.logsigmoid(-fake_logits).mean()\n"
        "    return -F.logsigmoid(fake_logits).mean()",
        "def generator_loss(fake_logits, saturating):\n"
        "    ones = torch.ones_like(fake_logits)\n"
        "    target = 0 * ones if saturating else ones\n"
        "    bce = F.binary_cross_entropy_with_logits(fake_logits, target)\n"
        "    return -bce if saturating else bce",
    ],
    "jensen_shannon": [
        _JS_HEAD + "    m = (p + q) / 2\n"
        "    return 0.5 * torch.special.xlogy(p, p / m).sum() "
        "+ 0.5 * torch.special.xlogy(q, q / m).sum()",
        _JS_HEAD + "    m = 0.5 * (p + q)\n"
        "    h = lambda a: -torch.special.xlogy(a, a).sum()\n"
        "    return h(m) - 0.5 * h(p) - 0.5 * h(q)",
    ],
}
