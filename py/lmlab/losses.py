"""Cross-entropy: how surprised a model is by the token that actually came next.

A language model outputs one score (logit) per vocabulary entry at every position. Softmax turns
the scores into probabilities; the loss is the average of -log p(correct token). Its gradient with
respect to the logits has a famously simple form, softmax(logits) - one_hot(target), which is why
the two are computed together here.
"""

import math

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities, computed without overflow. logits: (..., V) -> (..., V)."""
    # Subtracting the max changes nothing mathematically and keeps exp() from overflowing.
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(
    logits: np.ndarray,
    targets: np.ndarray,
    ignore_index: int | None = None,
    mask: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the targets, and its gradient with respect to the logits.

    logits: (..., V), e.g. (N, V) or (B, T, V); targets: (...) integer ids in [0, V).
    Positions whose target equals ``ignore_index``, or where ``mask`` (same shape as targets) is
    0/False, do not count: they add nothing to the loss and get zero gradient. This is how
    instruction tuning trains only on the answer tokens.
    Returns (loss, dlogits) with dlogits: (..., V), the gradient of the mean loss.
    """
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {logits.shape} must be targets {targets.shape} plus a vocabulary axis"
        )
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integer token ids, got dtype {targets.dtype}")
    vocab_size = logits.shape[-1]
    weights = np.ones(targets.shape, dtype=logits.dtype)
    if ignore_index is not None:
        weights[targets == ignore_index] = 0
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != targets.shape:
            raise ValueError(f"mask {mask.shape} must have the shape of targets {targets.shape}")
        weights = weights * (mask != 0)
    counted = weights != 0
    if not counted.any():
        raise ValueError("every position is ignored or masked: there is no loss to average")
    if targets[counted].min() < 0 or targets[counted].max() >= vocab_size:
        raise ValueError(f"targets must lie in [0, {vocab_size})")
    count = weights.sum()

    safe_targets = np.where(counted, targets, 0)  # ignored ids (e.g. -100) must still index
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, safe_targets[..., None], axis=-1)[..., 0]
    loss = -(picked * weights).sum() / count

    # d(loss)/d(logits) = (softmax - one_hot) / count at every counted position.
    dlogits = np.exp(logp)
    np.put_along_axis(
        dlogits,
        safe_targets[..., None],
        np.take_along_axis(dlogits, safe_targets[..., None], axis=-1) - 1,
        axis=-1,
    )
    dlogits *= (weights / count)[..., None]
    return float(loss), dlogits


def uniform_cross_entropy(vocab_size: int) -> float:
    """The loss of a model that spreads probability evenly: -ln(1/V) = ln V.

    A freshly initialised language model should start near this value; for GPT-2's 50,257
    tokens it is about 10.82.
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
    return math.log(vocab_size)
