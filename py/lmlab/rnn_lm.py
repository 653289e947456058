"""A character language model with a recurrent network in place of a fixed window.

Embed each character, run the embeddings through an ``RNN`` and score the next character from
each hidden state: the prediction at position t can depend on every character before it, not
only on the last ``block_size`` of them as in ``lmlab.mlp_lm``. Its parameters do not grow with
the context, because the same weights serve every step. Training feeds whole names at once,
'.' + name as input and name + '.' as target, padded to the longest name in the batch; the
padding comes after each name, where the recurrence cannot carry it back to the name itself,
and it is left out of the loss, which is the mean over the same characters (end marks
included) that the MLP model predicts, so the two losses compare directly.
"""

from collections.abc import Sequence

import numpy as np

from lmlab import mlp_lm
from lmlab.embeddings import Embedding
from lmlab.losses import cross_entropy
from lmlab.module import Module
from lmlab.nn import Linear, Rng
from lmlab.rnn import RNN

PAD = -1  # the target id of padding positions; the loss ignores them


def build_sequences(words: Sequence[str], vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each word as one training sequence, padded to the longest.

    -> X: (N, L) ids of '.' + word, padded with '.'; Y: (N, L) ids of word + '.', padded with
    PAD; L = longest word + 1. build_sequences(["ab"], ".ab") -> X [[0, 1, 2]], Y [[1, 2, 0]].
    """
    stoi = {char: i for i, char in enumerate(vocab)}
    if not words:
        raise ValueError("need at least one word")
    length = max(len(word) for word in words) + 1
    X = np.full((len(words), length), stoi[mlp_lm.BOUNDARY], dtype=np.int64)
    Y = np.full((len(words), length), PAD, dtype=np.int64)
    for row, word in enumerate(words):
        missing = set(word) - set(stoi)
        if missing:
            raise ValueError(f"{sorted(missing)} in {word!r} not in the vocabulary")
        ids = [stoi[char] for char in word]
        X[row, 1 : len(word) + 1] = ids
        Y[row, : len(word) + 1] = [*ids, stoi[mlp_lm.BOUNDARY]]
    return X, Y


class RNNLanguageModel(Module):
    """Embeddings -> RNN -> logits at every position.

    idx: (B, T) ids -> logits: (B, T, vocab_size). Parameters:
    vocab_size * n_embd + (n_embd + n_hidden + 1) * n_hidden + (n_hidden + 1) * vocab_size,
    whatever the length of the text.
    """

    def __init__(
        self,
        vocab_size: int,
        n_embd: int = 10,
        n_hidden: int = 64,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.emb = Embedding(vocab_size, n_embd, rng=rng, dtype=dtype)
        # Unit-scale rows, as in the MLP model: no normalisation follows.
        self.emb.params["weight"][...] = rng.standard_normal((vocab_size, n_embd))
        self.rnn = RNN(n_embd, n_hidden, rng=rng, dtype=dtype)
        # Small output weights: the first predictions are nearly uniform, loss near ln(vocab).
        self.out = Linear(n_hidden, vocab_size, std=0.01, rng=rng, dtype=dtype)

    def __call__(
        self, idx: np.ndarray, targets: np.ndarray | None = None, h0: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None]:
        return self.forward(idx, targets, h0)

    def forward(
        self, idx: np.ndarray, targets: np.ndarray | None = None, h0: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None]:
        """idx: (B, T), targets: (B, T) with PAD for positions not to count, or None;
        h0: (B, n_hidden) or None -> (logits (B, T, V), mean loss or None). The last hidden
        states, (B, n_hidden), are left in ``self.h_last`` to continue a text from."""
        idx = np.asarray(idx)
        if idx.ndim != 2:
            raise ValueError(f"idx must have shape (B, T), got {idx.shape}")
        hs = self.rnn(self.emb(idx), h0)
        self.h_last = hs[:, -1]
        return score(self, self.out(hs), targets)

    def backward(self, dlogits: np.ndarray | None = None) -> None:
        """Backpropagate dlogits: (B, T, V), by default the gradient of the loss from forward."""
        dlogits = loss_gradient(self, dlogits)
        self.emb.backward(self.rnn.backward(self.out.backward(dlogits)))


def score(
    model: Module, logits: np.ndarray, targets: np.ndarray | None
) -> tuple[np.ndarray, float | None]:
    """A sequence model's answer: (logits (B, T, V), the mean loss over the targets that are not
    PAD, or None without targets). The loss's gradient is kept in ``model.dlogits`` for
    ``loss_gradient`` (None without targets)."""
    if targets is None:
        model.dlogits = None
        return logits, None
    loss, model.dlogits = cross_entropy(logits, np.asarray(targets), ignore_index=PAD)
    return logits, loss


def loss_gradient(model: Module, dlogits: np.ndarray | None) -> np.ndarray:
    """The gradient a model's backward starts from: dlogits if given, else the loss's (score)."""
    if dlogits is not None:
        return dlogits
    if model.dlogits is None:
        raise ValueError("forward had no targets, so there is no loss to backpropagate")
    return model.dlogits


def train(
    model: RNNLanguageModel,
    X: np.ndarray,
    Y: np.ndarray,
    steps: int,
    batch_size: int = 32,
    lr: float = 0.5,
    max_grad_norm: float | None = 1.0,
    seed: int = 0,
) -> list[dict]:
    """Minibatch SGD on batch_size random words per step (``mlp_lm.train``), the gradient
    clipped to max_grad_norm: the usual guard against a gradient that explodes through time.

    Returns the trace [{"step": i, "loss": minibatch loss before the update}, ...].
    """
    return mlp_lm.train(model, X, Y, steps, batch_size, lr, seed, max_grad_norm, crop_padding)


def crop_padding(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut a batch's columns after its longest word: the rest is padding only. (B, L) each."""
    length = int((Y != PAD).sum(axis=1).max())
    return X[:, :length], Y[:, :length]


def evaluate(model: RNNLanguageModel, X: np.ndarray, Y: np.ndarray) -> float:
    """Mean cross-entropy per predicted character over a whole dataset."""
    _, loss = model(X, Y)
    return loss


def sample_words(
    model: RNNLanguageModel,
    vocab: Sequence[str],
    n: int = 10,
    temperature: float = 1.0,
    seed: int | None = None,
    max_len: int = 30,
) -> list[str]:
    """Generate n words at once, one character per step: each step feeds the last character
    and the hidden state, nothing else, until the model emits '.' (or max_len chars)."""
    h = None

    def next_logits(last: np.ndarray) -> np.ndarray:
        nonlocal h
        logits, _ = model(last[:, None], h0=h)
        h = model.h_last
        return logits[:, -1]

    return mlp_lm.sample_words_with(next_logits, vocab, n, temperature, seed, max_len)
