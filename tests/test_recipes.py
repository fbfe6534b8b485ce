"""dgmlab.recipes: the bar VAE recipe leaves the caller's random state alone, and goes on from a
model trained elsewhere without changing it."""

import pytest
import torch

from dgmlab.models import VAE
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


def test_train_bar_vae_goes_on_from_a_copy_of_start():
    # phases 2 and 3 only, on a copy: catches training start in place, running phase 1 again
    # (the frozen decoder would then differ from start's), and a history that counts steps
    # it did not take
    start, _ = train_bar_vae(3, steps=10, iwae_steps=0, encoder_steps=0, progress=False)
    before = {name: p.clone() for name, p in start.state_dict().items()}
    vae, history = train_bar_vae(
        3, start=start, steps=0, iwae_steps=0, encoder_steps=7, progress=False
    )
    assert history.steps == 7
    for name, p in start.state_dict().items():
        assert torch.equal(p, before[name]), name
    for p, q in zip(vae.decoder.parameters(), start.decoder.parameters(), strict=True):
        assert torch.equal(p, q)  # phase 3 trains the encoder alone
    pairs = zip(vae.encoder.parameters(), start.encoder.parameters(), strict=True)
    assert any(not torch.equal(p, q) for p, q in pairs)
    _, both = train_bar_vae(3, start=start, steps=0, iwae_steps=4, encoder_steps=2, progress=False)
    assert both.steps == 6


def test_train_bar_vae_start_errors():
    with pytest.raises(TypeError, match="start must be a dgmlab VAE, found Linear"):
        train_bar_vae(0, start=torch.nn.Linear(16, 2), steps=0, progress=False)
    with pytest.raises(
        ValueError, match=r"start must have data_dim 16 and latent_dim 1 .* \(64, 2\)"
    ):
        train_bar_vae(0, start=VAE(64, 2), steps=0, progress=False)
    with pytest.raises(ValueError, match="steps must be 0 when start is given .* found 5"):
        train_bar_vae(0, start=VAE(16, 1), steps=5, progress=False)
    with pytest.raises(ValueError, match="steps must be >= 1, found 0"):
        train_bar_vae(0, steps=0, progress=False)
