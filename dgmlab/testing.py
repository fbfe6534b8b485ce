"""Checks for the exercises' tests: verdicts that tell a student what is wrong.

A failed check raises ``AssertionError`` with a message in plain words: what
was checked, what was expected, what was found, and, when the answer matches
a known mistake, which one ("you returned probabilities; return logits").

Hidden tests draw their inputs from ``grading_generator()``: a fresh random
stream on every run, or one fixed by the per-assignment seed in
``DGMLAB_GRADING_SEED`` (the grading command derives it from the term's secret), so
hard-coding the visible tests' answers fails.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping

import torch

from dgmlab.bounds import elbo
from dgmlab.data import Bars
from dgmlab.densities import kl_standard_normal, log_bernoulli
from dgmlab.evidence import log_evidence

SEED_VARIABLE = "DGMLAB_GRADING_SEED"  # the per-assignment seed kernels see; the one definition


def grading_generator(stream: int = 0) -> torch.Generator:
    """A CPU generator for hidden-test inputs.

    Seeded from ``$DGMLAB_GRADING_SEED`` (plus ``stream``, so each test can draw
    its own inputs) when the instructor sets it, otherwise from the operating
    system's entropy, so every grading run uses inputs nobody has seen.
    """
    secret = os.environ.get(SEED_VARIABLE)
    if secret is None or secret == "":
        seed = int.from_bytes(os.urandom(8), "little")
    else:
        try:
            seed = int(secret)
        except ValueError:
            raise ValueError(f"{SEED_VARIABLE} must be an integer, found {secret!r}") from None
        seed = (seed * 1_000_003 + stream) % (2**63)
    return torch.Generator().manual_seed(seed)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def _looks_like(hints: list[str]) -> str:
    """Name the slip a wrong result matches; when several slips give this very result, name
    them all rather than guess which one was made."""
    if len(hints) == 1:
        return f"It looks like {hints[0]}"
    listed = "; or ".join(hints)
    return f"Several slips give exactly this result on this input, so it is one of: {listed}"


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    if a.shape != b.shape:
        return False
    a64, b64 = a.detach().to("cpu", torch.float64), b.detach().to("cpu", torch.float64)
    return bool(torch.allclose(a64, b64, atol=atol, rtol=rtol, equal_nan=False))


def assert_close(
    found: object,
    expected: torch.Tensor,
    *,
    name: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    mistakes: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Assert that ``found`` is a tensor with ``expected``'s shape and values.

    Args:
        found: the student's result.
        expected: the reference result.
        name: how to call the result in the message, e.g. ``"decoder_forward(z, ...)"``.
        atol, rtol: tolerances, as in ``torch.allclose``; NaN never passes.
        mistakes: hint -> what that mistake would produce; when ``found`` matches
            one, the message names it.
    """
    if not isinstance(found, torch.Tensor):
        raise AssertionError(
            f"{name} should return a torch.Tensor, but returned {_describe(found)}"
        )
    if not found.is_floating_point():
        raise AssertionError(
            f"{name} should return a floating-point tensor, but returned dtype {found.dtype}"
        )
    if found.shape != expected.shape:
        message = f"{name} should have shape {tuple(expected.shape)}, but has {tuple(found.shape)}"
        hints = [
            hint
            for hint, wrong in (mistakes or {}).items()
            if isinstance(wrong, torch.Tensor)
            and wrong.shape == found.shape
            and _close(found, wrong, atol, rtol)
        ]
        if hints:
            message += ". " + _looks_like(hints)
        raise AssertionError(message)
    bad = ~torch.isfinite(found.detach())
    if bool(bad.any()) and not bool((~torch.isfinite(expected))[bad].all()):
        raise AssertionError(
            f"{name} contains {int(bad.sum())} NaN or infinite entries where finite values "
            "were expected; look for log(0), exp of a large number, or 0/0"
        )
    if _close(found, expected, atol, rtol):
        return
    hints = [hint for hint, wrong in (mistakes or {}).items() if _close(found, wrong, atol, rtol)]
    if hints:
        raise AssertionError(f"{name} is not right. {_looks_like(hints)}")
    diff = found.detach().to("cpu", torch.float64) - expected.detach().to("cpu", torch.float64)
    diff = diff.abs().nan_to_num(nan=float("inf"))
    worst = int(diff.argmax()) if diff.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), diff.shape))
    raise AssertionError(
        f"{name} is not right: at index {index} it is {found.flatten()[worst].item():.6g} "
        f"but should be {expected.flatten()[worst].item():.6g} "
        f"(largest difference {diff.max().item():.3g}, tolerance {atol} + {rtol} * |expected|)"
    )


def assert_equal_int(found: object, expected: int, *, name: str, mistakes=None) -> None:
    """Assert that ``found`` is the int ``expected`` (a Python int or an integer tensor of one)."""
    if isinstance(found, torch.Tensor) and found.numel() == 1 and not found.is_floating_point():
        found = int(found.item())
    if isinstance(found, bool) or not isinstance(found, int):
        raise AssertionError(f"{name} should return an int, but returned {_describe(found)}")
    found = int.__int__(found)  # a plain int: an int subclass may override == to always say yes
    if found == expected:
        return
    hints = [hint for hint, wrong in (mistakes or {}).items() if found == wrong]
    if hints:
        raise AssertionError(f"{name} returned {found}, not {expected}. {_looks_like(hints)}")
    raise AssertionError(f"{name} returned {found}, but the right answer is {expected}")


# --- Helpers for the graded tests of assignment 06 (the VAE practical) -------------------------
# Each takes the student's function as its first argument, and passes noise explicitly: the
# reference is the library given the same eps or the same generator, never a replay of a draw
# the library makes internally.


def flat_grad(loss: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """d loss / d every parameter of ``module``, as one vector; zeros where no gradient arrives.

    The graph is kept (``retain_graph=True``), so the same loss can be differentiated again.
    """
    params = list(module.parameters())
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g).flatten()
            for p, g in zip(params, grads, strict=True)
        ]
    )


def parameter_vector(*modules: torch.nn.Module) -> torch.Tensor:
    """Every parameter of ``modules``, detached and flattened into one vector."""
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def randomize_(module: torch.nn.Module, generator: torch.Generator, scale: float = 0.7):
    """Overwrite every parameter of ``module`` with ``scale * N(0, 1)`` draws from ``generator``
    (hidden tests: networks nobody has seen); returns the module."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return module


def reference_elbo_loss(x, encoder, decoder, eps: torch.Tensor) -> torch.Tensor:
    """Minus the mean one-sample ELBO with the given noise ``eps`` (B, L), from the library's
    densities: -(1/B) sum_b [log p(x_b | mu_b + sigma_b * eps_b) - KL(q_b || N(0, I))]."""
    mu, sigma = encoder(x)  # (B, L) each
    return -(log_bernoulli(x, decoder(mu + sigma * eps)) - kl_standard_normal(mu, sigma)).mean()


def _elbo_loss_mistakes(x, encoder, decoder, eps) -> dict[str, torch.Tensor]:
    mu, sigma = encoder(x)
    rec = log_bernoulli(x, decoder(mu + sigma * eps))  # (B,)
    kl = kl_standard_normal(mu, sigma)  # (B,)
    rec_exp = log_bernoulli(x, decoder(mu + sigma.exp() * eps))
    return {
        "you left out the KL term": -rec.mean(),
        "you added the KL; the ELBO subtracts it": -(rec + kl).mean(),
        "you summed over the minibatch; take the mean over images": -(rec - kl).sum(),
        "you returned the mean ELBO; the loss is minus the mean ELBO": (rec - kl).mean(),
        "you decoded mu; decode the sample z = mu + sigma * eps": -(
            log_bernoulli(x, decoder(mu)) - kl
        ).mean(),
        "you treated sigma as log sigma (exp(sigma)); the encoder returns sigma itself": -(
            rec_exp - kl
        ).mean(),
        "you treated sigma as log sigma (exp(sigma)) in the sample and the KL": -(
            rec_exp - kl_standard_normal(mu, sigma.exp())
        ).mean(),
        "you used sigma^2 where sigma belongs in z = mu + sigma * eps": -(
            log_bernoulli(x, decoder(mu + sigma**2 * eps)) - kl
        ).mean(),
        "you averaged log p(x | z) over pixels; sum them": -(rec / x.shape[-1] - kl).mean(),
    }


def check_elbo_loss(elbo_loss, x, encoder, decoder, eps, *, name, atol=1e-5) -> None:
    """Assignment 06, question 1: ``elbo_loss(x, encoder, decoder, eps)`` has the value and the
    gradients (to both networks) of ``reference_elbo_loss`` with the same ``eps`` (B, L)."""
    expected = reference_elbo_loss(x, encoder, decoder, eps)
    found = elbo_loss(x, encoder, decoder, eps.clone())
    if isinstance(found, torch.Tensor) and found.numel() == 1 and found.shape != ():
        raise AssertionError(
            f"{name} should return a scalar of shape (), found shape {tuple(found.shape)}"
        )
    with torch.no_grad():
        mistakes = _elbo_loss_mistakes(x, encoder, decoder, eps)
    assert_close(found, expected, name=name, atol=atol, mistakes=mistakes)
    if not found.requires_grad:
        raise AssertionError(
            f"{name} has the right value but carries no gradient: did you compute it under "
            "torch.no_grad(), or with .item(), .detach() or NumPy? The optimizer needs the graph."
        )
    mu, sigma = encoder(x)
    detached = -(
        log_bernoulli(x, decoder((mu + sigma * eps).detach())) - kl_standard_normal(mu, sigma)
    ).mean()
    assert_close(
        flat_grad(found, decoder),
        flat_grad(expected, decoder),
        name=f"the decoder's gradient of {name}",
        atol=atol,
        rtol=1e-4,
    )
    assert_close(
        flat_grad(found, encoder),
        flat_grad(expected, encoder),
        name=f"the encoder's gradient of {name}",
        atol=atol,
        rtol=1e-4,
        mistakes={
            "the gradient does not flow through the sample z to the encoder: did you "
            "detach z or draw it under torch.no_grad()?": flat_grad(detached, encoder)
        },
    )


def _reference_step(encoder, decoder, make_optimizer, x, seed, stale_grad):
    """The step the instructions describe, on copies: (loss, d loss / d params, params after)."""
    enc, dec = copy.deepcopy(encoder), copy.deepcopy(decoder)
    optimizer = make_optimizer([*enc.parameters(), *dec.parameters()])
    for p in [*enc.parameters(), *dec.parameters()]:
        p.grad = torch.full_like(p, stale_grad)
    optimizer.zero_grad()
    loss = -elbo(x, enc, dec, generator=torch.Generator().manual_seed(seed)).mean()
    loss.backward()
    grad = torch.cat([p.grad.flatten() for m in (enc, dec) for p in m.parameters()])
    optimizer.step()
    return loss.item(), grad, parameter_vector(enc, dec)


def check_training_step(
    training_step, encoder, decoder, make_optimizer, x, seed, *, name, lr=None, stale_grad=0.5
) -> None:
    """Assignment 06, question 2: one ``training_step(encoder, decoder, optimizer, x, generator)``
    moves the parameters exactly as the reference step does, given a generator seeded with
    ``seed`` for the ELBO's noise, and returns the loss before the step as a float.

    ``make_optimizer(params)`` builds the optimizer; with plain SGD give its ``lr`` so the
    message can name the slips (no zero_grad, the wrong sign, a sum over the minibatch).
    Every parameter starts with a stale gradient ``stale_grad``, as after an earlier step.
    """
    before = parameter_vector(encoder, decoder)
    ref_loss, grad, expected = _reference_step(
        encoder, decoder, make_optimizer, x, seed, stale_grad
    )
    optimizer = make_optimizer([*encoder.parameters(), *decoder.parameters()])
    for p in [*encoder.parameters(), *decoder.parameters()]:
        p.grad = torch.full_like(p, stale_grad)  # left over from an earlier step
    found = training_step(encoder, decoder, optimizer, x, torch.Generator().manual_seed(seed))
    after = parameter_vector(encoder, decoder)
    mistakes = {
        "you did not call optimizer.step() after loss.backward(): the parameters did not move": (
            before
        )
    }
    if lr is not None:  # plain SGD: theta <- theta - lr * grad, so each slip has a known result
        mistakes.update(
            {
                "you did not clear the old gradients (optimizer.zero_grad()) before backward": (
                    before - lr * (grad + stale_grad)
                ),
                "you stepped downhill on the ELBO: minimize minus the ELBO": before + lr * grad,
                "you summed the ELBO over the minibatch; the loss is minus the mean": (
                    before - lr * x.shape[0] * grad
                ),
            }
        )
    assert_close(
        after,
        expected,
        name=f"the parameters after {name}",
        atol=1e-6,
        rtol=1e-4,
        mistakes=mistakes,
    )
    if isinstance(found, torch.Tensor) or not isinstance(found, float):
        raise AssertionError(
            f"{name} should return the loss as a Python float (loss.item()), "
            f"found {type(found).__name__}"
        )
    if abs(found - ref_loss) > 1e-4 * max(1.0, abs(ref_loss)):
        hint = " (it looks like the ELBO, not minus it)" if abs(found + ref_loss) < 1e-3 else ""
        raise AssertionError(
            f"{name} returned {found:.6g}, but the loss before the step is {ref_loss:.6g}{hint}"
        )


# Assignment 06, question 3: how far below -H(p_data) a trained bar VAE may stay, in nats. The
# course's solution (1000 Adam steps, a tenth of the rate for the last 30%) reaches about 0.11 and
# 0.35, other valid schedules about 0.13 and 0.62 (the ELBO's gap depends on how well one Gaussian
# q fits each posterior, which varies from run to run); 50 Adam steps at a constant rate leave
# about 0.7 and 1.3, an untrained model about 6.5 for both (tests/test_testing.py measures the
# last two). 100 steps reach about 0.13 and 0.8: too close to valid runs to be told apart here.
BAR_VAE_MARGIN = 0.15
BAR_VAE_ELBO_MARGIN = 1.0
ELBO_SAMPLES = 10


def check_bar_vae(
    train_bar_vae, seed, *, margin=BAR_VAE_MARGIN, elbo_margin=BAR_VAE_ELBO_MARGIN
) -> tuple[float, float]:
    """Assignment 06, question 3: ``train_bar_vae(seed)`` returns ``(encoder, decoder)`` of a
    bar VAE with a 1-D latent whose expectations over p_data come close to the best possible:

        -H - E[log p(x)] < margin   and   -H - E[ELBO(x)] < elbo_margin,

    both summed over all 2^16 images weighted by p_data(x): log p(x) exactly by quadrature,
    the ELBO with its KL in closed form and ``ELBO_SAMPLES`` samples of z per image (a fixed
    generator; its Monte Carlo error under p_data is about 0.01 nats). An untrained model and
    one after 50 Adam steps fail both. Returns the two gaps.
    """
    name = f"train_bar_vae({seed})"
    result = train_bar_vae(seed)
    if not (isinstance(result, tuple) and len(result) == 2):
        found = type(result).__name__
        raise AssertionError(f"{name} should return a pair (encoder, decoder), found {found}")
    encoder, decoder = result
    with torch.no_grad():
        try:
            logits = decoder(torch.zeros(3, 1))
            mu, sigma = encoder(torch.zeros(3, 16))
        except Exception as error:
            raise AssertionError(
                f"{name}: the encoder should map x (B, 16) to (mu, sigma), each (B, 1), and the "
                f"decoder z (B, 1) to logits (B, 16); calling them failed with {error!r}. Did you "
                "return (decoder, encoder), or a VAE with a latent of more than 1 dimension?"
            ) from None
    if not isinstance(logits, torch.Tensor) or logits.shape != (3, 16) or mu.shape != (3, 1):
        raise AssertionError(
            f"{name}: the decoder should map z (3, 1) to logits (3, 16), and the encoder x "
            "(3, 16) to mu and sigma of shape (3, 1)"
        )
    bars = Bars()
    images = torch.cartesian_prod(*[torch.tensor([0.0, 1.0])] * bars.num_pixels)  # (2^D, D)
    noise = torch.Generator().manual_seed(0)
    with torch.no_grad():
        p_data = bars.log_prob(images).double().exp()  # (2^D,)
        log_p_x = torch.cat([log_evidence(x, decoder) for x in images.split(16384)])
        elbos = torch.cat(
            [elbo(x, encoder, decoder, ELBO_SAMPLES, noise) for x in images.split(16384)]
        )
    neg_entropy = -bars.entropy()
    expected_log_p = float((p_data * log_p_x.double()).sum())
    expected_elbo = float((p_data * elbos.double()).sum())
    gap, elbo_gap = neg_entropy - expected_log_p, neg_entropy - expected_elbo
    if not gap < margin:
        raise AssertionError(
            f"{name}: the expected log p(x) is {expected_log_p:.3f} nats, {gap:.3f} below "
            f"-H(p_data) = {neg_entropy:.3f}; it must be within {margin}. Train longer "
            "(more steps), lower the learning rate for the last steps, and check that the loss "
            "is minus the ELBO"
        )
    if not elbo_gap < elbo_margin:
        raise AssertionError(
            f"{name}: the expected ELBO is {expected_elbo:.3f} nats, {elbo_gap:.3f} below "
            f"-H(p_data) = {neg_entropy:.3f}; it must be within {elbo_margin}. Was the "
            "encoder trained with the decoder, on the ELBO, and long enough?"
        )
    return gap, elbo_gap
