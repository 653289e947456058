"""Why GPT-2 shrinks the projections that write into the residual stream.

Every block adds two branch outputs (attention's and the MLP's ``c_proj``) to the stream, and
layer norm hands each branch an input of unit scale however large the stream has grown, so
each addition brings roughly the same variance: after L blocks the stream's variance has grown
by about 2L of them. GPT-2 initialises those 2L projections with std 0.02 / sqrt(2L) instead
of 0.02, which divides each addition's variance by 2L and keeps the total growth that of a
single block, whatever the depth.

This is an experiment on a stack of blocks (no embeddings, no output layer), so it lives apart
from ``lmlab.gpt``, whose model already uses the scaled initialisation.
"""

import math

import numpy as np

from lmlab.nn import Block


def residual_stream_stds(
    n_layer: int = 12,
    n_embd: int = 256,
    n_head: int = 4,
    n_tokens: int = 16,
    std: float = 0.02,
    seed: int = 0,
) -> dict:
    """The residual stream's standard deviation after each block, without and with the scaling.

    Builds n_layer float32 blocks of width n_embd with every weight N(0, std^2) (GPT-2: 0.02),
    feeds them x: (1, n_tokens, n_embd) of N(0, 1) entries, and records the std of the stream
    before the first block and after each one. Then it multiplies every ``c_proj`` weight by
    1 / sqrt(2 n_layer) and runs the same input again: the two runs share every random number,
    so the only difference is the scaling. At a width below 768, std = 0.02 * sqrt(768 / n_embd)
    makes each matrix scale its input as much as 0.02 does in GPT-2 small: measured (seed 0,
    16 tokens, 12 layers), width 768 at 0.02 goes 1.01 -> 1.71 unscaled and 1.01 -> 1.04
    scaled; width 256 at 0.0346 goes 1.01 -> 1.25 and 1.01 -> 1.02; width 256 at 0.02 only
    1.01 -> 1.10. The growth is in the variance, by about the same amount per block.
    -> {"unscaled": [n_layer + 1 floats], "scaled": [n_layer + 1 floats],
        "proj_std_scaled": std / sqrt(2 n_layer)}
    """
    if min(n_layer, n_embd, n_head, n_tokens) < 1 or std <= 0:
        raise ValueError("sizes must be >= 1 and std > 0")
    rng = np.random.default_rng(seed)
    blocks = [Block(n_embd, n_head, proj_std=std, rng=rng) for _ in range(n_layer)]
    x = rng.standard_normal((1, n_tokens, n_embd)).astype(np.float32)
    unscaled = _stds_through(blocks, x)
    shrink = np.float32(1 / math.sqrt(2 * n_layer))
    for block in blocks:
        block.attn.c_proj.params["weight"] *= shrink
        block.mlp.c_proj.params["weight"] *= shrink
    return {
        "unscaled": unscaled,
        "scaled": _stds_through(blocks, x),
        "proj_std_scaled": std / math.sqrt(2 * n_layer),
    }


def _stds_through(blocks: list[Block], x: np.ndarray) -> list[float]:
    """x: (1, T, C) -> [std of x, std after block 1, ..., std after the last block]."""
    stds = [float(x.std())]
    for block in blocks:
        x = block(x)
        stds.append(float(x.std()))
    return stds
