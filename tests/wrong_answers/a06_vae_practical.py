"""Assignment 06: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "06_vae_practical"

_F = "    F = torch.nn.functional\n"

WRONG = {
    "elbo_loss": [
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    return -log_bernoulli(x, decoder(mu + sigma * eps)).mean()",
            "you left out the KL term",
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return -(rec + kl_standard_normal(mu, sigma)).mean()",
            "you added the KL",
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return -(rec - kl_standard_normal(mu, sigma)).sum()",
            "you summed over the minibatch",
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return (rec - kl_standard_normal(mu, sigma)).mean()",
            "the loss is minus the mean ELBO",
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu))\n"
            "    return -(rec - kl_standard_normal(mu, sigma)).mean()",
            "you decoded mu",
        ),
        (  # the encoder returns sigma; exponentiating it as if it were log sigma
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, log_sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + torch.exp(log_sigma) * eps))\n"
            "    return -(rec - kl_standard_normal(mu, torch.exp(log_sigma))).mean()",
            "you treated sigma as log sigma",
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return -(rec / x.shape[-1] - kl_standard_normal(mu, sigma)).mean()",
            "you averaged log p(x | z) over pixels",
        ),
        (  # the KL written by hand with log sigma where log sigma^2 belongs (a missing 2)
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    kl = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma)).sum(-1)\n"
            "    return -(rec - kl).mean()",
            "is not right",
        ),
        (  # the right value, but the sample is cut from the graph: no gradient to the encoder
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    z = (mu + sigma * eps).detach()\n"
            "    rec = log_bernoulli(x, decoder(z))\n"
            "    return -(rec - kl_standard_normal(mu, sigma)).mean()",
            "did you detach z",
        ),
        (  # the right value with no graph at all
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    with torch.no_grad():\n"
            "        mu, sigma = encoder(x)\n"
            "        rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "        return -(rec - kl_standard_normal(mu, sigma)).mean()",
            "carries no gradient",
        ),
        (  # draws its own noise instead of using eps
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    z = mu + sigma * torch.randn_like(mu)\n"
            "    return -(log_bernoulli(x, decoder(z)) - kl_standard_normal(mu, sigma)).mean()",
            "is not right",
        ),
        (  # fits the visible test's 1-D latent only: fails on the hidden L = 2 networks
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    z = (mu[:, :1] + sigma[:, :1] * eps[:, :1]).expand_as(mu)\n"
            "    return -(log_bernoulli(x, decoder(z)) - kl_standard_normal(mu, sigma)).mean()",
            "L=2",  # the message names the hidden input it failed on
        ),
        (
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma**2 * eps))\n"
            "    return -(rec - kl_standard_normal(mu, sigma)).mean()",
            "sigma^2 where sigma belongs",
        ),
        (  # the KL averaged over the latent dimensions: right only when L = 1
            "def elbo_loss(x, encoder, decoder, eps):\n"
            "    mu, sigma = encoder(x)\n"
            "    rec = log_bernoulli(x, decoder(mu + sigma * eps))\n"
            "    return -(rec - kl_standard_normal(mu, sigma) / mu.shape[-1]).mean()",
            "elbo_loss with D=",
        ),
    ],
    "training_step": [
        (
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss.item()",
            "you did not clear the old gradients",
        ),
        (
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    return loss.item()",
            "you did not call optimizer.step()",
        ),
        (  # zero_grad in the wrong place wipes the fresh gradients before the step
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    optimizer.zero_grad()\n"
            "    optimizer.step()\n"
            "    return loss.item()",
            "the parameters did not move",
        ),
        (
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss.item()",
            "you stepped downhill on the ELBO",
        ),
        (
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).sum()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss.item()",
            "you summed the ELBO over the minibatch",
        ),
        (
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss",
            "should return the loss as a Python float",
        ),
        (  # ignores the generator: draws fresh noise, so the step cannot be replayed
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = -elbo(x, encoder, decoder).mean()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss.item()",
            "is not right",
        ),
        (  # returns the loss after the step, on fresh noise
            "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
            "    optimizer.zero_grad()\n"
            "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return -elbo(x, encoder, decoder).mean().item()",
            "the loss before the step",
        ),
    ],
    "train_bar_vae": [
        (  # far too short
            "def train_bar_vae(seed):\n"
            "    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(seed))\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    fit(vae, lambda xb: -vae.elbo(xb).mean(), x, steps=20, batch_size=500,\n"
            "        lr=1e-3, progress=False)\n"
            "    return vae.encoder, vae.decoder",
            "below -H(p_data)",
        ),
        (  # climbs the loss: maximizes minus the ELBO
            "def train_bar_vae(seed):\n"
            "    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(seed))\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    fit(vae, lambda xb: vae.elbo(xb).mean(), x, steps=100, batch_size=500,\n"
            "        lr=1e-3, progress=False)\n"
            "    return vae.encoder, vae.decoder",
            "check that the loss is minus the ELBO",
        ),
        (  # the optimizer only sees the decoder: the encoder stays as initialized
            "def train_bar_vae(seed):\n"
            "    torch.manual_seed(seed)\n"
            "    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(seed))\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    fit(vae.decoder.parameters(), lambda xb: -vae.elbo(xb).mean(), x, steps=400,\n"
            "        batch_size=500, lr=1e-2, progress=False)\n"
            "    return vae.encoder, vae.decoder",
            "",  # fails on log p(x) or on the ELBO, whichever the seed gives
        ),
        (
            "def train_bar_vae(seed):\n"
            "    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(seed))\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    fit(vae, lambda xb: -vae.elbo(xb).mean(), x, steps=20, batch_size=500,\n"
            "        progress=False)\n"
            "    return vae.decoder, vae.encoder",
            "Did you return (decoder, encoder)",
        ),
        (
            "def train_bar_vae(seed):\n    vae = VAE(data_dim=16, latent_dim=1)\n    return vae",
            "should return a pair (encoder, decoder)",
        ),
        (  # untrained: the networks as initialized
            "def train_bar_vae(seed):\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    return vae.encoder, vae.decoder",
            "below -H(p_data)",
        ),
        (  # barely trained: 50 Adam steps at a constant rate
            "def train_bar_vae(seed):\n"
            "    torch.manual_seed(seed)\n"
            "    x, _ = Bars().sample(5000, generator=torch.Generator().manual_seed(seed))\n"
            "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
            "    fit(vae, lambda xb: -vae.elbo(xb).mean(), x, steps=50, batch_size=500,\n"
            "        lr=1e-2, progress=False)\n"
            "    return vae.encoder, vae.decoder",
            "below -H(p_data)",
        ),
    ],
}

VALID = {
    "elbo_loss": [
        # the KL by hand, and the Bernoulli likelihood as binary cross-entropy
        "def elbo_loss(x, encoder, decoder, eps):\n"
        "    mu, sigma = encoder(x)\n"
        "    logits = decoder(mu + sigma * eps)\n"
        + _F
        + "    rec = -F.binary_cross_entropy_with_logits(logits, x, reduction='none').sum(-1)\n"
        "    kl = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma**2)).sum(-1)\n"
        "    return (kl - rec).mean()",
        # torch.distributions throughout
        "def elbo_loss(x, encoder, decoder, eps):\n"
        "    D = torch.distributions\n"
        "    mu, sigma = encoder(x)\n"
        "    q = D.Normal(mu, sigma)\n"
        "    p = D.Normal(torch.zeros_like(mu), torch.ones_like(sigma))\n"
        "    rec = D.Bernoulli(logits=decoder(mu + sigma * eps)).log_prob(x).sum(-1)\n"
        "    return -(rec - D.kl_divergence(q, p).sum(-1)).mean()",
        # the library's ELBO pieces in one call: the encoder's eps passed through a decoder shim
        "def elbo_loss(x, encoder, decoder, eps):\n"
        "    mu, sigma = encoder(x)\n"
        "    z = mu + sigma * eps\n"
        "    return (kl_standard_normal(mu, sigma) - log_bernoulli(x, decoder(z))).sum()"
        " / x.shape[0]",
    ],
    "training_step": [
        "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
        "    optimizer.zero_grad(set_to_none=False)\n"
        "    loss = -elbo(x, encoder, decoder, generator=generator).mean()\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
        "    return float(loss)",
        # clears the gradients by hand, parameter by parameter
        "def training_step(encoder, decoder, optimizer, x, generator=None):\n"
        "    for p in [*encoder.parameters(), *decoder.parameters()]:\n"
        "        p.grad = None\n"
        "    elbo_mean = elbo(x, encoder, decoder, generator=generator).sum() / x.shape[0]\n"
        "    (-elbo_mean).backward()\n"
        "    optimizer.step()\n"
        "    return -elbo_mean.item()",
    ],
    "train_bar_vae": [
        # a hand-written loop over training_step-like steps, minibatches drawn with replacement,
        # the learning rate stepped down by hand
        "def train_bar_vae(seed):\n"
        "    torch.manual_seed(seed)\n"
        "    g = torch.Generator().manual_seed(seed)\n"
        "    x, _ = Bars().sample(5000, generator=g)\n"
        "    vae = VAE(data_dim=16, latent_dim=1, hidden_dims=(64, 64))\n"
        "    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)\n"
        "    for step in range(1000):\n"
        "        if step == 700:\n"
        "            optimizer.param_groups[0]['lr'] = 1e-3\n"
        "        batch = x[torch.randint(0, len(x), (500,), generator=g)]\n"
        "        optimizer.zero_grad()\n"
        "        loss = -elbo(batch, vae.encoder, vae.decoder, generator=g).mean()\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "    return vae.encoder, vae.decoder",
    ],
}
