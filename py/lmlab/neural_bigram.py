"""The bigram model again, learned instead of counted: the book's first gradients.

The counting model keeps a (V, V) table of probabilities. Here a (V, V) table of weights W does
the same job: the current character, as a one-hot row x (V,), picks the row x @ W of logits, and
softmax turns them into P(next char). Training nudges W downhill on the average negative
log-likelihood (cross-entropy) of the next characters:

    logits = onehot(xs) @ W                      (N, V)
    loss   = mean_i -log softmax(logits_i)[ys_i]
    dW     = onehot(xs).T @ (softmax(logits) - onehot(ys)) / N

Because x is one-hot, the gradient of a row of W only sums over the positions whose current
character is that row: it depends on the data only through the bigram counts (count_loss_and_grad
computes the very same numbers from the (V, V) count table, which is what makes training fast
enough to watch). With nothing to stop it, gradient descent drives the model to the counting
model's probabilities, and its loss down to the counting model's loss.
"""

from collections.abc import Callable

import numpy as np

from lmlab.embeddings import one_hot
from lmlab.losses import cross_entropy, log_softmax


def logits(W: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """One-hot(xs) @ W, the scores of every next character. W (V, V), xs (N,) -> (N, V)."""
    return one_hot(xs, W.shape[0]) @ W


def loss_and_grad(W: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[float, np.ndarray]:
    """Average NLL of ys given xs, and its gradient with respect to W, by hand.

    W (V, V), xs (N,) current chars, ys (N,) next chars -> (loss, dW (V, V)).
    """
    x = one_hot(xs, W.shape[0])  # (N, V)
    loss, dlogits = cross_entropy(x @ W, ys)  # dlogits = (softmax - onehot(ys)) / N
    return loss, x.T @ dlogits


def count_loss_and_grad(W: np.ndarray, counts: np.ndarray) -> tuple[float, np.ndarray]:
    """The same loss and gradient, from the bigram count table instead of the N pairs.

    counts[a, b] = how often b followed a. W (V, V), counts (V, V) -> (loss, dW (V, V)).
    """
    total = counts.sum()
    logp = log_softmax(W)  # (V, V): row a is log P(next | a)
    loss = -(counts * logp).sum() / total
    dW = (counts.sum(axis=1, keepdims=True) * np.exp(logp) - counts) / total
    return float(loss), dW


def train_counts(
    counts: np.ndarray, steps: int, lr: float, W: np.ndarray | None = None
) -> tuple[np.ndarray, list[float]]:
    """Plain gradient descent from W (zeros, the uniform model, by default).

    counts (V, V) -> (W (V, V) after ``steps`` updates, the loss before each update).
    """
    W = np.zeros(counts.shape) if W is None else np.array(W, dtype=np.float64)
    losses = []
    for _ in range(steps):
        loss, dW = count_loss_and_grad(W, counts)
        losses.append(loss)
        W -= lr * dW
    return W, losses


def _training_names(held_out: float, seed: int) -> tuple[list[str], list[str]]:
    """The chapter's training names and the alphabet (the dot first)."""
    from lmlab import data
    from lmlab.ngram import names_model

    train, _ = data.split(data.names(), held_out=held_out, seed=seed)
    return train, names_model().chars


def names_learning_curve(
    steps: int = 300, lr: float = 50.0, held_out: float = 0.1, seed: int = 0
) -> dict:
    """Gradient descent on the bigram model of the book's training names (LearningCurve widget).

    -> {losses (steps + 1,): the loss before each update and after the last, counting_loss (the
    counting model's training NLL, the floor), uniform_loss (ln V, where W = 0 starts)}.
    """
    from lmlab.ngram import NGramModel

    train, chars = _training_names(held_out, seed)
    counted = NGramModel(train, alphabet=chars)
    W, losses = train_counts(counted.counts, steps, lr)
    losses.append(count_loss_and_grad(W, counted.counts)[0])
    return {
        "losses": losses,
        "counting_loss": counted.nll(train),
        "uniform_loss": float(np.log(counted.vocab_size)),
    }


# A reader's loss_and_grad(W, xs, ys) is called once per step on every pair it is given, so the
# widget gives it the bigrams of the first READER_NAMES training names (about two thousand pairs)
# rather than all fifty thousand: a step then takes a few milliseconds in the browser, not a fifth
# of a second. The counting loss the curve approaches is that of the same bigrams.
READER_NAMES = 300
GRADIENT_RTOL = 1e-6  # "the same gradient": equal to lmlab's within this (and 1e-9 absolute)
GRADIENT_ATOL = 1e-9


def _reader_step(grad: Callable, W: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                 step: int) -> tuple[float, np.ndarray]:
    """One call of the reader's loss_and_grad, its answer checked. -> (loss, dW (V, V))."""
    answer = grad(W.copy(), xs.copy(), ys.copy())
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        raise ValueError(f"loss_and_grad should return two things, (loss, dW); at step {step} it "
                         f"returned {type(answer).__name__}")
    loss, dW = answer
    dW = np.asarray(dW, dtype=np.float64)
    if dW.shape != W.shape:
        raise ValueError(f"the gradient dW should have W's shape {W.shape}, but at step {step} it "
                         f"has shape {dW.shape}")
    return float(loss), dW


def compare_gradients(theirs: np.ndarray, expected: np.ndarray, chars: list[str],
                      worst: int = 3) -> dict:
    """Where a gradient differs from the right one. (V, V), (V, V) -> {same, differing (count),
    total, max_diff, worst: [{row, col, theirs, expected}] the largest differences first}."""
    bad = ~np.isclose(theirs, expected, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL)
    gap = np.where(bad, np.abs(theirs - expected), 0.0)
    gap = np.where(np.isnan(theirs) & bad, np.inf, gap)  # a NaN is as far off as can be
    order = np.argsort(-gap, axis=None, kind="stable")[: min(worst, int(bad.sum()))]
    return {
        "same": not bad.any(),
        "differing": int(bad.sum()),
        "total": int(bad.size),
        "max_diff": float(gap.max()),
        "worst": [{"row": chars[a], "col": chars[b], "theirs": float(theirs[a, b]),
                   "expected": float(expected[a, b])}
                  for a, b in zip(*np.unravel_index(order, gap.shape), strict=True)],
    }


def reader_learning_curve(
    grad: Callable, steps: int = 300, lr: float = 50.0, names: int = READER_NAMES,
    held_out: float = 0.1, seed: int = 0,
) -> dict:
    """Gradient descent driven by a reader's ``grad`` = loss_and_grad(W, xs, ys) -> (loss, dW),
    on the bigrams of the first ``names`` training names (LearningCurve, "Use my loss_and_grad").

    At W = 0 their loss and gradient are compared with lmlab's (``first_step``); then W steps
    down *their* gradient, and ``losses`` (steps + 1,) are the true losses of those W, measured by
    lmlab, so a wrong gradient shows as a curve that does not reach ``counting_loss``. The descent
    stops early (``stopped_at``) if their gradient stops being finite. ``lmlab_losses`` is the
    same descent with lmlab's gradient, for comparison.
    """
    from lmlab.ngram import NGramModel

    train, chars = _training_names(held_out, seed)
    subset = train[:names]
    counted = NGramModel(subset, alphabet=chars)
    pairs = counted.ngrams(subset)
    xs, ys = pairs[:, 0].copy(), pairs[:, 1].copy()
    W = np.zeros((len(chars), len(chars)))
    their_loss, their_grad = _reader_step(grad, W, xs, ys, 0)
    right_loss, right_grad = loss_and_grad(W, xs, ys)
    first_step = {
        "loss_theirs": their_loss,
        "loss_expected": float(right_loss),
        "loss_same": bool(np.isclose(their_loss, right_loss, rtol=GRADIENT_RTOL, atol=0)),
        **compare_gradients(their_grad, right_grad, chars),
    }
    losses, stopped_at, dW = [], None, their_grad
    for step in range(steps):
        losses.append(count_loss_and_grad(W, counted.counts)[0])
        if step > 0:
            dW = _reader_step(grad, W, xs, ys, step)[1]
        if not np.isfinite(dW).all():
            stopped_at = step
            break
        W = W - lr * dW
    else:
        losses.append(count_loss_and_grad(W, counted.counts)[0])
    W_ref, reference = train_counts(counted.counts, steps, lr)
    return {
        "losses": losses,
        "lmlab_losses": [*reference, count_loss_and_grad(W_ref, counted.counts)[0]],
        "counting_loss": counted.nll(subset),
        "uniform_loss": float(np.log(counted.vocab_size)),
        "names": len(subset),
        "bigrams": len(xs),
        "first_step": first_step,
        "stopped_at": stopped_at,
    }
