"""Position: telling a model where each token sits.

Attention treats its input as a set, so "dog bites man" and "man bites dog" look alike until
position is added. Four ways to do it:

- sinusoidal encoding (Vaswani et al. 2017): a fixed (T, d) table of waves at geometrically
  spaced frequencies, added to the token embeddings;
- a learned position table (GPT-2): one trained row per position, which cannot go past the
  last position it was trained with;
- RoPE (Su et al., RoFormer): rotate each pair of query/key coordinates by an angle
  proportional to the position, so that a query-key score depends only on their distance;
- ALiBi (Press et al. 2022): no position vectors at all, but a penalty on attention scores
  that grows linearly with distance, with a different slope per head.

The sinusoidal encoding and RoPE share their frequencies, ``base ** (-2i / d)``.
"""

import math
from collections.abc import Callable, Sequence

import numpy as np

from lmlab.embeddings import Embedding


def frequencies(dim: int, base: float = 10000.0) -> np.ndarray:
    """(dim // 2,) angular frequencies base^(-2i/dim): pair 0 turns fastest, the last slowest."""
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be even and >= 2, got {dim}")
    return base ** (-np.arange(0, dim, 2) / dim)


def sinusoidal_encoding(T: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """(T, dim) table with PE[pos, 2i] = sin(pos * f_i) and PE[pos, 2i+1] = cos(pos * f_i).

    f_i = base^(-2i/dim). Like the hands of a clock, the first columns turn fast and tell
    nearby positions apart, the last ones turn slowly and tell distant stretches apart.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    angles = np.arange(T)[:, None] * frequencies(dim, base)
    pe = np.empty((T, dim))
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe


class LearnedPositionEmbedding(Embedding):
    """GPT-2's way: a trained (max_len, dim) table, row t added to the token at position t."""

    def __init__(
        self,
        max_len: int,
        dim: int,
        rng: np.random.Generator | int | None = None,
        dtype: type = np.float64,
    ) -> None:
        super().__init__(max_len, dim, rng=rng, dtype=dtype)

    def forward(self, positions: np.ndarray | Sequence[int] | int) -> np.ndarray:
        """positions: (...) -> (..., dim)."""
        positions = np.asarray(positions)
        if positions.size and positions.max() >= self.num_embeddings:
            raise ValueError(
                f"position {positions.max()} is past the {self.num_embeddings} positions this "
                "table has rows for: a learned table cannot extrapolate"
            )
        return super().forward(positions)


def apply_rope(
    x: np.ndarray, positions: np.ndarray | Sequence[int] | None = None, base: float = 10000.0
) -> np.ndarray:
    """Rotary position embedding. x: (..., T, d), positions: (T,) (default 0..T-1) -> (..., T, d).

    Coordinates are paired as in the RoFormer paper, interleaved: (x0, x1), (x2, x3), ...
    Pair i at position m is rotated by the angle m * f_i, with f_i = base^(-2i/d). Read as a
    complex number x_{2i} + j x_{2i+1}, that is a multiplication by exp(j m f_i), so the dot
    product of a query at m with a key at n depends on m - n only.

    GPT-NeoX and the Hugging Face LLaMA code pair x_i with x_{i + d/2} instead (split halves);
    that is the same rotation applied to permuted coordinates, and checkpoints trained one way
    need their q/k weight rows permuted to be used the other way.
    """
    *_, T, d = x.shape
    positions = np.arange(T) if positions is None else np.asarray(positions)
    if positions.shape != (T,):
        raise ValueError(f"need one position per row: x has T={T}, positions {positions.shape}")
    angles = positions[:, None] * frequencies(d, base)
    cos, sin = np.cos(angles), np.sin(angles)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x, dtype=np.result_type(x.dtype, np.float32))
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def alibi_slopes(n_heads: int) -> np.ndarray:
    """(n_heads,) ALiBi slopes, the geometric sequence 2^(-8/n), 2^(-16/n), ..., 2^(-8).

    For n a power of 2 this is the paper's rule. Otherwise, as in the paper's code, take the n'
    slopes for the largest power of 2 n' < n, then fill up with every other slope of the
    sequence for 2n' (which lie between the first ones).
    """
    if n_heads < 1:
        raise ValueError(f"n_heads must be >= 1, got {n_heads}")

    def geometric(n: int) -> np.ndarray:
        return 2.0 ** (-8.0 * np.arange(1, n + 1) / n)

    closest = 2 ** int(math.log2(n_heads))
    if closest == n_heads:
        return geometric(n_heads)
    return np.concatenate([geometric(closest), geometric(2 * closest)[0::2][: n_heads - closest]])


def alibi_bias(n_heads: int, T: int) -> np.ndarray:
    """(n_heads, T, T) additive attention bias: -slope_h * (t - s) for keys s <= t, -inf after.

    Added to the query-key scores, it penalises distant keys linearly (steeply in the first
    heads, gently in the last) and, through the -inf, makes attention causal.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    offset = np.arange(T)[None, :] - np.arange(T)[:, None]  # s - t, <= 0 on and below the diagonal
    bias = alibi_slopes(n_heads)[:, None, None] * offset
    return np.where(offset <= 0, bias, -np.inf)


def _table(encoding: Callable, T: int, dim: int) -> np.ndarray:
    """encoding(T, dim) as a (T, dim) float array, or a ValueError that says what is wrong."""
    name = getattr(encoding, "__name__", "encoding")
    pe = np.asarray(encoding(T, dim), dtype=np.float64)
    if pe.shape != (T, dim):
        raise ValueError(f"{name}({T}, {dim}) should return a ({T}, {dim}) array; "
                         f"it returned shape {pe.shape}")
    if not np.isfinite(pe).all():
        raise ValueError(f"{name}({T}, {dim}) returned nan or inf")
    return pe


def heatmap(T: int = 20, dim: int = 64, base: float = 10000.0,
            encoding: Callable | None = None) -> dict:
    """The PositionalEncodingHeatmap's numbers: the sinusoidal table and every position's dot
    product with every other. encoding, if given, makes the table instead: encoding(T, dim),
    e.g. the reader's own sinusoidal from the chapter's exercise.

    -> {pe: (T, dim) sinusoidal_encoding, dots: (T, T) pe @ pe.T, wavelengths: (dim // 2,)
        positions per full turn of each sin/cos pair, 2 pi / f_i}
    """
    if not 1 <= T <= 512 or not 2 <= dim <= 512:
        raise ValueError(f"need 1 <= T <= 512 and 2 <= dim <= 512, got T={T}, dim={dim}")
    pe = sinusoidal_encoding(T, dim, base) if encoding is None else _table(encoding, T, dim)
    return {"pe": pe, "dots": pe @ pe.T, "wavelengths": 2 * np.pi / frequencies(dim, base)}


LAB_SCHEMES = {
    "none": "No position",
    "sinusoidal": "Sinusoidal",
    "learned": "Learned",
    "rope": "RoPE",
    "alibi": "ALiBi",
}
"""The position lab's schemes, in the order it shows them, with their labels."""

LAB_MAX_T = 64


def lab_inputs(dim: int, trained: int, content: str, seed: int) -> dict:
    """The position lab's fixed ingredients, drawn once from ``seed`` for LAB_MAX_T positions (so
    a longer sequence keeps the tokens of a shorter one):

    -> {x: (LAB_MAX_T, dim) token vectors ("repeat": one vector at every position; "random":
        a different one at each), wq, wk: (dim, dim) query and key projections, learned:
        (trained, dim) a stand-in for a trained position table}
    Every entry is N(0, 1/2), so a token vector, a sinusoidal row (whose squared length is
    dim / 2) and a learned row have about the same length; the projections are N(0, 1/dim).
    """
    if content not in ("repeat", "random"):
        raise ValueError(f"content must be 'repeat' or 'random', got {content!r}")
    rng = np.random.default_rng(seed)
    tokens = rng.normal(0.0, math.sqrt(0.5), (LAB_MAX_T, dim))
    wq, wk = rng.normal(0.0, 1 / math.sqrt(dim), (2, dim, dim))
    learned = rng.normal(0.0, math.sqrt(0.5), (trained, dim))
    x = np.repeat(tokens[:1], LAB_MAX_T, axis=0) if content == "repeat" else tokens
    return {"x": x, "wq": wq, "wk": wk, "learned": learned}


def lab_scores(T: int, trained: int = 16, dim: int = 16, content: str = "repeat", seed: int = 0,
               alibi_heads: int = 8, alibi_head: int = 2) -> dict:  # fmt: skip
    """The same causal attention scores q_m . k_n / sqrt(dim) of T tokens under each scheme.

    none: q = x Wq, k = x Wk. sinusoidal: x + PE(t) in place of x. learned: x + P[t], where the
    table P has rows only for t < trained. rope: q and k rotated by apply_rope. alibi: the
    plain scores plus head ``alibi_head``'s bias of ``alibi_bias(alibi_heads, T)``.
    -> {scheme: (T, T) scores}, -inf where the key is after the query (n > m) and NaN on the
       learned table's rows past ``trained`` (the query has no position vector there).
    """
    if not 1 <= T <= LAB_MAX_T or not 1 <= trained <= LAB_MAX_T:
        raise ValueError(f"need 1 <= T, trained <= {LAB_MAX_T}, got T={T}, trained={trained}")
    if not 0 <= alibi_head < alibi_heads:
        raise ValueError(f"alibi_head must be in 0..{alibi_heads - 1}, got {alibi_head}")
    parts = lab_inputs(dim, trained, content, seed)
    x, wq, wk = parts["x"][:T], parts["wq"], parts["wk"]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)

    def scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.where(future, -np.inf, q @ k.T / math.sqrt(dim))

    learned = np.full((T, dim), np.nan)
    learned[: min(T, trained)] = parts["learned"][:T]
    with_pe = x + sinusoidal_encoding(T, dim)
    plain = scores(x @ wq, x @ wk)
    return {
        "none": plain,
        "sinusoidal": scores(with_pe @ wq, with_pe @ wk),
        "learned": scores((x + learned) @ wq, (x + learned) @ wk),
        "rope": scores(apply_rope(x @ wq), apply_rope(x @ wk)),
        "alibi": plain + alibi_bias(alibi_heads, T)[alibi_head],
    }


def lab_weights(scores: np.ndarray) -> np.ndarray:
    """(T, T) causal scores -> attention weights, a softmax over each row's allowed keys
    (-inf gets 0); a row of NaN (no position vector) stays NaN."""
    top = np.max(scores, axis=1, keepdims=True)
    e = np.exp(scores - top)
    return e / e.sum(axis=1, keepdims=True)


def position_lab(T: int = 24, trained: int = 16, dim: int = 16, content: str = "repeat",
                 seed: int = 0, alibi_head: int = 2) -> dict:  # fmt: skip
    """The position lab widget's numbers: ``lab_scores`` and their attention weights for each
    scheme, as the page draws them: each lower triangle (row m has keys 0..m) flattened row by
    row, (rows (rows + 1) / 2,), at the 3 decimals shown as integer thousandths (v / 1000 is
    exactly numpy's round(x, 3); ints cross JSON faster than floats, and a flat list of them
    faster than nested lists with None). ``rows`` is how many rows have numbers: T, except the
    learned table, which has no position vector for queries past ``trained`` (their scores are
    NaN, and are not sent).

    -> {T, trained, dim, content, alibi_head, alibi_slopes: the 8 heads' slopes,
        schemes: [{name, label, rows, scores, weights}]}
    """
    table = lab_scores(T, trained, dim, content, seed, alibi_head=alibi_head)
    schemes = []
    for name, label in LAB_SCHEMES.items():
        scores = table[name]
        known = ~np.isnan(scores).any(axis=1)  # (T,) the rows with numbers
        rows = int(known.sum())
        if not known[:rows].all():
            raise ArithmeticError(f"{name}: a row without numbers before one with them")
        below = np.tril_indices(rows)  # row by row: (0, 0), (1, 0), (1, 1), (2, 0), ...
        schemes.append({
            "name": name, "label": label, "rows": rows,
            "scores": _thousandths(scores[below]),
            "weights": _thousandths(lab_weights(scores)[below]),
        })  # fmt: skip
    return {"T": T, "trained": trained, "dim": dim, "content": content, "alibi_head": alibi_head,
            "alibi_slopes": alibi_slopes(8), "schemes": schemes}  # fmt: skip


def _thousandths(x: np.ndarray) -> np.ndarray:
    """(n,) floats -> (n,) int64 round(x * 1000), half to even as ``np.round(x, 3)``, which
    computes exactly rint(x * 1000) / 1000."""
    return np.rint(x * 1000).astype(np.int64)
