"""From scores to a choice: softmax, temperature, and the ways to pick the next token.

A language model ends every step with one score (logit) per vocabulary entry. Softmax turns the
scores into a probability distribution; temperature reshapes that distribution before anything is
drawn from it (T < 1 sharpens it, T > 1 flattens it, the ranking never changes); greedy decoding
takes the top token; top-k and top-p (nucleus) sampling cut the long tail off before drawing.
Temperature changes how we sample, not what the model knows: the logits stay the same.
"""

import math

import numpy as np


def _check_temperature(temperature: float) -> None:
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(
            f"temperature must be a finite number > 0, got {temperature}; "
            "for temperature 0 use greedy(), which always takes the top token"
        )


def softmax(logits: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Probabilities softmax(logits / T) along ``axis``. logits: (..., V) -> probs: (..., V).

    Stable for any scores: subtracting the row maximum leaves the result unchanged and keeps
    exp() from overflowing. Logits of -inf (tokens filtered out) get probability 0.
    """
    _check_temperature(temperature)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exps = np.exp(scaled - scaled.max(axis=axis, keepdims=True))
    return exps / exps.sum(axis=axis, keepdims=True)


def entropy(probs: np.ndarray, axis: int = -1, base: float = math.e) -> np.ndarray:
    """Shannon entropy -sum p log p, in nats (base e) or bits (base 2). probs: (..., V) -> (...).

    0 log 0 counts as 0: a token that cannot happen adds no uncertainty.
    """
    probs = np.asarray(probs, dtype=np.float64)
    logs = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
    return -(probs * logs).sum(axis=axis) / math.log(base)


def entropy_bits(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Entropy in bits: the number of fair coin flips the choice is worth. (..., V) -> (...)."""
    return entropy(probs, axis=axis, base=2.0)


def effective_num_tokens(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(entropy): how many equally likely tokens would be as uncertain. (..., V) -> (...).

    A one-hot distribution gives 1; a uniform one over V tokens gives V.
    """
    return np.exp(entropy(probs, axis=axis))


def greedy(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """The top-scoring token (the first one on ties): temperature 0. (..., V) -> (...) ints."""
    return np.asarray(logits).argmax(axis=axis)


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the k highest logits, set the rest to -inf. logits: (..., V) -> (..., V).

    Tokens tied with the k-th highest score are all kept, so a few more than k may survive.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {k!r}")
    logits = np.asarray(logits, dtype=np.float64)
    if k >= logits.shape[-1]:
        return logits.copy()
    kth_highest = np.partition(logits, -k, axis=-1)[..., -k, None]
    return np.where(logits < kth_highest, -np.inf, logits)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: keep the smallest set of top tokens whose probabilities sum to >= p.

    logits: (..., V) -> (..., V) with -inf outside the nucleus. The top token is always kept
    (it alone is the nucleus when its probability is >= p); p = 1 keeps every token. Of tokens
    with equal logits the earlier one ranks first.
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {p}")
    logits = np.asarray(logits, dtype=np.float64)
    if p == 1:
        return logits.copy()
    order = np.argsort(-logits, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(softmax(logits), order, axis=-1)
    # A token is in the nucleus if the tokens ranked above it have not yet reached p.
    mass_above = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    keep_sorted = mass_above < p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf)


def sample_index(probs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw one index per row by inverse CDF. probs: (..., V) -> (indices (...), rolls (...)).

    Each row rolls u ~ U[0, 1) and takes the first token whose cumulative probability exceeds
    u * total, so the roll can be shown next to the choice; a token of probability 0 is never
    chosen, even when the probabilities do not sum to exactly 1 after rounding.
    """
    probs = np.asarray(probs, dtype=np.float64)
    cumulative = np.cumsum(probs, axis=-1)
    rolls = rng.random(probs.shape[:-1])
    indices = (cumulative > rolls[..., None] * cumulative[..., -1:]).argmax(axis=-1)
    return indices, rolls


def sample(
    logits: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Sample one token per row: scale by 1/T, then top-k, then top-p, then draw.

    logits: (..., V) -> (...) token ids. Pass a numpy Generator as ``rng`` to continue a stream of
    draws, or a ``seed`` for a fresh np.random.default_rng(seed); the same seed gives the same
    tokens.
    """
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    _check_temperature(temperature)
    if rng is None:
        rng = np.random.default_rng(seed)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    indices, _ = sample_index(softmax(scaled), rng)
    return indices


def temper(probs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Temperature for a model that gives probabilities rather than logits. (..., V) -> (..., V).

    p_i ** (1/T), renormalised: the same as softmax(log(p) / T), and a probability of zero stays
    zero at every temperature.
    """
    _check_temperature(temperature)
    probs = np.asarray(probs, dtype=np.float64)
    if temperature == 1.0:
        return probs / probs.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        scaled = np.log(probs) / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def describe_distribution(probs: list[float], rank_by: list[float] | None = None) -> dict:
    """What a widget shows for one distribution, whoever computed it. probs: (V,) -> dict.

    Returns {probs, entropy (nats), entropy_bits, top_prob, effective_tokens, order}, where
    ``order`` lists the indices from most to least likely: by ``rank_by`` when given (the logits,
    whose order no temperature changes, even where probabilities underflow to equal zeros), else
    by probs. A widget passes a reader's own softmax through here, so anything that is not a
    distribution gets a ValueError saying what is wrong with it.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 1:
        raise ValueError(f"expected a flat list of probabilities, got shape {probs.shape}")
    if not np.isfinite(probs).all():
        raise ValueError(
            "probabilities must be finite, got nan or inf "
            "(did exp() overflow? subtracting the largest logit first prevents that)"
        )
    if (probs < 0).any():
        raise ValueError(f"probabilities cannot be negative, got {probs.min():.4g}")
    if abs(probs.sum() - 1) > 1e-6:
        raise ValueError(f"probabilities must sum to 1, these sum to {probs.sum():.6g}")
    ranking = probs if rank_by is None else np.asarray(rank_by, dtype=np.float64)
    return {
        "probs": probs.tolist(),
        "entropy": float(entropy(probs)),
        "entropy_bits": float(entropy_bits(probs)),
        "top_prob": float(probs.max()),
        "effective_tokens": float(effective_num_tokens(probs)),
        "order": np.argsort(-ranking, kind="stable").tolist(),
    }


def cut_tail(probs: list[float], top_k: int | None = None,
             top_p: float | None = None) -> np.ndarray:
    """What top-k, then top-p, leave of a distribution, renormalised: the probabilities a draw
    uses. probs (V,) -> (V,), the same array when neither is set (top_p of 1 is no cut)."""
    probs = np.asarray(probs, dtype=np.float64)
    if not top_k and (top_p is None or top_p >= 1):
        return probs
    with np.errstate(divide="ignore"):
        scores = np.log(probs)  # any logits of these probabilities would do: the cuts only rank
    if top_k:
        scores = top_k_filter(scores, int(top_k))
    if top_p is not None and top_p < 1:
        scores = top_p_filter(scores, top_p)
    return softmax(scores)


def describe_cut(probs: list[float], rank_by: list[float] | None = None,
                 top_k: int | None = None, top_p: float | None = None) -> dict:
    """describe_distribution of what the draw uses after top-k and top-p, plus ``cut``: for each
    token, whether the cuts removed it. probs (V,) are checked as a distribution first."""
    describe_distribution(probs, rank_by)  # a reader's softmax gets its ValueError here
    kept = cut_tail(probs, top_k, top_p)
    cut = (kept == 0) & (np.asarray(probs, dtype=np.float64) > 0)
    return {**describe_distribution(kept, rank_by), "cut": cut.tolist()}


def temperature_explorer(logits: list[float], temperature: float, top_k: int | None = None,
                         top_p: float | None = None) -> dict:
    """What the TemperatureExplorer widget draws for one setting: describe_cut of
    softmax(logits / T), ranked by the logits (the same order at every temperature)."""
    probs = softmax(logits, temperature)
    if probs.ndim != 1:
        raise ValueError(f"logits must be a flat list of scores, got shape {probs.shape}")
    return describe_cut(probs, logits, top_k, top_p)


def sample_token(logits: list[float], temperature: float, seed: int, top_k: int | None = None,
                 top_p: float | None = None) -> int:
    """One token index drawn from softmax(logits / T), after top-k and top-p if given, with a
    fixed seed (for a widget's Sample)."""
    top_p = None if top_p is not None and top_p >= 1 else top_p
    return int(sample(logits, temperature=temperature, top_k=top_k or None, top_p=top_p, seed=seed))
