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


def names_learning_curve(
    steps: int = 300, lr: float = 50.0, held_out: float = 0.1, seed: int = 0
) -> dict:
    """Gradient descent on the bigram model of the book's training names (LearningCurve widget).

    -> {losses (steps + 1,): the loss before each update and after the last, counting_loss (the
    counting model's training NLL, the floor), uniform_loss (ln V, where W = 0 starts)}.
    """
    from lmlab import data
    from lmlab.ngram import NGramModel, names_model

    train, _ = data.split(data.names(), held_out=held_out, seed=seed)
    counted = NGramModel(train, alphabet=names_model().chars)
    W, losses = train_counts(counted.counts, steps, lr)
    losses.append(count_loss_and_grad(W, counted.counts)[0])
    return {
        "losses": losses,
        "counting_loss": counted.nll(train),
        "uniform_loss": float(np.log(counted.vocab_size)),
    }
