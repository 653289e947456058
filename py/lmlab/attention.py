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
import re

import numpy as np

from lmlab.embeddings import WordVectors
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


ATTENTION_VIEW_MODES = ("raw", "scaled", "projected")
ATTENTION_VIEW_MAX_WORDS = 12
ATTENTION_VIEW_SENTENCE = "the cat sat on the floor because it was tired"
"""Chapter 7's sentence (its cell's six words) with a pronoun that has something to refer to."""


def attention_view(
    sentence: str = ATTENTION_VIEW_SENTENCE,
    mode: str = "raw",
    causal: bool = False,
    d_k: int = 16,
    seed: int = 0,
    neighbours: int = 3,
) -> dict:
    """The attention-matrix widget's numbers: self-attention over a sentence's GloVe vectors.

    Each word becomes its 50-d GloVe vector, a row of X (T, 50); words GloVe does not know are
    left out and listed. The values are always X itself (no W_V), so every output is a blend of
    the words' own vectors and its nearest GloVe words can be read off. mode chooses the scores:
      raw        X X^T, unscaled: symmetric, and each word's largest score is usually itself
      scaled     X X^T / sqrt(50)
      projected  (X W_Q)(X W_K)^T / sqrt(d_k), with W_Q, W_K (50, d_k) drawn at random from
                 ``seed`` (not learned): two different maps make the scores asymmetric
    causal: query t sees only keys 0..t (``causal_mask``).

    -> {tokens: T words, unknown: words left out, truncated: words past the limit,
        mode, causal, d, d_k, scale,
        scores: (T, T) the scaled scores that enter the softmax, masked cells 0,
        weights: (T, T) attention weights, masked cells 0, masked: (T, T) booleans,
        row_sums: (T,), symmetric: whether the scores (before any mask) equal their transpose,
        self_weight_mean: mean of the diagonal weights, self_top: rows whose top key is the word
        itself, rows: per query {top, top_weight, entropy (nats), max_entropy, nearest: the
        GloVe words nearest (cosine) to its output, [[word, cosine], ...]}}
    Every number is finite: masked cells are 0 and flagged, never -inf.
    """
    if mode not in ATTENTION_VIEW_MODES:
        raise ValueError(f"mode must be one of {ATTENTION_VIEW_MODES}, got {mode!r}")
    if not 1 <= d_k <= 64:
        raise ValueError(f"d_k must be between 1 and 64, got {d_k}")
    from lmlab.data import glove

    vectors = glove()
    tokens, unknown, truncated = _known_words(sentence, vectors)
    if not tokens:
        raise ValueError(
            "none of these words is in the GloVe vocabulary: type some common English words"
        )
    x = np.stack([vectors.vector(word) for word in tokens]).astype(np.float64)  # (T, d)
    T, d = x.shape
    q = k = x
    scale = 1.0
    if mode == "scaled":
        scale = 1.0 / math.sqrt(d)
    elif mode == "projected":
        w_q, w_k = _random_projections(d, d_k, seed)
        q, k = x @ w_q, x @ w_k
        scale = 1.0 / math.sqrt(d_k)
    mask = causal_mask(T) if causal else np.ones((T, T), dtype=bool)
    out, weights = scaled_dot_product_attention(q, k, x, mask=mask if causal else None, scale=scale)
    scores = (q @ k.T) * scale
    top = weights.argmax(axis=-1)
    row_entropy = entropy(weights)
    nearest = vectors.nearest_to_each(out, k=neighbours)
    rows = [
        {
            "top": int(top[t]),
            "top_weight": float(weights[t, top[t]]),
            "entropy": float(row_entropy[t]),
            "max_entropy": math.log(int(mask[t].sum())),
            "nearest": [[word, similarity] for word, similarity in nearest[t]],
        }
        for t in range(T)
    ]
    return {
        "tokens": tokens,
        "unknown": unknown,
        "truncated": truncated,
        "mode": mode,
        "causal": bool(causal),
        "d": d,
        "d_k": d_k if mode == "projected" else d,
        "scale": scale,
        "scores": np.where(mask, scores, 0.0),
        "weights": np.where(mask, weights, 0.0),
        "masked": ~mask,
        "row_sums": weights.sum(axis=-1),
        "symmetric": bool(np.allclose(scores, scores.T, rtol=1e-12, atol=1e-12)),
        "self_weight_mean": float(np.diag(weights).mean()),
        "self_top": int((top == np.arange(T)).sum()),
        "rows": rows,
    }


def _known_words(sentence: str, vectors: WordVectors) -> tuple[list[str], list[str], int]:
    """Lower-cased words and punctuation of sentence -> (those GloVe knows, at most
    ATTENTION_VIEW_MAX_WORDS of them; those it does not; how many known words were cut off)."""
    words = re.findall(r"[\w']+|[^\w\s]", sentence.lower())
    known = [w for w in words if w in vectors]
    unknown = list(dict.fromkeys(w for w in words if w not in vectors))
    return known[:ATTENTION_VIEW_MAX_WORDS], unknown, max(0, len(known) - ATTENTION_VIEW_MAX_WORDS)


def _random_projections(d: int, d_k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """W_Q, W_K: (d, d_k), N(0, 1/d) entries from ``seed``: stand-ins for learned projections,
    drawn as chapter 7's cell draws them (W_Q first, then W_K, each standard normal / sqrt(d))."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2, d, d_k)) / math.sqrt(d)
