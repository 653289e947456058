"""Attention: every position takes a weighted average of the others' values.

A query row asks a question, every key row answers how well it matches (a dot product), a
softmax turns the matches into weights that sum to 1, and the output is the weighted sum of
the value rows. Dividing the scores by sqrt(d_k) keeps their spread independent of the head
size; a causal mask stops a position from looking at the future; several heads do all of this
side by side on slices of the model dimension.

These are forward functions on plain arrays. The trainable layer (with its backward pass)
lives in ``lmlab.nn`` and calls them.
"""

import math

import numpy as np

from lmlab.sampling import entropy


def causal_mask(T: int) -> np.ndarray:
    """(T, T) booleans, True where query t may attend to key s, i.e. s <= t."""
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    return np.tril(np.ones((T, T), dtype=bool))


def scaled_dot_product_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
    scale: float | None = None,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q k^T * scale + bias, masked) v, for any leading batch dimensions.

    q: (..., Tq, d_k), k: (..., Tk, d_k), v: (..., Tk, d_v)
    mask: booleans broadcastable to (..., Tq, Tk), True = may attend (as ``causal_mask``)
    scale: defaults to 1 / sqrt(d_k)
    bias: added to the scores, broadcastable to (..., Tq, Tk) (ALiBi's distance penalty)
    -> out: (..., Tq, d_v), weights: (..., Tq, Tk), each row summing to 1.

    Masked positions get a score of -inf, so their weight is exactly 0, not merely small.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same last dimension, got {q.shape} and {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v need the same number of rows, got {k.shape} and {v.shape}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any(axis=-1).all():
            raise ValueError("every query must be allowed to attend to at least one key")
        scores = np.where(mask, scores, -np.inf)
    weights = _softmax(scores)
    return weights @ v, weights


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """x: (..., T, C) -> (..., n_heads, T, C // n_heads); head h gets columns h*D .. (h+1)*D - 1."""
    *lead, T, C = x.shape
    if n_heads < 1 or C % n_heads:
        raise ValueError(f"model dimension {C} is not divisible by n_heads={n_heads}")
    return np.swapaxes(x.reshape(*lead, T, n_heads, C // n_heads), -3, -2)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """x: (..., H, T, D) -> (..., T, H * D), the inverse of ``split_heads``."""
    *lead, H, T, D = x.shape
    return np.swapaxes(x, -3, -2).reshape(*lead, T, H * D)


def multi_head_attention(
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    w_v: np.ndarray,
    w_o: np.ndarray,
    n_heads: int,
    *,
    b_q: np.ndarray | None = None,
    b_k: np.ndarray | None = None,
    b_v: np.ndarray | None = None,
    b_o: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Self-attention with n_heads heads, then the output projection.

    x: (..., T, C); every weight is (C, C) in the (in, out) layout, used as ``x @ w + b``
    (GPT-2 stores its projections this way; ``torch.nn.Linear`` keeps (out, in), so transpose
    its weights when copying them in); biases are (C,) or None.
    mask: booleans broadcastable to (..., n_heads, T, T), e.g. ``causal_mask(T)``.
    -> out: (..., T, C), weights: (..., n_heads, T, T), one attention matrix per head.
    """
    q = split_heads(_affine(x, w_q, b_q), n_heads)
    k = split_heads(_affine(x, w_k, b_k), n_heads)
    v = split_heads(_affine(x, w_v, b_v), n_heads)
    heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    return _affine(merge_heads(heads), w_o, b_o), weights


def scaling_effect(
    d_k_values: tuple[int, ...] = (4, 16, 64, 256, 1024),
    n_keys: int = 16,
    n_samples: int = 500,
    seed: int = 0,
) -> list[dict]:
    """Why scores are divided by sqrt(d_k), in numbers.

    Queries and keys have independent N(0, 1) entries, so a raw score q.k is a sum of d_k
    unit-variance terms: its standard deviation is sqrt(d_k). For each d_k, over n_samples
    queries each facing n_keys keys, report the spread of the scores and the average entropy
    (in nats) and largest weight of the softmax, without and with the scaling. Unscaled, the
    softmax saturates as d_k grows (entropy falls towards 0, one key takes nearly all the
    weight, and its gradient vanishes); scaled, it stays near the same spread for every d_k.
    ``max_entropy`` = ln(n_keys) is the entropy of uniform weights.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for d_k in d_k_values:
        q = rng.standard_normal((n_samples, 1, d_k))
        k = rng.standard_normal((n_samples, n_keys, d_k))
        raw = (q @ np.swapaxes(k, -1, -2))[:, 0, :]
        row = {"d_k": d_k, "max_entropy": math.log(n_keys)}
        for name, scores in (("unscaled", raw), ("scaled", raw / math.sqrt(d_k))):
            weights = _softmax(scores)
            row[f"score_std_{name}"] = float(scores.std())
            row[f"entropy_{name}"] = float(entropy(weights).mean())
            row[f"max_weight_{name}"] = float(weights.max(axis=-1).mean())
        rows.append(row)
    return rows


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    return x @ w if b is None else x @ w + b


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; -inf scores get weight exactly 0.

    Unlike ``lmlab.sampling.softmax`` it keeps the input's dtype, so float32 models stay float32.
    """
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
