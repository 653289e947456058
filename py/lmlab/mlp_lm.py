"""A neural language model over a fixed window of characters (Bengio et al., 2003).

To predict the next character of a name, look at the previous ``block_size`` characters:
embed each one as a short learned vector, concatenate the vectors, pass them through a tanh
hidden layer, and score every character of the vocabulary. Unlike a count table, the model
shares what it learns between similar contexts, and its size grows linearly with the window
instead of exponentially. It still sees nothing outside the window, which is the problem
attention solves.

The character '.' marks both the start and the end of a name, and pads the window at the start.
"""

from collections.abc import Callable, Sequence

import numpy as np

from lmlab.embeddings import Embedding
from lmlab.losses import cross_entropy
from lmlab.module import Module
from lmlab.nn import Linear, Rng, Tanh
from lmlab.optim import SGD, train_step
from lmlab.sampling import sample

BOUNDARY = "."


def char_vocabulary(words: Sequence[str]) -> list[str]:
    """'.' followed by every character of the words, sorted: index = token id."""
    chars = set("".join(words))
    if BOUNDARY in chars:
        raise ValueError(f"{BOUNDARY!r} marks the start and end of a word; words may not use it")
    return [BOUNDARY, *sorted(chars)]


def context_windows(word: str, block_size: int) -> list[tuple[str, str]]:
    """Every (context, next character) pair in a word, padded with '.'.

    context_windows("ab", 3) -> [("...", "a"), ("..a", "b"), (".ab", ".")]
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    context = BOUNDARY * block_size
    pairs = []
    for char in word + BOUNDARY:
        pairs.append((context, char))
        context = context[1:] + char
    return pairs


def build_dataset(
    words: Sequence[str], vocab: Sequence[str], block_size: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """All training examples of a word list: X: (N, block_size) ids of contexts, Y: (N,) ids."""
    stoi = {char: i for i, char in enumerate(vocab)}
    contexts, targets = [], []
    for word in words:
        for context, char in context_windows(word, block_size):
            if char not in stoi:
                raise ValueError(f"{char!r} in {word!r} is not in the vocabulary")
            contexts.append([stoi[c] for c in context])
            targets.append(stoi[char])
    return (
        np.array(contexts, dtype=np.int64).reshape(-1, block_size),
        np.array(targets, dtype=np.int64),
    )


class MLPLanguageModel(Module):
    """Embeddings -> concatenation -> tanh hidden layer -> logits.

    idx: (B, block_size) ids -> logits: (B, vocab_size). Parameters:
    vocab_size * n_embd + (block_size * n_embd + 1) * n_hidden + (n_hidden + 1) * vocab_size.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 3,
        n_embd: int = 10,
        n_hidden: int = 64,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.block_size = block_size
        self.emb = Embedding(vocab_size, n_embd, rng=rng, dtype=dtype)
        # Unit-scale rows rather than GPT's 0.02: no layer norm follows here, and rows this size
        # let the hidden layer tell the characters apart from the first step.
        self.emb.params["weight"][...] = rng.standard_normal((vocab_size, n_embd))
        # tanh's gain of 5/3 keeps the hidden pre-activations near unit scale, out of saturation.
        fan_in = block_size * n_embd
        self.hidden = Linear(fan_in, n_hidden, std=5 / 3 / fan_in**0.5, rng=rng, dtype=dtype)
        self.tanh = Tanh()
        # Small output weights: the first predictions are nearly uniform, loss near ln(vocab).
        self.out = Linear(n_hidden, vocab_size, std=0.01, rng=rng, dtype=dtype)

    def __call__(
        self, idx: np.ndarray, targets: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None]:
        return self.forward(idx, targets)

    def forward(
        self, idx: np.ndarray, targets: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None]:
        """idx: (B, block_size), targets: (B,) or None -> (logits (B, V), mean loss or None)."""
        idx = np.asarray(idx)
        if idx.ndim != 2 or idx.shape[1] != self.block_size:
            raise ValueError(f"idx must have shape (B, {self.block_size}), got {idx.shape}")
        emb = self.emb(idx)  # (B, block_size, n_embd)
        concat = emb.reshape(len(idx), -1)  # each context becomes one long vector
        logits = self.out(self.tanh(self.hidden(concat)))
        if targets is None:
            self.dlogits = None
            return logits, None
        loss, self.dlogits = cross_entropy(logits, targets)
        return logits, loss

    def backward(self, dlogits: np.ndarray | None = None) -> None:
        """Backpropagate dlogits: (B, V), by default the gradient of the loss from forward."""
        if dlogits is None:
            if self.dlogits is None:
                raise ValueError("forward had no targets, so there is no loss to backpropagate")
            dlogits = self.dlogits
        dconcat = self.hidden.backward(self.tanh.backward(self.out.backward(dlogits)))
        self.emb.backward(dconcat.reshape(*self.emb.ids.shape, -1))


def train(
    model: Module,
    X: np.ndarray,
    Y: np.ndarray,
    steps: int,
    batch_size: int = 32,
    lr: float = 0.1,
    seed: int = 0,
    max_grad_norm: float | None = None,
    crop: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[dict]:
    """Minibatch SGD: each step trains on batch_size random examples (rows of X and Y).

    With ``max_grad_norm`` the gradient is clipped to that norm before each update; ``crop``
    may trim a batch first (``rnn_lm`` cuts off columns that hold only padding).
    Returns the trace [{"step": i, "loss": minibatch loss before the update}, ...].
    """
    if steps < 0 or batch_size < 1:
        raise ValueError(f"need steps >= 0 and batch_size >= 1, got {steps}, {batch_size}")
    rng = np.random.default_rng(seed)
    optimizer = SGD(model, lr=lr)
    trace = []
    for step in range(steps):
        batch = rng.integers(0, len(X), size=batch_size)
        inputs, targets = X[batch], Y[batch]
        if crop is not None:
            inputs, targets = crop(inputs, targets)
        loss = train_step(model, optimizer, inputs, targets, max_grad_norm=max_grad_norm)
        trace.append({"step": step, "loss": loss})
    return trace


def evaluate(model: MLPLanguageModel, X: np.ndarray, Y: np.ndarray) -> float:
    """Mean cross-entropy over a whole dataset (no gradients are kept)."""
    _, loss = model(X, Y)
    return loss


def sample_words(
    model: MLPLanguageModel,
    vocab: Sequence[str],
    n: int = 10,
    temperature: float = 1.0,
    seed: int | None = None,
    max_len: int = 30,
) -> list[str]:
    """Generate n words at once, each from '...' until the model emits '.' (or max_len chars)."""
    context = np.zeros((n, model.block_size), dtype=np.int64)  # all '.'

    def next_logits(last: np.ndarray) -> np.ndarray:
        nonlocal context
        # Slide the window: drop the oldest character, append the newest (at first a '.',
        # which leaves the all-'.' start unchanged).
        context = np.concatenate([context[:, 1:], last[:, None]], axis=1)
        return model(context)[0]

    return sample_words_with(next_logits, vocab, n, temperature, seed, max_len)


def sample_words_with(
    next_logits: Callable[[np.ndarray], np.ndarray],
    vocab: Sequence[str],
    n: int = 10,
    temperature: float = 1.0,
    seed: int | None = None,
    max_len: int = 30,
) -> list[str]:
    """n words drawn one character per step from any model: next_logits(last ids (n,)) ->
    logits (n, V) for the next character, starting from '.', until each word draws '.'
    (or has max_len characters). The model keeps whatever context it needs."""
    rng = np.random.default_rng(seed)
    chars = np.zeros((n, max_len), dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)  # all '.'
    for t in range(max_len):
        chars[:, t] = sample(next_logits(last), temperature=temperature, rng=rng)
        last = chars[:, t]
        if (chars[:, : t + 1] == 0).any(axis=1).all():
            break  # every word has ended
    words = []
    for row in chars:
        ended = np.flatnonzero(row == 0)
        length = ended[0] if len(ended) else max_len
        words.append("".join(vocab[i] for i in row[:length]))
    return words
