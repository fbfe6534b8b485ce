"""Code lengths: a Huffman code built from a model's probabilities, and its bits.

A prefix code gives symbol s a codeword of length l_s bits; the best lengths for a
distribution p satisfy (Shannon; Huffman's construction reaches it)

    H_2(p) <= sum_s p_s l_s < H_2(p) + 1,     l_s ~ -log2 p_s

so -log2 p(x) = -log p(x) / log 2 is, to within a bit, the length of x's codeword under
a code built for p: a model's nats are a compressor's bits times log 2.

Symbols are integers 0..S-1; ``binary_index`` numbers binary images the way
``dgmlab.recipes.all_images`` lists them (the first pixel is the most significant bit).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable

import torch

from dgmlab import checks

_MAX_PIXELS = 30  # indices must fit in int64 comfortably


def binary_index(x: torch.Tensor) -> torch.Tensor:
    """The integer whose binary digits are the image's pixels, first pixel most significant.

        index(x) = sum_d x_d 2^(D - 1 - d)

    Args:
        x: (B, D) binary pixels (0/1), D <= 30.

    Returns:
        (B,) int64.
    """
    checks.tensor("x", x, ndim=2, floating=False, shape_hint="(B, D)")
    D = x.shape[1]
    if D > _MAX_PIXELS:
        raise ValueError(f"x must have at most {_MAX_PIXELS} pixels to be indexed, found {D}")
    bits = x.long()
    if checks.validation_enabled() and bool(((x != 0) & (x != 1)).any()):
        raise ValueError("x must be binary (entries 0 or 1) to be indexed")
    powers = 2 ** torch.arange(D - 1, -1, -1, device=x.device)  # (D,)
    return bits @ powers


class HuffmanCode:
    """A binary Huffman code for symbols 0..S-1 with probabilities p.

    Built by repeatedly merging the two least probable subtrees (ties broken by creation
    order, so the code is deterministic).

    Args:
        p: (S,) non-negative probabilities summing to 1 (S >= 2).

    Attributes:
        lengths: (S,) int64, the codeword length of each symbol in bits.
        codewords: list of S strings of '0'/'1'.
    """

    def __init__(self, p: torch.Tensor):
        checks.tensor("p", p, ndim=1, shape_hint="(S,)")
        S = p.shape[0]
        if S < 2:
            raise ValueError(f"p must hold at least 2 symbols, found {S}")
        p64 = p.detach().to("cpu", torch.float64)
        if bool((p64 < 0).any()) or bool(p64.isnan().any()):
            raise ValueError("p must be non-negative probabilities, found a negative or NaN entry")
        total = float(p64.sum())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"p must sum to 1, found sum {total:.6g}")
        order = itertools.count()
        # heap of (probability, tie-breaker, node); a node is a symbol (int) or a pair
        heap = [(float(q), next(order), s) for s, q in enumerate(p64.tolist())]
        heapq.heapify(heap)
        while len(heap) > 1:
            p0, _, a = heapq.heappop(heap)
            p1, _, b = heapq.heappop(heap)
            heapq.heappush(heap, (p0 + p1, next(order), (a, b)))
        codewords = [""] * S
        stack = [(heap[0][2], "")]
        while stack:  # walk the tree: left adds '0', right adds '1'
            node, prefix = stack.pop()
            if isinstance(node, tuple):
                stack.append((node[0], prefix + "0"))
                stack.append((node[1], prefix + "1"))
            else:
                codewords[node] = prefix
        self.codewords = codewords
        self.lengths = torch.tensor([len(w) for w in codewords], dtype=torch.int64)
        self._decode = {w: s for s, w in enumerate(codewords)}

    @property
    def num_symbols(self) -> int:
        """S."""
        return len(self.codewords)

    def expected_length(self, p: torch.Tensor) -> float:
        """sum_s p_s l_s: the mean bits per symbol when symbols are drawn from p."""
        checks.tensor("p", p, ndim=1, last_dim=self.num_symbols, shape_hint="(S,)")
        return float((p.detach().to("cpu", torch.float64) * self.lengths.double()).sum())

    def encode(self, symbols: Iterable[int] | torch.Tensor) -> str:
        """The concatenated codewords of the symbols, as a string of '0' and '1'."""
        raw = symbols.tolist() if isinstance(symbols, torch.Tensor) else symbols
        values = [int(s) for s in raw]
        bad = [s for s in values if not 0 <= s < self.num_symbols]
        if bad:
            raise ValueError(f"symbols must be in 0..{self.num_symbols - 1}, found {bad[0]}")
        return "".join(self.codewords[s] for s in values)

    def decode(self, bits: str) -> list[int]:
        """Read codewords off the front of ``bits`` until it is used up (the prefix property
        makes this unambiguous); the inverse of ``encode``."""
        if not isinstance(bits, str):
            raise TypeError(f"bits must be a str of '0' and '1', found {type(bits).__name__}")
        symbols, word = [], ""
        for bit in bits:
            if bit not in "01":
                raise ValueError(f"bits must hold only '0' and '1', found {bit!r}")
            word += bit
            s = self._decode.get(word)
            if s is not None:
                symbols.append(s)
                word = ""
        if word:
            raise ValueError(f"bits end inside a codeword: {len(word)} bits left over")
        return symbols
