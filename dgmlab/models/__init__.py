"""Model families, one per file. Models hold no training loop."""

from dgmlab.models.bar_decoder import bar_decoder
from dgmlab.models.categorical import CategoricalGenerativeNetwork
from dgmlab.models.diffusion import EpsMLP, MaskedDenoiser
from dgmlab.models.made import MADE, MaskedLinear, mask
from dgmlab.models.pixelcnn import MaskedConv2d, PixelCNN, causal_mask
from dgmlab.models.vae import (
    VAE,
    GenerativeNetwork,
    InferenceNetwork,
    count_parameters,
    generative_network,
    inference_network,
    sample,
)

__all__ = [
    "bar_decoder",
    "CategoricalGenerativeNetwork",
    "GenerativeNetwork",
    "InferenceNetwork",
    "count_parameters",
    "generative_network",
    "inference_network",
    "EpsMLP",
    "MaskedDenoiser",
    "MADE",
    "MaskedLinear",
    "mask",
    "MaskedConv2d",
    "PixelCNN",
    "causal_mask",
    "sample",
    "VAE",
]
