"""A character language model that attends: the first model of the book whose prediction at a
position can look straight at any earlier character of the name.

Each character becomes a learned vector plus a learned vector for its position; one causal
multi-head self-attention layer lets every position gather from itself and the positions before
it, its result is added back to the position's own vector (a residual connection), and a linear
read-out scores the next character. There is no feed-forward network and no layer norm: those
come with the transformer block (chapter 8). Names are fed whole, as in ``lmlab.rnn_lm``:
'.' + name in, name + '.' out, padded after the name where the causal mask keeps the padding
from reaching the name, and left out of the loss; so the loss is per real character and compares
directly with the MLP's and the RNN's on the same held-out names.

The module also keeps one trained model per process for the chapter's widget (``heads_view``,
``head_ablation``): trained on first use, deterministically, and kept.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from lmlab import mlp_lm, rnn_lm
from lmlab.embeddings import Embedding
from lmlab.module import Module
from lmlab.nn import CausalSelfAttention, Linear, Rng
from lmlab.optim import AdamW

PAD = rnn_lm.PAD


class AttentionLanguageModel(Module):
    """Token + position embeddings -> causal self-attention (with a residual) -> logits.

    idx: (B, T) ids, T <= block_size -> logits: (B, T, vocab_size). Parameters:
    (vocab_size + block_size) * n_embd + 4 * (n_embd + 1) * n_embd + (n_embd + 1) * vocab_size.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_embd: int = 32,
        n_head: int = 4,
        rng: Rng = None,
        dtype: type = np.float64,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.block_size, self.n_head = block_size, n_head
        self.tok = Embedding(vocab_size, n_embd, rng=rng, dtype=dtype)
        self.pos = Embedding(block_size, n_embd, rng=rng, dtype=dtype)
        # Unit-scale rows, as in chapter 6's models: no layer norm follows to rescale them, and
        # rows this size give the queries and keys something to tell apart from the first step.
        self.tok.params["weight"][...] = rng.standard_normal((vocab_size, n_embd))
        self.pos.params["weight"][...] = rng.standard_normal((block_size, n_embd))
        self.attn = CausalSelfAttention(n_embd, n_head, proj_std=n_embd**-0.5, rng=rng,
                                        dtype=dtype)  # fmt: skip
        # c_attn starts at GPT's 0.02, so every head starts out averaging (all scores near 0).
        # Small output weights: the first predictions are nearly uniform, loss near ln(vocab).
        self.out = Linear(n_embd, vocab_size, std=0.01, rng=rng, dtype=dtype)

    def __call__(
        self,
        idx: np.ndarray,
        targets: np.ndarray | None = None,
        head_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float | None]:
        return self.forward(idx, targets, head_mask)

    def forward(
        self,
        idx: np.ndarray,
        targets: np.ndarray | None = None,
        head_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float | None]:
        """idx: (B, T); targets: (B, T) with PAD where nothing is to be predicted, or None;
        head_mask: (n_head,) gains on the heads' outputs (0 switches a head off), or None
        -> (logits (B, T, V), mean loss per counted character or None). The attention weights
        are left in ``self.attn.weights``, (B, n_head, T, T)."""
        idx = np.asarray(idx)
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.block_size:
            raise ValueError(f"idx must have shape (B, T) with T <= {self.block_size}, "
                             f"got {idx.shape}")  # fmt: skip
        x = self.tok(idx) + self.pos(np.arange(idx.shape[1]))
        return rnn_lm.score(self, self.out(x + self.attn.forward(x, head_mask=head_mask)), targets)

    def backward(self, dlogits: np.ndarray | None = None) -> None:
        """Backpropagate dlogits: (B, T, V), by default the gradient of the loss from forward."""
        dx = self.out.backward(rnn_lm.loss_gradient(self, dlogits))
        dx = dx + self.attn.backward(dx)  # the residual passes dx on unchanged, plus the branch
        self.tok.backward(dx)
        self.pos.backward(dx.sum(axis=0))  # every name in the batch used the same positions


def train(
    model: AttentionLanguageModel,
    X: np.ndarray,
    Y: np.ndarray,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-2,
    seed: int = 0,
) -> list[dict]:
    """AdamW (``lmlab.optim``) on batch_size random names per step, padding-only columns cut.

    X, Y: (N, L) from ``rnn_lm.build_sequences``. -> [{"step": i, "loss": minibatch loss before
    the update}, ...]. The same seed gives the same minibatches and so the same model.
    """
    if steps < 0 or batch_size < 1:
        raise ValueError(f"need steps >= 0 and batch_size >= 1, got {steps}, {batch_size}")
    losses = mlp_lm.train_steps(model, AdamW(model, lr=lr), np.random.default_rng(seed), X, Y,
                                steps, batch_size, crop=rnn_lm.crop_padding)  # fmt: skip
    return [{"step": step, "loss": loss} for step, loss in enumerate(losses)]


def evaluate(
    model: AttentionLanguageModel,
    X: np.ndarray,
    Y: np.ndarray,
    head_mask: np.ndarray | None = None,
) -> float:
    """Mean cross-entropy per predicted character over a whole dataset, some heads switched off
    if head_mask says so."""
    return model(X, Y, head_mask=head_mask)[1]


# The model the chapter's widget looks into: the settings the chapter trains with, chosen so that
# training takes under 2 s on CPython and under 10 s in Pyodide (see the helper's report and
# build/bench/attention_lm.py).
SETTINGS = {"n_embd": 32, "n_head": 4, "steps": 1000, "batch_size": 32, "lr": 1e-2, "seed": 0}


@dataclass(frozen=True)
class Trained:
    """A trained model with its vocabulary and the held-out names it is measured on."""

    model: AttentionLanguageModel
    vocab: list[str]
    held_out: tuple[np.ndarray, np.ndarray]  # X, Y: (N, L)
    trace: list[dict]


@cache
def trained(
    n_embd: int = SETTINGS["n_embd"],
    n_head: int = SETTINGS["n_head"],
    steps: int = SETTINGS["steps"],
    batch_size: int = SETTINGS["batch_size"],
    lr: float = SETTINGS["lr"],
    seed: int = SETTINGS["seed"],
) -> Trained:
    """The model trained on chapter 6's training names (``data.split(names, 0.1, seed=0)``),
    built on the first call with these settings and kept for the process's life."""
    from lmlab import data

    names = data.names()
    train_words, held_out_words = data.split(names, held_out=0.1, seed=0)
    vocab = mlp_lm.char_vocabulary(names)
    X, Y = rnn_lm.build_sequences(train_words, vocab)
    model = AttentionLanguageModel(len(vocab), X.shape[1], n_embd, n_head, rng=seed)
    trace = train(model, X, Y, steps, batch_size, lr, seed)
    held = rnn_lm.build_sequences(held_out_words, vocab)
    return Trained(model, vocab, held, trace)


def heads_off_mask(n_head: int, off: Sequence[int]) -> np.ndarray:
    """(n_head,) gains: 0 for the heads in ``off`` (numbered from 0), 1 for the others."""
    mask = np.ones(n_head)
    for head in off:
        if not 0 <= int(head) < n_head:
            raise ValueError(f"there are heads 0 to {n_head - 1}, not {head}")
        mask[int(head)] = 0.0
    return mask


def looked_at(weights: np.ndarray, counted: np.ndarray) -> dict:
    """Where each head puts its largest weight, over the counted query positions after the first
    (position 0 can only look at itself).

    weights: (B, H, T, T); counted: (B, T) bool. -> {"start": (H,) share of positions whose top
    key is the opening '.', "offsets": (H, T) share whose top key is d characters back (d = 0:
    itself) and not the opening '.', "positions": how many positions were counted}.
    """
    T = weights.shape[-1]
    top = weights.argmax(axis=-1)  # (B, H, T): the key each query weighs most
    query = np.arange(T)
    use = counted & (query > 0)  # (B, T)
    n = int(use.sum())
    at_start = (top == 0) & use[:, None, :]
    back = np.where(top == 0, -1, query - top)  # (B, H, T); -1 marks the opening '.'
    offsets = np.stack([((back == d) & use[:, None, :]).sum(axis=(0, 2)) for d in range(T)], 1)
    return {"start": at_start.sum(axis=(0, 2)) / max(n, 1), "offsets": offsets / max(n, 1),
            "positions": n}  # fmt: skip


@cache
def _held_out_loss(off: tuple[int, ...], settings: tuple) -> float:
    run = trained(**dict(settings))
    mask = heads_off_mask(run.model.n_head, off)
    return evaluate(run.model, *run.held_out, head_mask=mask)


def _settings(overrides: dict) -> tuple:
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; there are {sorted(SETTINGS)}")
    return tuple(sorted({**SETTINGS, **overrides}.items()))


def heads_view(name: str = "emma", off: Sequence[int] = (), **settings: int | float) -> dict:
    """What the heads widget draws for a name the reader types (lower-case letters, at most
    block_size - 1 of them), with the heads in ``off`` switched off.

    -> {"name", "max_letters": the longest name it takes, "tokens": ['.', *name] (T),
    "targets": [*name, '.'] (T), "vocab" (V), "n_head", "off", "weights": (H, T, T) each head's
    causal attention (row = the position that looks, column = the position looked at; 0 above
    the diagonal), "probs": (T, V) next-character
    probabilities at each position, "nll": (T,) -ln p(target), "loss": their mean,
    "held_out": held-out loss per character with these heads off, "held_out_all": with all heads,
    "looked_at": ``looked_at`` on this name, "ablation": ``head_ablation`` (the held-out view of
    every head, the same for every name)}.
    """
    key = _settings(settings)
    run = trained(**dict(key))
    word = str(name).strip().lower()
    limit = run.model.block_size - 1
    if not 1 <= len(word) <= limit:
        raise ValueError(f"type a name of 1 to {limit} letters (got {len(word)})")
    X, Y = rnn_lm.build_sequences([word], run.vocab)
    off = sorted({int(head) for head in off})
    mask = heads_off_mask(run.model.n_head, off)
    logits, loss = run.model(X, Y, head_mask=mask)
    logp = logits[0] - logits[0].max(axis=-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=-1, keepdims=True))
    weights = run.model.attn.weights[0]
    return {
        "name": word,
        "max_letters": limit,
        "tokens": [run.vocab[i] for i in X[0]],
        "targets": [run.vocab[i] for i in Y[0]],
        "vocab": run.vocab,
        "n_head": run.model.n_head,
        "off": off,
        "weights": weights,
        "probs": np.exp(logp),
        "nll": -logp[np.arange(len(Y[0])), Y[0]],
        "loss": loss,
        "held_out": _held_out_loss(tuple(off), key),
        "held_out_all": _held_out_loss((), key),
        "looked_at": _summary(looked_at(weights[None], np.ones((1, len(Y[0])), dtype=bool))),
        "ablation": _ablation(key),
    }


def head_ablation(**settings: int | float) -> dict:
    """How much each head matters: the held-out loss per character with all heads, with each
    head switched off alone (its output zeroed before the output projection), and with only
    that head left on; and where each head looks over the held-out names.

    -> {"n_head", "all": float, "without": (H,), "only": (H,), "none": every head off,
    "looked_at": ``looked_at`` over the held-out names, "parameters"}.
    """
    return dict(_ablation(_settings(settings)))


@cache
def _ablation(key: tuple) -> dict:
    run = trained(**dict(key))
    H = run.model.n_head
    X, Y = run.held_out
    run.model(X, head_mask=np.ones(H))
    pattern = looked_at(run.model.attn.weights, Y != PAD)
    return {
        "n_head": H,
        "all": _held_out_loss((), key),
        "without": [_held_out_loss((h,), key) for h in range(H)],
        "only": [_held_out_loss(tuple(i for i in range(H) if i != h), key) for h in range(H)],
        "none": _held_out_loss(tuple(range(H)), key),
        "looked_at": _summary(pattern),
        "parameters": run.model.num_parameters(),
    }


def _summary(pattern: dict) -> dict:
    """Adds, per head, its most common target: {"kind": "start" | "back", "back": d, "share"}."""
    top = []
    for start, offsets in zip(pattern["start"], pattern["offsets"], strict=True):
        d = int(offsets.argmax())
        if start >= offsets[d]:
            top.append({"kind": "start", "back": None, "share": float(start)})
        else:
            top.append({"kind": "back", "back": d, "share": float(offsets[d])})
    return {**pattern, "top": top}
