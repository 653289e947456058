"""Flash attention in numpy: the same causal attention, tile by tile, without the T x T matrix.

Ordinary attention makes every score (T x T per head), softmaxes each row, then averages the
values. Flash attention takes a block of queries and walks along the keys a block at a time,
keeping for each query only a running maximum m, a running sum l of exp(score - m) and a
running weighted sum of values. When a new block raises the maximum, what has been summed so
far is rescaled by exp(old m - new m), so the result is exactly softmax(scores) @ v. The only
scores ever held are one tile's: memory grows with T, not T^2. (On a GPU the point is that a
tile fits in fast on-chip memory; here numpy just shows that the arithmetic is the same.)
"""

import math

import numpy as np


def online_softmax(x: np.ndarray, chunk: int) -> np.ndarray:
    """softmax(x) for a vector x: (n,), reading it chunk entries at a time. -> (n,)

    One pass keeps the largest entry seen so far and the sum of exp(entry - that largest),
    rescaling the sum whenever the largest grows; a second pass divides.
    """
    largest, total = -math.inf, 0.0
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk]
        new_largest = max(largest, float(part.max()))
        total = total * math.exp(largest - new_largest) + float(np.exp(part - new_largest).sum())
        largest = new_largest
    return np.exp(x - largest) / total


def flash_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, block_q: int = 64, block_k: int = 64
) -> np.ndarray:
    """Causal softmax(q k^T / sqrt(d)) v, one (block_q x block_k) tile of scores at a time.

    q, k: (..., T, d), v: (..., T, d_v) -> (..., T, d_v). Blocks need not divide T. Key blocks
    wholly in a query block's future are skipped; the diagonal ones are masked.
    """
    T, scale = q.shape[-2], 1.0 / math.sqrt(q.shape[-1])
    out = np.empty(q.shape[:-1] + v.shape[-1:], dtype=np.result_type(q, v))
    for q_start in range(0, T, block_q):
        q_end = min(q_start + block_q, T)
        out[..., q_start:q_end, :] = _query_block(q, k, v, q_start, q_end, block_k, scale)
    return out


def _query_block(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    q_start: int,
    q_end: int,
    block_k: int,
    scale: float,
) -> np.ndarray:
    """Rows q_start:q_end of causal attention, walking the keys 0 .. q_end - 1 in blocks.
    -> (..., q_end - q_start, d_v)"""
    q_block = q[..., q_start:q_end, :]
    largest = np.full(q_block.shape[:-1], -np.inf)  # m: (..., bq)
    total = np.zeros(q_block.shape[:-1])  # l: (..., bq)
    acc = np.zeros(q_block.shape[:-1] + v.shape[-1:])  # unnormalised output: (..., bq, d_v)
    query_pos = np.arange(q_start, q_end)[:, None]
    for k_start in range(0, q_end, block_k):
        k_end = min(k_start + block_k, q_end)
        scores = (q_block @ np.swapaxes(k[..., k_start:k_end, :], -1, -2)) * scale
        scores = np.where(np.arange(k_start, k_end) <= query_pos, scores, -np.inf)
        new_largest = np.maximum(largest, scores.max(axis=-1))
        weights = np.exp(scores - new_largest[..., None])  # (..., bq, bk)
        rescale = np.exp(largest - new_largest)  # shrinks what was summed under the old max
        total = total * rescale + weights.sum(axis=-1)
        acc = acc * rescale[..., None] + weights @ v[..., k_start:k_end, :]
        largest = new_largest
    return acc / total[..., None]


def attention_memory(
    T: int,
    n_head: int,
    block_q: int = 128,
    block_k: int = 128,
    bytes_per_value: int = 2,
    batch: int = 1,
) -> dict[str, int]:
    """Bytes of the largest intermediate: all the scores (batch x heads x T x T) for ordinary
    attention, one tile of them (batch x heads x block_q x block_k) for flash attention, with
    every head at once. 2 bytes a value is bfloat16 or float16, 4 float32.
    -> {"standard": bytes, "flash": bytes}
    """
    per_value = batch * n_head * bytes_per_value
    return {"standard": per_value * T * T, "flash": per_value * min(block_q, T) * min(block_k, T)}
