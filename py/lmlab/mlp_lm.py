"""A neural language model over a fixed window of characters (Bengio et al., 2003).

To predict the next character of a name, look at the previous ``block_size`` characters:
embed each one as a short learned vector, concatenate the vectors, pass them through a hidden
layer (tanh as in Bengio et al. and makemore, or ReLU), and score every character of the
vocabulary. Unlike a count table, the model
shares what it learns between similar contexts, and its size grows linearly with the window
instead of exponentially. It still sees nothing outside the window, which is the problem
attention solves.

The character '.' marks both the start and the end of a name, and pads the window at the start.
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lmlab.embeddings import Embedding
from lmlab.losses import cross_entropy
from lmlab.module import Module
from lmlab.nn import Linear, ReLU, Rng, Tanh
from lmlab.optim import SGD, AdamW, train_step
from lmlab.sampling import sample

BOUNDARY = "."

# Each hidden activation with the gain that keeps its inputs near unit scale at the start: tanh's
# 5/3 keeps it out of saturation; ReLU's sqrt(2) makes up for the half of its inputs it zeroes
# (Kaiming He's initialisation). The gains are PyTorch's torch.nn.init.calculate_gain.
ACTIVATIONS = {"tanh": (Tanh, 5 / 3), "relu": (ReLU, 2**0.5)}


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
    """All training examples of a word list: X: (N, block_size) ids of contexts, Y: (N,) ids.

    The examples of ``context_windows``, word after word, built without a Python loop over them
    (the book's 8,403 names make some 59,000, which a loop takes a tenth of a second to build in
    the browser): each word, padded with block_size '.' before it and one after, is written into
    one long row of ids, and every window of block_size + 1 ids that starts inside a word's
    padded span and ends by its final '.' is one example (context, next id).
    -> X (N, block_size), Y (N,), N = sum of len(word) + 1.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    stoi = {char: i for i, char in enumerate(vocab)}
    if BOUNDARY not in stoi:
        raise ValueError(f"the vocabulary has no {BOUNDARY!r}, which pads and ends every word")
    text = "".join(words)
    unknown = set(text) - stoi.keys()
    if unknown:
        word = next(word for word in words if unknown & set(word))
        raise ValueError(f"{min(unknown & set(word))!r} in {word!r} is not in the vocabulary")
    # Counts and positions as np.intp: np.repeat takes no other counts on 32-bit wasm (Pyodide).
    lengths = np.array([len(word) for word in words], dtype=np.intp)
    spans = lengths + block_size + 1  # '.' * block_size + word + '.'
    span_starts = np.cumsum(spans) - spans
    ids = np.full(int(spans.sum()), stoi[BOUNDARY], dtype=np.int64)  # the padding is in place
    chars = [stoi[c] for c in text]
    char_in_word = np.arange(len(chars)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ids[np.repeat(span_starts + block_size, lengths) + char_in_word] = chars
    # A window starting t ids into a word's span is an example if t <= len(word): it then ends
    # at the latest on the word's final '.'.
    offset = np.arange(len(ids)) - np.repeat(span_starts, spans)
    starts = np.flatnonzero(offset <= np.repeat(lengths, spans))
    windows = starts[:, None] + np.arange(block_size + 1)
    examples = ids[windows].reshape(-1, block_size + 1)
    return examples[:, :block_size].copy(), examples[:, block_size].copy()


class MLPLanguageModel(Module):
    """Embeddings -> concatenation -> hidden layer (tanh or ReLU) -> logits.

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
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        rng = np.random.default_rng(rng)
        self.block_size = block_size
        self.emb = Embedding(vocab_size, n_embd, rng=rng, dtype=dtype)
        # Unit-scale rows rather than GPT's 0.02: no layer norm follows here, and rows this size
        # let the hidden layer tell the characters apart from the first step.
        self.emb.params["weight"][...] = rng.standard_normal((vocab_size, n_embd))
        layer, gain = ACTIVATIONS[activation]
        fan_in = block_size * n_embd
        self.hidden = Linear(fan_in, n_hidden, std=gain / fan_in**0.5, rng=rng, dtype=dtype)
        self.activation = layer()
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
        logits = self.out(self.activation(self.hidden(concat)))
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
        dconcat = self.hidden.backward(self.activation.backward(self.out.backward(dlogits)))
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
    losses = train_steps(model, SGD(model, lr=lr), np.random.default_rng(seed), X, Y, steps,
                         batch_size, max_grad_norm, crop)  # fmt: skip
    return [{"step": step, "loss": loss} for step, loss in enumerate(losses)]


def train_steps(
    model: Module,
    optimizer: SGD | AdamW,
    batches: np.random.Generator,
    X: np.ndarray,
    Y: np.ndarray,
    steps: int,
    batch_size: int,
    max_grad_norm: float | None = None,
    crop: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[float]:
    """``steps`` updates on minibatches drawn from ``batches``; -> (steps,) the loss before each.

    X: (N, ...), Y: (N, ...). The generator and the optimizer carry on from call to call, so
    training in several calls takes exactly the steps one call would.
    """
    losses = []
    for _ in range(steps):
        batch = batches.integers(0, len(X), size=batch_size)
        inputs, targets = X[batch], Y[batch]
        if crop is not None:
            inputs, targets = crop(inputs, targets)
        losses.append(train_step(model, optimizer, inputs, targets, max_grad_norm=max_grad_norm))
    return losses


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


# Training in the page (the chapter's trainer widget). A widget reaches Python by calling a
# module-level function with JSON arguments, so the model it trains lives here, under an id,
# between calls: the widget starts a session, trains it a chunk of steps at a time (one call per
# redraw, so the page never waits long) and asks for samples and embeddings when it draws them.
KEEP_SESSIONS = 2  # a page trains one model, or two side by side; older sessions are dropped
EVAL_EVERY = 100  # steps between two measurements of the held-out and training losses
# The losses are measured on this many examples of each split, spread evenly over it: the book's
# held-out names alone make some 5,900 examples, which Pyodide takes about 20 ms to score, too long
# to add to a redraw. The same examples every time, so the curve moves only when the model does.
EVAL_EXAMPLES = 2000


@dataclass
class TrainingSession:
    """One model being trained: its data, its optimizer and batch stream, and its history."""

    model: MLPLanguageModel
    optimizer: SGD
    batches: np.random.Generator
    vocab: list[str]
    train: tuple[np.ndarray, np.ndarray]  # X (N, block_size), Y (N,)
    held_out: tuple[np.ndarray, np.ndarray]
    # The examples the losses are measured on (``spread``), as many from each split, so that the
    # training loss is measured on the same footing as the held-out loss (the minibatch losses
    # are too noisy to compare with it).
    train_probe: tuple[np.ndarray, np.ndarray]
    held_out_probe: tuple[np.ndarray, np.ndarray]
    origin: dict[str, str]  # every word of the data set -> "train" or "held_out"
    batch_size: int
    eval_every: int
    losses: list[float] = field(default_factory=list)  # the minibatch loss of every step
    evals: list[dict] = field(default_factory=list)  # [{step, train, held_out}]

    def measure(self) -> dict:
        point = {"step": len(self.losses), "train": evaluate(self.model, *self.train_probe),
                 "held_out": evaluate(self.model, *self.held_out_probe)}  # fmt: skip
        self.evals.append(point)
        return point


_sessions: dict[int, TrainingSession] = {}
_session_ids = itertools.count(1)


def _session(session_id: int) -> TrainingSession:
    if session_id not in _sessions:
        raise LookupError(
            f"training session {session_id} has ended (only the {KEEP_SESSIONS} newest are "
            "kept): start a new one"
        )
    return _sessions[session_id]


def session_start(
    words: Sequence[str] | None = None,
    block_size: int = 3,
    n_embd: int = 2,
    n_hidden: int = 64,
    lr: float = 0.3,
    seed: int = 0,
    batch_size: int = 32,
    activation: str = "tanh",
    held_out: float = 0.1,
    eval_every: int = EVAL_EVERY,
    eval_examples: int | None = EVAL_EXAMPLES,
    samples: int = 8,
    temperature: float = 1.0,
) -> dict:
    """Start training a new model on ``words`` (by default the book's names, ``data.names()``).

    The words are split as ``data.split(words, held_out, seed=0)``; the model's weights come from
    ``seed`` and so do its minibatches, exactly as ``train(model, X, Y, ..., seed=seed)`` draws
    them. The training and held-out losses are measured every ``eval_every`` steps on
    ``eval_examples`` examples of each split (``spread``; None: all held-out examples, and as many
    training ones). The oldest session is dropped once there are more than KEEP_SESSIONS.
    -> {"id": the session's id, **session_state(id, samples, temperature)} at step 0.
    """
    if min(block_size, n_embd, n_hidden, batch_size, eval_every) < 1:
        raise ValueError(
            "block_size, n_embd, n_hidden, batch_size and eval_every must be >= 1, got "
            f"{block_size}, {n_embd}, {n_hidden}, {batch_size}, {eval_every}"
        )
    if words is None:
        from lmlab import data

        words = data.names()
    train_words, held_out_words = _split(words, held_out)
    vocab = char_vocabulary(words)
    model = MLPLanguageModel(len(vocab), block_size, n_embd, n_hidden, rng=seed,
                             activation=activation)  # fmt: skip
    X, Y = build_dataset(train_words, vocab, block_size)
    # With no words held out (a few words typed in a cell), the held-out loss is the training
    # words' loss: the curve still has two lines, which then agree.
    held = build_dataset(held_out_words or train_words, vocab, block_size)
    probe = len(held[1]) if eval_examples is None else eval_examples
    session = TrainingSession(
        model=model,
        optimizer=SGD(model, lr=lr),
        batches=np.random.default_rng(seed),
        vocab=vocab,
        train=(X, Y),
        held_out=held,
        train_probe=spread((X, Y), probe),
        held_out_probe=spread(held, probe),
        origin={**dict.fromkeys(train_words, "train"), **dict.fromkeys(held_out_words, "held_out")},
        batch_size=batch_size,
        eval_every=eval_every,
    )
    session.measure()
    session_id = next(_session_ids)
    _sessions[session_id] = session
    while len(_sessions) > KEEP_SESSIONS:
        del _sessions[next(iter(_sessions))]  # dicts keep insertion order: the oldest first
    return {"id": session_id, **session_state(session_id, samples, temperature)}


def spread(dataset: tuple[np.ndarray, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """n examples spread evenly over a dataset, the first and the last included (all of them if
    it has no more than n). (X (N, block_size), Y (N,)) -> (X (n, block_size), Y (n,))."""
    X, Y = dataset
    if n < 1:
        raise ValueError(f"need at least one example to measure a loss on, got {n}")
    if len(Y) <= n:
        return X, Y
    keep = np.linspace(0, len(Y) - 1, n).round().astype(np.int64)
    return X[keep], Y[keep]


def _split(words: Sequence[str], held_out: float) -> tuple[list[str], list[str]]:
    """Training and held-out words (``data.split`` with seed 0); there must be words to train on."""
    from lmlab import data

    train_words, held_out_words = data.split(list(words), held_out=held_out, seed=0)
    if not train_words:
        raise ValueError("there are no words to train on")
    return train_words, held_out_words


def session_train(session_id: int, steps: int, lr: float | None = None) -> dict:
    """Train ``steps`` more steps (at a new learning rate ``lr``, if given, from now on).

    -> {step: the number of steps taken so far, losses: (steps,) the minibatch loss before each
    of these steps, evals: [{step, train, held_out}] the losses measured during them (at every
    multiple of eval_every, see session_start)}. The steps are the same however a run is cut
    into calls.
    """
    session = _session(session_id)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if lr is not None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        session.optimizer.lr = lr
    losses, evals = [], []
    while len(losses) < steps:
        # Train up to the next multiple of eval_every, measure there, carry on.
        done = len(session.losses)
        chunk = min(steps - len(losses), session.eval_every - done % session.eval_every)
        losses += train_steps(session.model, session.optimizer, session.batches, *session.train,
                              chunk, session.batch_size)  # fmt: skip
        session.losses += losses[-chunk:]
        if len(session.losses) % session.eval_every == 0:
            evals.append(session.measure())
    return {"step": len(session.losses), "losses": losses, "evals": evals}


def session_state(
    session_id: int,
    samples: int = 8,
    temperature: float = 1.0,
    sample_seed: int = 0,
    with_losses: bool = True,
) -> dict:
    """What the trainer draws: {step, losses (step,), evals, vocab, parameters, samples:
    [{word, origin}] where origin is "train" (the model learned this name), "held_out" (a real
    name it never saw) or null (a new word), embeddings: (V, 2) each character's vector when
    n_embd is 2, else null}. The same sample_seed at the same step gives the same samples.
    with_losses=False leaves out the minibatch losses (null): a widget that has them already
    need not receive thousands of numbers again.
    """
    session = _session(session_id)
    words = sample_words(session.model, session.vocab, n=samples, temperature=temperature,
                         seed=sample_seed) if samples else []  # fmt: skip
    weight = session.model.emb.params["weight"]
    return {
        "step": len(session.losses),
        "losses": list(session.losses) if with_losses else None,
        "evals": list(session.evals),
        "vocab": session.vocab,
        "parameters": session.model.num_parameters(),
        "samples": [{"word": word, "origin": session.origin.get(word)} for word in words],
        "embeddings": weight.copy() if weight.shape[1] == 2 else None,
    }


def session_end(session_id: int) -> None:
    """Forget a session (a widget that is closed or restarts); an unknown id is ignored."""
    _sessions.pop(session_id, None)
