"""Lower bounds on the evidence log p(x): the ELBO and the importance-weighted bound.

With an encoder q(z | x) = N(mu(x), diag(sigma(x)^2)), a prior p(z) = N(0, I) and
a decoder p(x | z), importance sampling writes the evidence as an expectation,

    p(x) = E_{q(z|x)} [ p(x, z) / q(z | x) ],

and Jensen's inequality (log E >= E log) turns it into bounds:

    ELBO      = E_q [ log p(x | z) ] - KL( q(z | x) || p(z) )             <= log p(x)
    L_K(x)    = E [ log (1/K) sum_k p(x, z_k) / q(z_k | x) ],  z_k ~ q    <= log p(x)

with ELBO = L_1 <= L_2 <= ... <= L_K -> log p(x) as K grows, and
log p(x) - ELBO = KL( q(z | x) || p(z | x) ).

Both functions return one Monte Carlo estimate per example, shape (B,), built
from reparameterized samples z (S, B, L), so they can be maximized by gradient
ascent in the encoder's and the decoder's parameters: ``loss = -elbo(...).mean()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from dgmlab import checks, gaussian
from dgmlab.densities import log_bernoulli

Encoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Decoder = Callable[[torch.Tensor], torch.Tensor]
LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# iwae_bound evaluates the decoder on at most about this many (sample, example, pixel)
# entries at once: 2**22 float32 numbers are 16 MiB per activation tensor.
CHUNK_ELEMENTS = 2**22


def _encode(x: object, encoder: Encoder) -> tuple[torch.Tensor, torch.Tensor]:
    checks.tensor("x", x, ndim=2, shape_hint="(B, D)")
    if not callable(encoder):
        raise TypeError(f"encoder must be callable, found {type(encoder).__name__}")
    out = encoder(x)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(
            f"encoder must return a pair (mu, sigma), each (B, L), found {type(out).__name__}"
        )
    mu, sigma = out
    B = x.shape[0]
    for name, value in (("mu", mu), ("sigma", sigma)):
        checks.tensor(f"encoder's {name}", value, ndim=2, shape_hint="(B, L)")
        if value.shape[0] != B:
            raise ValueError(
                f"encoder's {name} must have shape (B, L) with B = {B} (one row per x), "
                f"found {tuple(value.shape)}"
            )
    gaussian.check(mu, sigma)  # the one check of sigma > 0: the kernels below trust it
    return mu, sigma


def _decode(
    x: torch.Tensor, z: torch.Tensor, decoder: Decoder, log_likelihood: LogLikelihood
) -> torch.Tensor:
    """log p(x | z_s) for every sample: x (B, D), z (S, B, L) -> (S, B)."""
    if not callable(decoder):
        raise TypeError(f"decoder must be callable, found {type(decoder).__name__}")
    params = decoder(z)  # (S, B, D) for Bernoulli logits
    log_p_x_given_z = log_likelihood(x, params)  # (S, B)
    if tuple(log_p_x_given_z.shape) != tuple(z.shape[:2]):
        raise ValueError(
            f"log_likelihood(x, decoder(z)) must have shape (S, B) = {tuple(z.shape[:2])}, "
            f"found {tuple(log_p_x_given_z.shape)}; it must sum over the pixels"
        )
    return log_p_x_given_z


class ElboTerms(NamedTuple):
    """The ELBO and its two terms, each (B,).

    elbo = expected_log_p_x_given_z - kl. With ``analytic_kl=False`` the kl is the
    Monte Carlo estimate mean_s [log q(z_s | x) - log p(z_s)]: unbiased for a KL
    that is >= 0, but a single estimate can be negative.
    """

    elbo: torch.Tensor
    expected_log_p_x_given_z: torch.Tensor
    kl: torch.Tensor


def elbo_terms(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    analytic_kl: bool = True,
    log_likelihood: LogLikelihood = log_bernoulli,
) -> ElboTerms:
    """The ELBO with its reconstruction and KL terms, per example (see ``elbo``).

        ELBO(x) = E_q[ log p(x | z) ] - KL( q(z | x) || p(z) )

    Args and Returns: as for ``elbo``, but returns ``ElboTerms``, three (B,) tensors.
    """
    checks.positive_int("num_samples", num_samples)
    if not isinstance(analytic_kl, bool):
        raise TypeError(f"analytic_kl must be a bool, found {type(analytic_kl).__name__}")
    mu, sigma = _encode(x, encoder)  # (B, L) each
    z = gaussian._rsample(mu, sigma, num_samples, generator)  # (S, B, L)
    log_p_x_given_z = _decode(x, z, decoder, log_likelihood)  # (S, B)
    # E_q[log p(x | z)] ~= (1/S) sum_s log p(x | z_s)
    expected_log_p_x_given_z = log_p_x_given_z.mean(0)  # (B,)
    if analytic_kl:
        # KL(N(mu, sigma^2) || N(0, I)) = sum_l 0.5 [sigma_l^2 + mu_l^2 - 1 - log sigma_l^2]
        kl = gaussian._kl_standard(mu, sigma)  # (B,)
    else:
        # KL ~= (1/S) sum_s [log q(z_s | x) - log p(z_s)]
        log_q_z_given_x = gaussian._log_prob(z, mu, sigma)  # (S, B)
        log_p_z = gaussian._log_prob_standard(z)  # (S, B)
        kl = (log_q_z_given_x - log_p_z).mean(0)  # (B,)
    return ElboTerms(expected_log_p_x_given_z - kl, expected_log_p_x_given_z, kl)


def elbo(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    analytic_kl: bool = True,
    log_likelihood: LogLikelihood = log_bernoulli,
) -> torch.Tensor:
    """The evidence lower bound for each example, from S reparameterized samples.

        ELBO(x) = E_{q(z|x)}[ log p(x | z) ] - KL( q(z | x) || p(z) )
                ~= (1/S) sum_s log p(x | z_s) - KL,   z_s = mu + sigma * eps_s

    With ``analytic_kl`` the KL to the N(0, I) prior is in closed form; otherwise
    it is estimated with the same samples, so the whole ELBO is
    (1/S) sum_s [log p(x | z_s) + log p(z_s) - log q(z_s | x)].

    Args:
        x: (B, D) data.
        encoder: x (B, D) -> (mu, sigma), each (B, L); sigma > 0 (not log_sigma).
        decoder: z (S, B, L) -> the likelihood's parameters (S, B, D), e.g. Bernoulli logits.
        num_samples: S, samples of z per example.
        generator: optional ``torch.Generator`` for the samples.
        analytic_kl: closed-form KL (lower variance) or the Monte Carlo one.
        log_likelihood: (x (B, D), params (S, B, D)) -> log p(x | z) (S, B);
            ``densities.log_bernoulli`` (default) for binary pixels.

    Returns:
        (B,) the ELBO of each example, in nats; ``loss = -elbo(...).mean()``.
    """
    return elbo_terms(x, encoder, decoder, num_samples, generator, analytic_kl, log_likelihood).elbo


def iwae_bound(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    log_likelihood: LogLikelihood = log_bernoulli,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """The importance-weighted bound L_K on log p(x) for each example, from K samples of q.

        L_K(x) = log (1/K) sum_k w_k,   w_k = p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x)
               = logsumexp_k [ log p(x | z_k) + log p(z_k) - log q(z_k | x) ] - log K

    L_1 is the ELBO with a Monte Carlo KL; E[L_K] is non-decreasing in K and tends
    to log p(x). All K samples are drawn at once (K * B * L numbers); the decoder
    then runs on chunks of samples, so K = 5000 on B = 500 fits in memory. Under
    ``torch.no_grad()`` only one chunk's activations are alive at a time.

    Args:
        x: (B, D) data.
        encoder: x (B, D) -> (mu, sigma), each (B, L).
        decoder: z (S, B, L) -> likelihood parameters (S, B, D).
        num_samples: K, importance samples per example.
        generator: optional ``torch.Generator`` for the samples.
        log_likelihood: (x, params) -> log p(x | z) (S, B); Bernoulli by default.
        chunk_size: samples per decoder call; default keeps chunk * B * D <= CHUNK_ELEMENTS.
            The result does not depend on it (up to rounding).

    Returns:
        (B,) L_K(x) in nats.
    """
    log_w = log_importance_weights(
        x, encoder, decoder, num_samples, generator, log_likelihood, chunk_size
    )  # (K, B)
    return log_mean_exp(log_w, dim=0)  # (B,)


def log_mean_exp(a: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log (1/K) sum_k exp(a_k) along ``dim``, computed stably.

        log_mean_exp(a) = m + log (1/K) sum_k exp(a_k - m),   m = max_k a_k

    (``torch.logsumexp`` does the shift; exp(a_k) itself may under- or overflow.)

    Args:
        a: a tensor with K >= 1 entries along ``dim``, e.g. log weights (K, B).
        dim: the dimension averaged over.

    Returns:
        ``a`` without ``dim``.
    """
    checks.tensor("a", a, min_ndim=1)
    if not isinstance(dim, int) or not -a.dim() <= dim < a.dim():
        raise ValueError(f"dim must be an int in [-{a.dim()}, {a.dim()}), found {dim!r}")
    if a.shape[dim] == 0:
        raise ValueError(
            f"a must have K >= 1 entries along dim {dim}, found shape {tuple(a.shape)}"
        )
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])


def log_importance_weights(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    log_likelihood: LogLikelihood = log_bernoulli,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """The log importance weights of K reparameterized samples from q(z | x), per example.

        log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x),   z_k = mu + sigma * eps_k

    ``iwae_bound`` is their log-mean-exp; ``softmax(log_w, dim=0)`` are the self-normalized
    weights. Gradients flow through z to the encoder and through log p(x | z) to the decoder.

    Args:
        as for ``iwae_bound``.

    Returns:
        (K, B) log w in nats.
    """
    K = checks.positive_int("num_samples", num_samples)
    mu, sigma = _encode(x, encoder)  # (B, L) each
    B, D = x.shape
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(1, B * D))
    checks.positive_int("chunk_size", chunk_size)
    z = gaussian._rsample(mu, sigma, K, generator)  # (K, B, L)
    log_w_chunks = []
    for z_chunk in z.split(chunk_size, dim=0):  # (k, B, L) each
        log_p_x_given_z = _decode(x, z_chunk, decoder, log_likelihood)  # (k, B)
        log_p_z = gaussian._log_prob_standard(z_chunk)  # (k, B)
        log_q_z_given_x = gaussian._log_prob(z_chunk, mu, sigma)  # (k, B)
        # log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x)
        log_w_chunks.append(log_p_x_given_z + log_p_z - log_q_z_given_x)
    return torch.cat(log_w_chunks, dim=0)  # (K, B)


def iwae_bound_dreg(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    log_likelihood: LogLikelihood = log_bernoulli,
) -> torch.Tensor:
    """L_K with the doubly reparameterized gradient (DReG) for the encoder: a training loss.

    Its value is ``iwae_bound``'s on the same draws; its gradient is

        decoder theta:  sum_k wt_k d/dtheta log w_k                  (the plain IWAE gradient)
        encoder phi:    sum_k wt_k^2 d log w_k / d z_k  d z_k / d phi   (DReG, Tucker et al. 2019)

    with wt = softmax_k(log w) held constant and d log w_k / d z_k taken with q's parameters
    held fixed (only the path through z_k = mu + sigma * eps_k). Both are unbiased for the
    gradient of E[L_K]; the encoder's drops the score term sum_k wt_k d/dphi log q, whose
    noise swamps the signal as K grows. For the encoder the path gradient of each z_k is scaled
    by wt_k (a hook on z), which turns the plain path term's wt_k into wt_k^2.

    Args and Returns: as for ``iwae_bound`` (no chunking: K * B decoder rows at once).
    """
    K = checks.positive_int("num_samples", num_samples)
    mu, sigma = _encode(x, encoder)  # (B, L) each
    z = gaussian._rsample(mu, sigma, K, generator)  # (K, B, L)
    log_p_x_given_z = _decode(x, z, decoder, log_likelihood)  # (K, B)
    log_p_z = gaussian._log_prob_standard(z)  # (K, B)
    # q's parameters held fixed: its gradient reaches phi only through z
    log_q_z_given_x = gaussian._log_prob(z, mu.detach(), sigma.detach())  # (K, B)
    log_w = log_p_x_given_z + log_p_z - log_q_z_given_x  # (K, B)
    w_tilde = torch.softmax(log_w.detach(), dim=0)  # (K, B), constants
    if z.requires_grad:
        z.register_hook(lambda grad: grad * w_tilde[..., None])  # path term: wt_k -> wt_k^2
    surrogate = (w_tilde * log_w).sum(0)  # (B,): gradient sum_k wt_k d log w_k
    bound = log_mean_exp(log_w.detach(), dim=0)  # (B,) L_K
    return bound + (surrogate - surrogate.detach())


def importance_sampled_log_p_x(
    x: torch.Tensor,
    encoder: Encoder,
    decoder: Decoder,
    num_samples: int = 1000,
    generator: torch.Generator | None = None,
    log_likelihood: LogLikelihood = log_bernoulli,
) -> torch.Tensor:
    """An estimate of log p(x) when it cannot be computed exactly: L_K with a large K, no graph.

        log p(x) ~= log (1/K) sum_k p(x, z_k) / q(z_k | x),   z_k ~ q(z | x)

    Still a stochastic lower bound (in expectation), tight as K grows; report it
    as "log p(x) (IWAE, K=...)", never as the ELBO.

    Args:
        as for ``iwae_bound``; num_samples K defaults to 1000.

    Returns:
        (B,) in nats, detached.
    """
    with torch.no_grad():
        return iwae_bound(x, encoder, decoder, num_samples, generator, log_likelihood)
