"""The book's own model: a small GPT with a byte-level BPE, both trained on tiny-shakespeare.

Everything about it is settled here, in BOOK_MODEL: the tokenizer (256 bytes and 256 merges,
learned on the training part of the text), the GPT's shape (about 0.5 M parameters) and the
training run (AdamW, a cosine learning rate with warm-up, gradient clipping, a fixed seed). The
builder (build/data.py, data set ``book_gpt``) runs ``train_book_model`` once, whenever this
file, the training code or the text change, and ships the result as one .npz file; a page reads
it with ``lmlab.data.book_gpt()``.

The file holds the weights as float16 (half the bytes). Rounding a weight to float16 changes it
by at most 2^-11 of itself (about 0.05%); through the network that moves the logits, which
reach about 15 in size, by about a hundredth at most (the file stores the trained model's
logits on a fixed prompt, so the page, and the tests, can compare).

The model trains in float64. Every machine's numpy rounds float32 sums a little differently (its
kernels depend on the CPU), and over 1,200 steps those differences grow into visibly different
weights and losses; in float64 they stay far below the four decimals the book prints, so the
chapter's numbers are the same whichever machine builds the book.
"""

import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lmlab.bpe import NUM_BYTES, Pair, build_vocab, encode_fast, learn_merges
from lmlab.gpt import GPT, GPTConfig, get_batch
from lmlab.optim import AdamW, cosine_lr, train_step


@dataclass(frozen=True)
class BookModelSettings:
    num_merges: int = 256  # vocabulary: 256 bytes + these merges
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 96
    steps: int = 1200
    batch_size: int = 16
    max_lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    held_out: float = 0.1  # the last tenth of the text, never trained on
    seed: int = 0

    def config(self) -> GPTConfig:
        return GPTConfig(NUM_BYTES + self.num_merges, self.block_size, self.n_layer,
                         self.n_head, self.n_embd)


BOOK_MODEL = BookModelSettings()
PROMPT = "ROMEO:\nBut soft, what light"  # the fixed prompt whose logits the file carries


class BookTokenizer:
    """Byte-level BPE from an ordered list of merges; merge i makes token 256 + i."""

    def __init__(self, merges: list[Pair]) -> None:
        self.merges = {tuple(map(int, pair)): NUM_BYTES + i for i, pair in enumerate(merges)}
        self.vocab = build_vocab(self.merges)

    @classmethod
    def train(cls, text: str, num_merges: int) -> "BookTokenizer":
        return cls([pair for pair, _, _ in learn_merges(text, num_merges)])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """text -> token ids (N,) int64."""
        return encode_fast(text, self.merges)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return b"".join(self.vocab[int(i)] for i in ids).decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[str]:
        return [self.decode([i]) for i in self.encode(text)]


def split_text(text: str, held_out: float) -> tuple[str, str]:
    """(training text, held-out text): the held-out part is the last fraction of the text,
    starting at a line."""
    cut = text.rfind("\n", 0, round(len(text) * (1 - held_out))) + 1
    return text[:cut], text[cut:]


def mean_loss(model: GPT, ids: np.ndarray, batch_size: int = 32) -> float:
    """Mean cross-entropy (nats per token) of the model on ids: (N,), cut into back-to-back
    windows of block_size tokens (the tail that fills no window is left out)."""
    T = model.config.block_size
    n = (len(ids) - 1) // T
    x = ids[: n * T].reshape(n, T)
    y = ids[1 : n * T + 1].reshape(n, T)
    total = 0.0
    for i in range(0, n, batch_size):
        _, loss = model.forward(x[i : i + batch_size], y[i : i + batch_size])
        total += loss * len(x[i : i + batch_size])
    return total / n


def bigram_loss(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int,
                k: float = 0.1) -> float:
    """Held-out cross-entropy (nats per token) of a bigram model counted on train_ids, with k
    added to every count: the baseline a GPT that reads context has to beat."""
    counts = np.full((vocab_size, vocab_size), k)
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    log_probs = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-log_probs[test_ids[:-1], test_ids[1:]].mean())


@dataclass
class BookModel:
    model: GPT
    tokenizer: BookTokenizer
    losses: list[float]  # the training loss at every step
    held_out_loss: float  # nats per token on the held-out text
    bigram_loss: float  # a bigram model's on the same held-out tokens
    settings: BookModelSettings
    # The trained model's logits (T, V) on PROMPT, before rounding to float16 (set by load).
    prompt_logits: np.ndarray | None = None


def train_book_model(text: str, settings: BookModelSettings = BOOK_MODEL,
                     progress: Callable[[int, float], None] | None = None) -> BookModel:
    """The tokenizer, then the GPT, trained on the text but its held-out tail. Deterministic:
    the same text and settings give the same weights (on the same machine's numpy).
    ``progress(step, loss)`` is called after every step. On CPython the whole run took 121 s
    on two cores (load average 2.5), 429 s while other sessions trained on the same cores."""
    train_text, test_text = split_text(text, settings.held_out)
    tokenizer = BookTokenizer.train(train_text, settings.num_merges)
    train_ids, test_ids = tokenizer.encode(train_text), tokenizer.encode(test_text)
    rng = np.random.default_rng(settings.seed)
    model = GPT(settings.config(), rng=rng, dtype=np.float64)  # see the module's docstring
    optimizer = AdamW(model, lr=settings.max_lr, betas=(0.9, 0.95),
                      weight_decay=settings.weight_decay)
    losses = []
    for step in range(settings.steps):
        optimizer.lr = cosine_lr(step, settings.max_lr, settings.warmup_steps, settings.steps,
                                 settings.min_lr)
        x, y = get_batch(train_ids, settings.block_size, settings.batch_size, rng)
        losses.append(train_step(model, optimizer, x, y, max_grad_norm=settings.max_grad_norm))
        if progress is not None:
            progress(step, losses[-1])
    return BookModel(model, tokenizer, losses, mean_loss(model, test_ids),
                     bigram_loss(train_ids, test_ids, tokenizer.vocab_size), settings)


def round_to_float16(model: GPT) -> None:
    """Round every weight to the nearest float16, in place (what saving and loading does)."""
    for _, param, _ in model.named_parameters():
        param[...] = param.astype(np.float16)


def prompt_ids(book: "BookModel") -> np.ndarray:
    """PROMPT's token ids (T,), its last block_size of them if it is longer."""
    return book.tokenizer.encode(PROMPT)[-book.settings.block_size :]


def float16_weights(model: GPT, prefix: str = "w") -> dict[str, np.ndarray]:
    """The model's weights as float16 arrays named <prefix>/<parameter>, for np.savez."""
    return {f"{prefix}/{name}": param.astype(np.float16)
            for name, param, _ in model.named_parameters()}


def read_weights(f: "np.lib.npyio.NpzFile", model: GPT, prefix: str = "w") -> None:
    """Copy float16_weights' arrays back into a model of the same shape, in place."""
    for name, param, _ in model.named_parameters():
        param[...] = f[f"{prefix}/{name}"]


def settings_arrays(settings: object) -> dict[str, np.ndarray]:
    """A settings dataclass (numbers only) as two arrays, for np.savez."""
    values = asdict(settings)
    return {"settings_names": np.array(list(values)),
            "settings_values": np.array([float(v) for v in values.values()])}


def read_settings(f: "np.lib.npyio.NpzFile", cls: type) -> object:
    """settings_arrays' arrays back into the dataclass cls."""
    values = dict(zip(f["settings_names"].tolist(), f["settings_values"].tolist(), strict=True))
    fields = cls.__dataclass_fields__
    return cls(**{k: fields[k].type(v) if fields[k].type is int else v for k, v in values.items()})


def save(book: BookModel) -> bytes:
    """The model and tokenizer as one .npz: float16 weights, the merges, the settings, the
    training trace and held-out losses, and the trained model's logits on PROMPT."""
    logits, _ = book.model.forward(prompt_ids(book)[None])
    out = io.BytesIO()
    np.savez_compressed(
        out, **float16_weights(book.model), **settings_arrays(book.settings),
        merges=np.array(list(book.tokenizer.merges), dtype=np.int32).reshape(-1, 2),
        losses=np.array(book.losses, dtype=np.float32),
        held_out_loss=book.held_out_loss, bigram_loss=book.bigram_loss,
        prompt_logits=logits[0].astype(np.float32),
    )
    return out.getvalue()


def load(source: bytes | str | Path, dtype: type = np.float32) -> BookModel:
    """A BookModel from save's bytes or a path; the weights as float32, or as float64 (the same
    float16 values, exactly) for results that must not depend on a machine's rounding."""
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source) as f:
        settings = read_settings(f, BookModelSettings)
        model = GPT(settings.config(), rng=0, dtype=dtype)
        read_weights(f, model)
        return BookModel(model, BookTokenizer(f["merges"].tolist()), f["losses"].tolist(),
                         float(f["held_out_loss"]), float(f["bigram_loss"]), settings,
                         f["prompt_logits"])

