"""Assignment 13: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "13_diffusion"

_ABAR = "    abar = torch.cumprod(1 - betas, 0)[t - 1][:, None]\n"
_POST = (
    "    a_all = torch.cumprod(1 - betas, 0)\n"
    "    a, ap = a_all[t - 1][:, None], a_all[t - 2][:, None]\n"
    "    b = betas[t - 1][:, None]\n"
    "    c0, ct = ap.sqrt() * b / (1 - a), (1 - b).sqrt() * (1 - ap) / (1 - a)\n"
)
_KL_HEAD = (
    "    abar = torch.cumprod(1 - betas, 0)[t - 1][:, None]\n"
    "    b = betas[t - 1][:, None]\n"
    "    mq, vq = posterior_mean_var(x0, xt, t, betas)\n"
)
_MP = "    mp = (xt - b / (1 - abar).sqrt() * eps_hat) / (1 - b).sqrt()\n"
_LOGP = "    log_p = torch.log_softmax(logits, -1).gather(-1, x0[..., None])[..., 0]\n"
_M = "    m = (xt == K).to(logits.dtype)\n"

WRONG = {
    "forward_marginal": [
        (
            "def forward_marginal(x0, t, betas):\n" + _ABAR + "    return abar * x0, 1 - abar",
            "the mean is sqrt(abar_t) * x0",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            "    alpha = (1 - betas)[t - 1][:, None]\n"
            "    return alpha.sqrt() * x0, 1 - alpha",
            "the product abar_t",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            "    a = torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, 0)])\n"
            "    abar = a[t - 1][:, None]\n"
            "    return abar.sqrt() * x0, 1 - abar",
            "abar_{t-1} (one step too few)",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            "    abar = torch.cumprod(betas, 0)[t - 1][:, None]\n"
            "    return abar.sqrt() * x0, 1 - abar",
            "you multiplied the betas",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            + _ABAR
            + "    return abar.sqrt() * x0, (1 - abar).sqrt()",
            "return the variance",
        ),
        (
            "def forward_marginal(x0, t, betas):\n" + _ABAR + "    return abar.sqrt() * x0, abar",
            "the noise variance is 1 - abar_t",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            + _ABAR
            + "    return abar.sqrt() * x0, betas[t - 1][:, None]",
            "one step's variance",
        ),
        (
            "def forward_marginal(x0, t, betas):\n"
            + _ABAR
            + "    return [abar.sqrt() * x0, 1 - abar]",
            "should return a tuple",
        ),
    ],
    "posterior_mean_var": [
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return ct * x0 + c0 * xt, (1 - ap) / (1 - a) * b",
            "swapped the coefficients",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return a.sqrt() * b / (1 - a) * x0 + ct * xt, (1 - ap) / (1 - a) * b",
            "you used abar_t in x0's coefficient",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return c0 * x0 + (1 - b) * (1 - ap) / (1 - a) * xt, (1 - ap) / (1 - a) * b",
            "you used alpha_t in xt's coefficient",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return ap * b / (1 - a) * x0 + ct * xt, (1 - ap) / (1 - a) * b",
            "forgot the square root on abar_{t-1}",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return c0 * x0 + ct * xt, b",
            "the forward step's variance",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return c0 * x0 + ct * xt, (1 - a) / (1 - ap) * b",
            "you inverted the ratio",
        ),
        (
            "def posterior_mean_var(x0, xt, t, betas):\n"
            + _POST
            + "    return c0 * x0 + ct * xt, ((1 - ap) / (1 - a) * b).sqrt()",
            "return the variance",
        ),
    ],
    "gaussian_step_kl": [
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    kl = 0.5 * torch.log(vq / b) + (b + (mq - mp) ** 2) / (2 * vq) - 0.5\n"
            "    return kl.sum(-1)",
            "you computed KL(p || q)",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    return 0.5 * torch.log(b / vq) + (vq + (mq - mp) ** 2) / (2 * b) - 0.5",
            "you did not sum over the D coordinates",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    kl = 0.5 * torch.log(b / vq) + (vq + (mq - mp) ** 2) / (2 * b) - 0.5\n"
            "    return kl.mean(-1)",
            "you averaged over the coordinates",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + "    mp = (xt + b / (1 - abar).sqrt() * eps_hat) / (1 - b).sqrt()\n"
            "    kl = 0.5 * torch.log(b / vq) + (vq + (mq - mp) ** 2) / (2 * b) - 0.5\n"
            "    return kl.sum(-1)",
            "you added the noise in the reverse mean",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    return ((vq + (mq - mp) ** 2) / (2 * b) - 0.5).sum(-1)",
            "left out the log-variance term",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    return ((mq - mp) ** 2 / (2 * vq)).sum(-1)",
            "the reverse model's is beta_t",
        ),
        (
            "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
            + _KL_HEAD
            + _MP
            + "    return gaussian.kl(mq, vq.expand_as(mq), mp, b.expand_as(mq))",
            "takes standard deviations",
        ),
    ],
    "masked_step_kl": [
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + _M
            + "    return -(m * log_p).sum(-1)",
            "left out the weight 1/t",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + _M
            + "    return -(m * log_p).sum(-1) * t",
            "you multiplied by t",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + _M
            + "    return -(m * log_p).sum(-1) / t.max()",
            "you weighted by 1/T",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n" + _LOGP + "    return -log_p.sum(-1) / t",
            "you summed over every pixel",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + "    m = (xt != K).to(logits.dtype)\n"
            "    return -(m * log_p).sum(-1) / t",
            "you summed over the revealed pixels",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _M
            + "    raw = logits.gather(-1, x0[..., None])[..., 0]\n"
            "    return -(m * raw).sum(-1) / t",
            "take log_softmax over the K categories",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + _M
            + "    return (m * log_p).sum(-1) / t",
            "the KL is the negative log-probability",
        ),
        (
            "def masked_step_kl(logits, x0, xt, t, K):\n"
            + _LOGP
            + _M
            + "    return -(m * log_p).sum(-1) / m.sum(-1).clamp(min=1) / t",
            "you averaged over the masked pixels",
        ),
    ],
}

VALID = {
    "forward_marginal": [
        "def forward_marginal(x0, t, betas):\n"
        "    mean, std = diffusion.forward_marginal(x0, t, betas)\n"
        "    return mean, std**2",
        "def forward_marginal(x0, t, betas):\n"
        "    log_abar = torch.log1p(-betas).cumsum(0)[t - 1]\n"
        "    abar = log_abar.exp()\n"
        "    return (0.5 * log_abar).exp()[:, None] * x0, (1 - abar)",
    ],
    "posterior_mean_var": [
        "def posterior_mean_var(x0, xt, t, betas):\n"
        "    mean, std = diffusion.posterior(x0, xt, t, betas)\n"
        "    return mean, (std**2).expand_as(x0)",
        "def posterior_mean_var(x0, xt, t, betas):\n"
        "    # precision-weighted: the product of q(x_{t-1} | x0) and q(xt | x_{t-1})\n"
        "    a_all = torch.cumprod(1 - betas, 0)\n"
        "    ap, b = a_all[t - 2][:, None], betas[t - 1][:, None]\n"
        "    prec = 1 / (1 - ap) + (1 - b) / b\n"
        "    mean = (ap.sqrt() * x0 / (1 - ap) + (1 - b).sqrt() * xt / b) / prec\n"
        "    return mean, 1 / prec",
    ],
    "gaussian_step_kl": [
        "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
        "    mq, sq = diffusion.posterior(x0, xt, t, betas)\n"
        "    mp = diffusion.reverse_mean(xt, t, eps_hat, betas)\n"
        "    sp = betas[t - 1].sqrt()[:, None]\n"
        "    return gaussian.kl(mq, sq.expand_as(mq), mp, sp.expand_as(mq))",
        "def gaussian_step_kl(x0, xt, t, eps_hat, betas):\n"
        "    q = torch.distributions.Normal(*[v for v in (lambda m, v: (m, v.sqrt().expand_as(m)))"
        "(*posterior_mean_var(x0, xt, t, betas))])\n"
        "    abar = torch.cumprod(1 - betas, 0)[t - 1][:, None]\n"
        "    b = betas[t - 1][:, None]\n"
        "    mp = (xt - b / (1 - abar).sqrt() * eps_hat) / (1 - b).sqrt()\n"
        "    p = torch.distributions.Normal(mp, b.sqrt().expand_as(mp))\n"
        "    return torch.distributions.kl_divergence(q, p).sum(-1)",
    ],
    "masked_step_kl": [
        "def masked_step_kl(logits, x0, xt, t, K):\n"
        "    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), x0, reduction='none')\n"
        "    return torch.where(xt == K, ce, torch.zeros_like(ce)).sum(1) / t",
        "def masked_step_kl(logits, x0, xt, t, K):\n"
        "    out = []\n"
        "    for b in range(x0.shape[0]):\n"
        "        d = (xt[b] == K).nonzero()[:, 0]\n"
        "        if d.numel() == 0:\n"
        "            out.append(logits.new_zeros(()))\n"
        "            continue\n"
        "        dist = torch.distributions.Categorical(logits=logits[b, d])\n"
        "        out.append(-dist.log_prob(x0[b, d]).sum() / t[b])\n"
        "    return torch.stack(out)",
    ],
}
