"""Every error message dgmlab's core public functions raise: its type, and that it names the
argument and what was found. (get_device's and seed_everything's are in test_device.py.)

A mismatched device is made with the 'meta' device against 'cpu', so it is real here too.
"""

import math

import pytest
import torch

from dgmlab import checks, set_validation
from dgmlab.checks import validation_enabled
from dgmlab.data import Bars, bars, bars_entropy
from dgmlab.densities import (
    kl_normal,
    kl_standard_normal,
    log_bernoulli,
    log_bernoulli_pairwise,
    log_normal,
    log_standard_normal,
)
from dgmlab.evidence import (
    log_evidence,
    log_joint_on_grid,
    posterior_on_grid,
    simpson_grid,
)
from dgmlab.models import GenerativeNetwork, InferenceNetwork, count_parameters

SIGMA_HINT = r"did you pass log_sigma or log_var where sigma belongs\?"
x4 = torch.tensor([[0.0, 1.0, 1.0, 0.0]])  # (1, 4) a binary image
l4 = torch.zeros(1, 4)  # (1, 4) logits
ones2 = torch.ones(2, 3)
meta2 = torch.ones(2, 3, device="meta")
int2 = torch.ones(2, 3, dtype=torch.int64)
neg2 = torch.tensor([[1.0, -0.31, 2.0], [1.0, 1.0, 1.0]])
nan2 = torch.tensor([[0.0, math.nan, 0.0], [0.0, 0.0, 0.0]])
x16 = torch.zeros(2, 16)


@pytest.fixture(autouse=True)
def validation_on():
    """Every test starts with value checks on, and leaves them as it found them."""
    before = validation_enabled()
    set_validation(True)
    try:
        yield
    finally:
        set_validation(before)


def constant_decoder(shape):
    return lambda z: torch.zeros(shape)


def p(call, exc, match, id):
    return pytest.param(call, exc, match, id=id)


DENSITY_ERRORS = [
    # log_bernoulli
    p(
        lambda: log_bernoulli([[0.0, 1.0]], l4),
        TypeError,
        "x must be a torch.Tensor, found list",
        "lb-x-list",
    ),
    p(
        lambda: log_bernoulli(x4, 0.0),
        TypeError,
        "logits must be a torch.Tensor, found float",
        "lb-l-float",
    ),
    p(
        lambda: log_bernoulli(x4.long(), l4),
        TypeError,
        r"x must be a floating-point tensor, found dtype torch.int64; convert it with x.float\(\)",
        "lb-x-int",
    ),
    p(
        lambda: log_bernoulli(x4, l4.int()),
        TypeError,
        "logits must be a floating-point tensor, found dtype torch.int32",
        "lb-l-int",
    ),
    p(
        lambda: log_bernoulli(torch.tensor(1.0), l4),
        ValueError,
        r"x must have shape \(\.\.\., D\), found shape \(\) \(0-D\)",
        "lb-x-0d",
    ),
    p(
        lambda: log_bernoulli(x4, torch.tensor(0.0)),
        ValueError,
        r"logits must have shape \(\.\.\., D\), found shape \(\) \(0-D\)",
        "lb-l-0d",
    ),
    p(
        lambda: log_bernoulli(x4, l4.to("meta")),
        ValueError,
        "x, logits must be on the same device, found x on cpu, logits on meta",
        "lb-device",
    ),
    p(
        lambda: log_bernoulli(torch.zeros(2, 4), torch.zeros(3, 4)),
        ValueError,
        r"x, logits must have broadcastable shapes, found x \(2, 4\), logits \(3, 4\)",
        "lb-broadcast",
    ),
    p(
        lambda: log_bernoulli(torch.zeros(2, 1), torch.zeros(2, 4)),
        ValueError,
        r"x and logits must have the same last \(pixel\) dimension, "
        r"found x \(2, 1\) and logits \(2, 4\)",
        "lb-last-dim",
    ),
    p(
        lambda: log_bernoulli(2 * x4, l4),
        ValueError,
        r"x must have every entry in \[0, 1\], found values in \[0, 2\]; Bernoulli data",
        "lb-x-range",
    ),
    p(
        lambda: log_bernoulli(x4 - 0.5, l4),
        ValueError,
        r"x must have every entry in \[0, 1\], found values in \[-0.5, 0.5\]",
        "lb-x-negative",
    ),
    p(
        lambda: log_bernoulli(torch.tensor([[0.5, math.nan]]), l4[:, :2]),
        ValueError,
        r"x must have every entry in \[0, 1\], found 1 NaN entries",
        "lb-x-nan",
    ),
    p(
        lambda: log_bernoulli(x4, torch.tensor([[0.0, math.nan, math.nan, 1.0]])),
        ValueError,
        "logits must not contain NaN, found 2 NaN entries",
        "lb-l-nan",
    ),
    # log_bernoulli_pairwise
    p(
        lambda: log_bernoulli_pairwise(x4[0], l4),
        ValueError,
        r"x must have shape \(B, D\), found shape \(4,\) \(1-D\)",
        "lbp-x-1d",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4, l4[None]),
        ValueError,
        r"logits must have shape \(G, D\), found shape \(1, 1, 4\) \(3-D\)",
        "lbp-l-3d",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4, "l"),
        TypeError,
        "logits must be a torch.Tensor, found str",
        "lbp-l-str",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4.long(), l4),
        TypeError,
        "x must be a floating-point tensor, found dtype torch.int64",
        "lbp-x-int",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4, l4.to("meta")),
        ValueError,
        "x, logits must be on the same device, found x on cpu, logits on meta",
        "lbp-device",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4, torch.zeros(5, 3)),
        ValueError,
        r"x and logits must have the same number of pixels D, found x \(1, 4\) and logits \(5, 3\)",
        "lbp-D",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4.double(), l4),
        TypeError,
        "x and logits must share a dtype, found torch.float64 and torch.float32",
        "lbp-dtype",
    ),
    p(
        lambda: log_bernoulli_pairwise(3 * x4, l4),
        ValueError,
        r"x must have every entry in \[0, 1\], found values in \[0, 3\]",
        "lbp-x-range",
    ),
    p(
        lambda: log_bernoulli_pairwise(x4, torch.full((2, 4), math.nan)),
        ValueError,
        "logits must not contain NaN, found 8 NaN entries",
        "lbp-l-nan",
    ),
    # log_normal
    p(
        lambda: log_normal(1.0, ones2, ones2),
        TypeError,
        "z must be a torch.Tensor, found float",
        "ln-z-float",
    ),
    p(
        lambda: log_normal(ones2, None, ones2),
        TypeError,
        "mu must be a torch.Tensor, found NoneType",
        "ln-mu-none",
    ),
    p(
        lambda: log_normal(ones2, ones2, int2),
        TypeError,
        "sigma must be a floating-point tensor, found dtype torch.int64",
        "ln-sigma-int",
    ),
    p(
        lambda: log_normal(torch.tensor(0.0), ones2, ones2),
        ValueError,
        r"z must have shape \(\.\.\., L\), found shape \(\) \(0-D\)",
        "ln-z-0d",
    ),
    p(
        lambda: log_normal(ones2, meta2, ones2),
        ValueError,
        "z, mu, sigma must be on the same device, found z on cpu, mu on meta, sigma on cpu",
        "ln-device",
    ),
    p(
        lambda: log_normal(ones2, torch.ones(4, 3), ones2),
        ValueError,
        r"z, mu, sigma must have broadcastable shapes, "
        r"found z \(2, 3\), mu \(4, 3\), sigma \(2, 3\)",
        "ln-broadcast",
    ),
    p(
        lambda: log_normal(ones2, ones2, neg2),
        ValueError,
        f"sigma must be positive, found min -0.31; {SIGMA_HINT}",
        "ln-sigma-negative",
    ),
    p(
        lambda: log_normal(ones2, ones2, 0 * ones2),
        ValueError,
        f"sigma must be positive, found min 0; {SIGMA_HINT}",
        "ln-sigma-zero",
    ),
    p(
        lambda: log_normal(ones2, ones2, nan2),
        ValueError,
        f"sigma must be positive, found min nan; {SIGMA_HINT}",
        "ln-sigma-nan",
    ),
    # log_standard_normal
    p(
        lambda: log_standard_normal([0.0]),
        TypeError,
        "z must be a torch.Tensor, found list",
        "lsn-list",
    ),
    p(
        lambda: log_standard_normal(int2),
        TypeError,
        "z must be a floating-point tensor, found dtype torch.int64",
        "lsn-int",
    ),
    p(
        lambda: log_standard_normal(torch.tensor(0.0)),
        ValueError,
        r"z must have shape \(\.\.\., L\), found shape \(\)",
        "lsn-0d",
    ),
    # kl_normal
    p(
        lambda: kl_normal(0.0, ones2, ones2, ones2),
        TypeError,
        "mu_q must be a torch.Tensor, found float",
        "kl-mu_q",
    ),
    p(
        lambda: kl_normal(ones2, int2, ones2, ones2),
        TypeError,
        "sigma_q must be a floating-point tensor, found dtype torch.int64",
        "kl-sigma_q-int",
    ),
    p(
        lambda: kl_normal(ones2, ones2, torch.tensor(0.0), ones2),
        ValueError,
        r"mu_p must have shape \(\.\.\., L\), found shape \(\)",
        "kl-mu_p-0d",
    ),
    p(
        lambda: kl_normal(ones2, ones2, ones2, "1"),
        TypeError,
        "sigma_p must be a torch.Tensor, found str",
        "kl-sigma_p-str",
    ),
    p(
        lambda: kl_normal(ones2, ones2, ones2, meta2),
        ValueError,
        "mu_q, sigma_q, mu_p, sigma_p must be on the same device, found .*sigma_p on meta",
        "kl-device",
    ),
    p(
        lambda: kl_normal(ones2, ones2, torch.ones(5, 3), ones2),
        ValueError,
        r"must have broadcastable shapes, found mu_q \(2, 3\), sigma_q \(2, 3\), mu_p \(5, 3\)",
        "kl-broadcast",
    ),
    p(
        lambda: kl_normal(ones2, neg2, ones2, ones2),
        ValueError,
        f"sigma_q must be positive, found min -0.31; {SIGMA_HINT}",
        "kl-sigma_q-negative",
    ),
    p(
        lambda: kl_normal(ones2, ones2, ones2, -ones2),
        ValueError,
        f"sigma_p must be positive, found min -1; {SIGMA_HINT}",
        "kl-sigma_p-negative",
    ),
    # kl_standard_normal: messages use the caller's names, mu and sigma
    p(
        lambda: kl_standard_normal((0.0,), ones2),
        TypeError,
        "mu must be a torch.Tensor, found tuple",
        "kls-mu",
    ),
    p(
        lambda: kl_standard_normal(ones2, 1.0),
        TypeError,
        "sigma must be a torch.Tensor, found float",
        "kls-sigma-float",
    ),
    p(
        lambda: kl_standard_normal(ones2, int2),
        TypeError,
        "sigma must be a floating-point tensor, found dtype torch.int64",
        "kls-sigma-int",
    ),
    p(
        lambda: kl_standard_normal(ones2, meta2),
        ValueError,
        "mu, sigma must be on the same device, found mu on cpu, sigma on meta",
        "kls-device",
    ),
    p(
        lambda: kl_standard_normal(ones2, torch.ones(3, 2)),
        ValueError,
        r"mu, sigma must have broadcastable shapes, found mu \(2, 3\), sigma \(3, 2\)",
        "kls-broadcast",
    ),
    p(
        lambda: kl_standard_normal(ones2, neg2),
        ValueError,
        f"^sigma must be positive, found min -0.31; {SIGMA_HINT}",
        "kls-sigma-negative",
    ),
]


EVIDENCE_ERRORS = [
    p(
        lambda: simpson_grid(num_points=2.0),
        TypeError,
        "num_points must be an int, found float",
        "grid-float",
    ),
    p(
        lambda: simpson_grid(num_points=1),
        ValueError,
        "num_points must be >= 3, found 1",
        "grid-too-few",
    ),
    p(
        lambda: simpson_grid(num_points=2000),
        ValueError,
        "num_points must be odd for Simpson's rule, found 2000",
        "grid-even",
    ),
    p(
        lambda: simpson_grid((8.0, -8.0)),
        ValueError,
        r"z_range must be \(low, high\) with finite low < high, found \(8.0, -8.0\)",
        "grid-reversed",
    ),
    p(
        lambda: simpson_grid((1.0, 1.0)),
        ValueError,
        r"z_range must be .*found \(1.0, 1.0\)",
        "grid-empty",
    ),
    p(
        lambda: simpson_grid((-math.inf, 8.0)),
        ValueError,
        r"z_range must be .*finite.*found \(-inf, 8.0\)",
        "grid-inf",
    ),
    p(
        lambda: simpson_grid((0.0, math.nan)),
        ValueError,
        r"z_range must be .*found \(0.0, nan\)",
        "grid-nan",
    ),
    p(
        lambda: simpson_grid((-1.0, 0.0, 1.0)),
        ValueError,
        r"z_range must be \(low, high\).*found \(-1.0, 0.0, 1.0\)",
        "grid-three",
    ),
    p(
        lambda: simpson_grid(8.0),
        ValueError,
        r"z_range must be \(low, high\).*found 8.0",
        "grid-scalar",
    ),
    p(
        lambda: log_evidence(x16[0], GenerativeNetwork()),
        ValueError,
        r"x must have shape \(B, D\), found shape \(16,\) \(1-D\)",
        "ev-x-1d",
    ),
    p(
        lambda: log_evidence(x16.long(), GenerativeNetwork()),
        TypeError,
        "x must be a floating-point tensor, found dtype torch.int64",
        "ev-x-int",
    ),
    p(
        lambda: log_evidence(x16.tolist(), GenerativeNetwork()),
        TypeError,
        "x must be a torch.Tensor, found list",
        "ev-x-list",
    ),
    p(
        lambda: log_evidence(x16, GenerativeNetwork(), num_points=100),
        ValueError,
        "num_points must be odd for Simpson's rule, found 100",
        "ev-even",
    ),
    p(
        lambda: log_evidence(x16, GenerativeNetwork(), z_range=(2, -2)),
        ValueError,
        r"z_range must be \(low, high\) .*found \(2, -2\)",
        "ev-z_range",
    ),
    p(
        lambda: log_evidence(x16, constant_decoder((2001, 15))),
        ValueError,
        r"decoder must map z of shape \(G, 1\) to logits of shape \(G, D\) = \(2001, 16\), "
        r"found \(2001, 15\)",
        "ev-decoder-D",
    ),
    p(
        lambda: log_evidence(x16, constant_decoder((16,))),
        ValueError,
        r"decoder must map z .*= \(2001, 16\), found \(16,\)",
        "ev-decoder-1d",
    ),
    p(
        lambda: log_evidence(x16, lambda z: z.numpy()),
        TypeError,
        "decoder must return a tensor of logits, found ndarray",
        "ev-decoder-numpy",
    ),
    p(
        lambda: log_evidence(x16, GenerativeNetwork(data_dim=9)),
        ValueError,
        r"decoder must map .*\(G, D\) = \(2001, 16\), found \(2001, 9\)",
        "ev-decoder-network-D",
    ),
    p(
        lambda: log_evidence(x16.double(), GenerativeNetwork()),
        TypeError,
        "z must have the network's dtype torch.float32, found torch.float64",
        "ev-decoder-dtype",
    ),
    p(
        lambda: log_evidence(x16.to("meta"), GenerativeNetwork()),
        ValueError,
        "z must be on the network's device cpu, found meta",
        "ev-decoder-device",
    ),
    p(
        lambda: log_evidence(x16 + 2, GenerativeNetwork()),
        ValueError,
        r"x must have every entry in \[0, 1\], found values in \[2, 2\]",
        "ev-x-range",
    ),
    p(
        lambda: log_evidence(x16, lambda z: torch.full((z.shape[0], 16), math.nan)),
        ValueError,
        "logits must not contain NaN",
        "ev-decoder-nan",
    ),
    p(
        lambda: posterior_on_grid(x16[None], GenerativeNetwork()),
        ValueError,
        r"x must have shape \(B, D\), found shape \(1, 2, 16\)",
        "post-x-3d",
    ),
    p(
        lambda: posterior_on_grid(x16, GenerativeNetwork(), num_points=4),
        ValueError,
        "num_points must be odd",
        "post-even",
    ),
    p(
        lambda: log_joint_on_grid(
            x16, GenerativeNetwork(), simpson_grid(num_points=5, device="meta")
        ),
        ValueError,
        "x, grid must be on the same device, found x on cpu, grid on meta",
        "joint-device",
    ),
]


BARS_ERRORS = [
    p(lambda: Bars(size=0), ValueError, "size must be >= 1, found 0", "size-0"),
    p(lambda: Bars(size=2.5), TypeError, "size must be an int, found float", "size-float"),
    p(lambda: Bars(size=True), TypeError, "size must be an int, found bool", "size-bool"),
    p(
        lambda: Bars(size=8).entropy(),
        ValueError,
        r"size must be <= 7 for the exact entropy, found 8; estimate it instead",
        "entropy-size",
    ),
    p(
        lambda: bars_entropy(size=9),
        ValueError,
        "size must be <= 7 for the exact entropy, found 9",
        "bars_entropy-size",
    ),
    p(
        lambda: Bars(flip_prob=-0.1),
        ValueError,
        r"flip_prob must be in \[0, 1\], found -0.1",
        "flip-negative",
    ),
    p(
        lambda: Bars(flip_prob=1.5),
        ValueError,
        r"flip_prob must be in \[0, 1\], found 1.5",
        "flip-above-1",
    ),
    p(
        lambda: Bars(flip_prob=math.nan),
        ValueError,
        r"flip_prob must be in \[0, 1\], found nan",
        "flip-nan",
    ),
    p(lambda: Bars(flip_prob="0.1"), TypeError, "flip_prob must be a float, found str", "flip-str"),
    p(
        lambda: Bars(column_probs=(0.5, 0.5)),
        ValueError,
        r"column_probs must have one entry per column \(4\), found 2",
        "pi-count",
    ),
    p(
        lambda: Bars(column_probs=(0.5, 0.5, 0.5, -0.5)),
        ValueError,
        r"column_probs must be non-negative, found \[0.5, 0.5, 0.5, -0.5\]",
        "pi-negative",
    ),
    p(
        lambda: Bars(column_probs=(0.1, 0.1, 0.1, 0.1)),
        ValueError,
        "column_probs must sum to 1, found sum 0.4",
        "pi-sum",
    ),
    p(
        lambda: Bars(column_probs=(math.nan, 0.5, 0.25, 0.25)),
        ValueError,
        "column_probs must be non-negative, found \\[nan",
        "pi-nan",
    ),
    p(
        lambda: Bars(column_probs=("a", "b", "c", "d")),
        TypeError,
        r"column_probs must be a sequence of 4 numbers, found \('a', 'b', 'c', 'd'\)",
        "pi-str",
    ),
    p(
        lambda: Bars(column_probs=0.25),
        TypeError,
        "column_probs must be a sequence of 4 numbers, found 0.25",
        "pi-scalar",
    ),
    p(
        lambda: Bars(column_probs=torch.full((2, 2), 0.25)),
        ValueError,
        r"column_probs must be 1-D with 4 entries, found shape \(2, 2\)",
        "pi-2d",
    ),
    p(lambda: Bars().sample(-1), ValueError, "n must be >= 0, found -1", "sample-n-negative"),
    p(lambda: Bars().sample(2.0), TypeError, "n must be an int, found float", "sample-n-float"),
    p(
        lambda: Bars().sample(3, dtype=torch.int64),
        TypeError,
        "dtype must be a floating-point dtype, found torch.int64",
        "sample-dtype",
    ),
    p(
        lambda: bars(5, flip_prob=2.0),
        ValueError,
        r"flip_prob must be in \[0, 1\], found 2.0",
        "bars-flip",
    ),
    p(
        lambda: Bars().log_prob([0.0] * 16),
        TypeError,
        "x must be a torch.Tensor, found list",
        "log_prob-list",
    ),
    p(
        lambda: Bars().log_prob(x16.long()),
        TypeError,
        "x must be a floating-point tensor, found dtype torch.int64",
        "log_prob-int",
    ),
    p(
        lambda: Bars().log_prob(x16[0]),
        ValueError,
        r"x must have shape \(B, 16\), found shape \(16,\) \(1-D\)",
        "log_prob-1d",
    ),
    p(
        lambda: Bars().log_prob(torch.zeros(2, 9)),
        ValueError,
        r"x must have last dimension 16 \(shape \(B, 16\)\), found shape \(2, 9\)",
        "log_prob-D",
    ),
    p(
        lambda: Bars().log_prob(torch.full((2, 16), 0.5)),
        ValueError,
        r"x must be binary \(entries 0 or 1\), found 32 other entries, e.g. 0.5",
        "log_prob-not-binary",
    ),
]


MODEL_ERRORS = [
    p(
        lambda: GenerativeNetwork(activation="sigmoid"),
        ValueError,
        r"activation must be one of \['elu', 'relu', 'softplus', 'tanh'\], found 'sigmoid'",
        "activation",
    ),
    p(
        lambda: InferenceNetwork(activation="Tanh"),
        ValueError,
        "activation must be one of .*found 'Tanh'",
        "activation-case",
    ),
    p(
        lambda: GenerativeNetwork(hidden_dims=32),
        ValueError,
        r"hidden_dims must be a sequence of positive ints, e.g. \(32,\), found 32",
        "hidden-int",
    ),
    p(
        lambda: GenerativeNetwork(hidden_dims=(32, 0)),
        ValueError,
        r"hidden_dims must be .*found \(32, 0\)",
        "hidden-zero",
    ),
    p(
        lambda: GenerativeNetwork(hidden_dims=(-4,)),
        ValueError,
        r"hidden_dims must be .*found \(-4,\)",
        "hidden-negative",
    ),
    p(
        lambda: InferenceNetwork(hidden_dims=(8.0,)),
        ValueError,
        r"hidden_dims must be .*found \(8.0,\)",
        "hidden-float",
    ),
    p(
        lambda: InferenceNetwork(hidden_dims=(True,)),
        ValueError,
        r"hidden_dims must be .*found \(True,\)",
        "hidden-bool",
    ),
    p(
        lambda: GenerativeNetwork(hidden_dims="32"),
        ValueError,
        "hidden_dims must be .*found '32'",
        "hidden-str",
    ),
    p(
        lambda: GenerativeNetwork(latent_dim=0),
        ValueError,
        "latent_dim must be >= 1, found 0",
        "latent-0",
    ),
    p(
        lambda: GenerativeNetwork(data_dim="16"),
        TypeError,
        "data_dim must be an int, found str",
        "data-str",
    ),
    p(
        lambda: InferenceNetwork(latent_dim=1.0),
        TypeError,
        "latent_dim must be an int, found float",
        "enc-latent-float",
    ),
    p(
        lambda: InferenceNetwork(min_sigma=-1e-3),
        ValueError,
        "min_sigma must be a number >= 0, found -0.001",
        "min_sigma-negative",
    ),
    p(
        lambda: InferenceNetwork(min_sigma=math.nan),
        ValueError,
        "min_sigma must be a number >= 0, found nan",
        "min_sigma-nan",
    ),
    p(
        lambda: InferenceNetwork(min_sigma="0.1"),
        ValueError,
        "min_sigma must be a number >= 0, found '0.1'",
        "min_sigma-str",
    ),
    p(
        lambda: GenerativeNetwork(latent_dim=2)(torch.zeros(5, 3)),
        ValueError,
        r"z must have last dimension 2 \(shape \(\.\.\., 2\)\), found shape \(5, 3\)",
        "dec-last-dim",
    ),
    p(
        lambda: GenerativeNetwork()(torch.tensor(0.5)),
        ValueError,
        r"z must have shape \(\.\.\., 1\), found shape \(\) \(0-D\)",
        "dec-0d",
    ),
    p(
        lambda: GenerativeNetwork()([[0.0]]),
        TypeError,
        "z must be a torch.Tensor, found list",
        "dec-list",
    ),
    p(
        lambda: GenerativeNetwork()(torch.zeros(5, 1, dtype=torch.int64)),
        TypeError,
        "z must be a floating-point tensor, found dtype torch.int64",
        "dec-int",
    ),
    p(
        lambda: GenerativeNetwork()(torch.zeros(5, 1, dtype=torch.float64)),
        TypeError,
        "z must have the network's dtype torch.float32, found torch.float64",
        "dec-dtype",
    ),
    p(
        lambda: GenerativeNetwork()(torch.zeros(5, 1, device="meta")),
        ValueError,
        r"z must be on the network's device cpu, found meta; move it with z.to\('cpu'\)",
        "dec-device",
    ),
    p(
        lambda: InferenceNetwork(data_dim=16)(torch.zeros(5, 9)),
        ValueError,
        r"x must have last dimension 16 \(shape \(\.\.\., 16\)\), found shape \(5, 9\)",
        "enc-last-dim",
    ),
    p(
        lambda: InferenceNetwork()(x16.to("meta")),
        ValueError,
        "x must be on the network's device cpu, found meta",
        "enc-device",
    ),
    p(
        lambda: InferenceNetwork()(x16.double()),
        TypeError,
        "x must have the network's dtype torch.float32, found torch.float64",
        "enc-dtype",
    ),
    p(
        lambda: InferenceNetwork()(x16.bool()),
        TypeError,
        "x must be a floating-point tensor, found dtype torch.bool",
        "enc-bool",
    ),
    p(
        lambda: count_parameters(lambda z: z),
        TypeError,
        "module must be a torch.nn.Module, found function",
        "count-not-module",
    ),
]


CHECKS_ERRORS = [
    p(
        lambda: set_validation(0),
        TypeError,
        "enabled must be a bool, found int",
        "set_validation-int",
    ),
    p(
        lambda: set_validation("False"),
        TypeError,
        "enabled must be a bool, found str",
        "set_validation-str",
    ),
    p(
        lambda: checks.tensor("h", torch.zeros(2, 3), ndim=(1, 3)),
        ValueError,
        r"h must have shape 1-D or 3-D, found shape \(2, 3\) \(2-D\)",
        "tensor-ndim",
    ),
    p(
        lambda: checks.tensor("h", torch.zeros(2), min_ndim=2),
        ValueError,
        r"h must have shape at least 2-D, found shape \(2,\)",
        "tensor-min_ndim",
    ),
    p(
        lambda: checks.tensor("h", torch.zeros(2, 3), last_dim=4),
        ValueError,
        r"h must have last dimension 4 \(shape \(\*, 4\)\), found shape \(2, 3\)",
        "tensor-last_dim",
    ),
    p(
        lambda: checks.positive_int("k", 0, minimum=1),
        ValueError,
        "k must be >= 1, found 0",
        "positive_int",
    ),
    p(
        lambda: checks.probability("q", 1.0, open_upper=True),
        ValueError,
        r"q must be in \[0, 1\), found 1.0",
        "probability-open",
    ),
]

ALL_ERRORS = DENSITY_ERRORS + EVIDENCE_ERRORS + BARS_ERRORS + MODEL_ERRORS + CHECKS_ERRORS


@pytest.mark.parametrize(("call", "exc", "match"), ALL_ERRORS)
def test_error_type_and_message(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_value_errors_are_not_type_errors():
    """The split the docs promise: types -> TypeError, shapes/values/devices -> ValueError.

    Catches a check that raises the wrong class (pytest.raises accepts subclasses, so check
    the exact type)."""
    for param in ALL_ERRORS:
        call, exc, _ = param.values
        with pytest.raises(Exception) as info:
            call()
        assert type(info.value) is exc, (param.id, info.value)


# --- set_validation ------------------------------------------------------------------------


@pytest.fixture
def validation_off():
    set_validation(False)
    try:
        yield
    finally:
        set_validation(True)


def test_validation_is_on_by_default_in_tests():
    assert validation_enabled()


@pytest.mark.usefixtures("validation_off")
def test_set_validation_false_disables_value_checks():
    """Value checks are skipped: bad values compute garbage (NaN) instead of raising."""
    assert not validation_enabled()
    assert torch.isnan(log_normal(ones2, ones2, neg2)).any()  # log of a negative sigma
    kl_normal(ones2, neg2, ones2, ones2)  # squares sigma: finite garbage, but no error
    kl_standard_normal(ones2, neg2)
    log_bernoulli(2 * x4, l4)  # x outside [0, 1]
    log_bernoulli_pairwise(2 * x4, l4)
    assert torch.isnan(log_bernoulli(x4, torch.full((1, 4), math.nan))).all()


@pytest.mark.usefixtures("validation_off")
def test_set_validation_false_keeps_type_shape_and_device_checks():
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        log_bernoulli(x4.long(), l4)
    with pytest.raises(ValueError, match="x and logits must have the same last"):
        log_bernoulli(torch.zeros(2, 1), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="must be on the same device"):
        log_normal(ones2, meta2, ones2)


def test_set_validation_round_trip():
    set_validation(False)
    try:
        assert validation_enabled() is False
        set_validation(True)
        assert validation_enabled() is True
        with pytest.raises(ValueError, match="sigma must be positive"):
            log_normal(ones2, ones2, neg2)
    finally:
        set_validation(True)
