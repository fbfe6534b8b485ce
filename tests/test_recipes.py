"""dgmlab.recipes: the bar VAE recipe leaves the caller's random state alone."""

import torch

from dgmlab.recipes import train_bar_vae


def test_train_bar_vae_does_not_touch_the_global_random_state():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    vae, _ = train_bar_vae(0, steps=2, iwae_steps=1, encoder_steps=1, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    # and a seed still fixes the result, whatever the global state
    torch.manual_seed(456)
    again, _ = train_bar_vae(0, steps=2, iwae_steps=1, encoder_steps=1, progress=False)
    for p, q in zip(vae.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
