"""Looking inside the book's GPT while it reads a prompt: the logit lens and the attention maps.

A GPT adds every block's result into one residual stream, and only at the very end puts that
stream through the final layer norm and the output projection (the token embedding, transposed)
to score the next token. The *logit lens* asks what the model would predict if it stopped early:
it puts the stream after the embeddings, and after each block, through those same two last steps.
The last of these readings is the model's own output; the earlier ones show the prediction
forming, block by block.

``lens_view`` gathers what chapter 8's widget draws for a prompt the reader types: its tokens,
the lens at every position, where every head looks, and one head's whole attention map. The
model is loaded once per process (its own copy, so a reader's cells that train
``data.book_gpt()`` further do not change what the widget shows), and the reading of the last
few prompts is kept: choosing another layer or head recomputes nothing, and a prompt that starts
with the same tokens as a kept one (the reader typing on at its end) reads only the tokens after
them, through the kept keys and values. The model is causal, so the earlier positions' streams,
lens and attention cannot change.
"""

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache

import numpy as np

from lmlab import bpe
from lmlab.book_model import PROMPT, BookModel, BookTokenizer
from lmlab.gpt import GPT, KVCache
from lmlab.nn import matmul

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}  # whitespace the reader should see
MAX_TOP = 20
KEEP = 8  # prompts whose reading is kept
SHORT_TEXT = 512  # bytes: up to here bpe.encode is the quicker of the two encoders


@cache
def book_model() -> BookModel:
    """The book's GPT as the build trained it, loaded from its data file on the first call, in
    float64 (as chapter 8's cells load it): the page's numbers then agree with CPython's far
    below the decimals shown, whatever the machine's float32 rounding."""
    from lmlab import book_model as book
    from lmlab import data

    return book.load(data.path("book-gpt.npz"), dtype=np.float64)


@cache
def token_pieces() -> list[str]:
    """Every token of the book's vocabulary as text, whitespace visible (V)."""
    tokenizer = book_model().tokenizer
    return [visible(tokenizer.decode([i])) for i in range(tokenizer.vocab_size)]


def visible(piece: str) -> str:
    """A token's text with its whitespace made visible: ' the\\n' -> '␣the↵'."""
    return "".join(VISIBLE.get(ch, ch) for ch in piece)


def encode(tokenizer: BookTokenizer, text: str) -> np.ndarray:
    """The text's token ids (N,) as tokenizer.encode gives them, by the quicker route for its
    length: for a prompt, bpe.encode's loop over the pairs present (0.3 ms in Pyodide for 30
    bytes, where a numpy pass per merge takes 9 ms); for a long text, that numpy pass."""
    if len(text.encode("utf-8")) <= SHORT_TEXT:
        return np.array(bpe.encode(text, tokenizer.merges), dtype=np.int64)
    return tokenizer.encode(text)


def residual_stream(model: GPT, ids: np.ndarray, cache: KVCache | None = None) -> np.ndarray:
    """The residual stream after the embeddings and after each block.

    ids: (T,) token ids, T <= block_size -> (n_layer + 1, T, C). Leaves each block's attention
    weights in ``model.h[i].attn.weights``, (1, H, T, T), as a forward pass does. With a cache
    of the P tokens before them, ids are the tokens that follow: -> (n_layer + 1, T, C) for
    those, the weights (1, H, T, P + T), and the cache grows by T.
    """
    start = 0 if cache is None else len(cache)
    layer_caches = [None] * len(model.h) if cache is None else cache.layers
    x = model.wte(ids[None]) + model.wpe(np.arange(start, start + len(ids)))
    stages = [x[0]]
    for block, layer_cache in zip(model.h, layer_caches, strict=True):
        x = block.forward(x, layer_cache)
        stages.append(x[0])
    return np.stack(stages)


def lens_logits(model: GPT, residuals: np.ndarray) -> np.ndarray:
    """Each residual read as the model reads its last one: final layer norm, then the tied
    output projection. residuals: (S, T, C) -> logits (S, T, V)."""
    S, T, C = residuals.shape
    rows = matmul(model.ln_f(residuals).reshape(-1, C), model.wte.params["weight"].T)
    return rows.reshape(S, T, -1)


def softmax(logits: np.ndarray) -> np.ndarray:
    """(..., V) -> probabilities (..., V) in float64, each row summing to 1."""
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def ranks_of(probs: np.ndarray, token: np.ndarray) -> np.ndarray:
    """Where each row ranks its token (1 = the most likely). probs: (S, V), token: () -> (S,)."""
    return 1 + (probs > probs[:, token][:, None]).sum(axis=-1)


def top_tokens(probs: np.ndarray, top: int) -> np.ndarray:
    """The ids of the `top` most likely tokens, most likely first. probs: (..., V) -> (..., top)."""
    part = np.argpartition(-probs, top - 1, axis=-1)[..., :top]
    order = np.argsort(-np.take_along_axis(probs, part, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(part, order, axis=-1)


def position_lens(probs: np.ndarray, best: np.ndarray, norms: np.ndarray, pieces: list[str]
                  ) -> dict:
    """The lens at one position. probs: (S, V) per stage (the last is the model's output),
    best: (S, top) their likeliest token ids, most likely first, norms: (S,)
    -> {"stages": [{"top": [[piece, p], ...], "rank", "p", "norm"}, ...] (S), "answer": the
    model's top token, "answer_p", "final": [[piece, p], ...]}; "rank" and "p" are the
    answer's rank and probability at that stage."""
    answer = best[-1, 0]
    ranks = ranks_of(probs, answer)
    chosen = np.take_along_axis(probs, best, axis=-1).tolist()
    stages = [{"top": [[pieces[i], p] for i, p in zip(ids, ps, strict=True)], "rank": int(rank),
               "p": float(p[answer]), "norm": float(norm)}
              for p, ids, ps, rank, norm in zip(probs, best.tolist(), chosen, ranks, norms,
                                                strict=True)]
    return {"stages": stages, "answer": pieces[answer], "answer_p": float(probs[-1, answer]),
            "final": stages[-1]["top"]}


def most_looked_at(weights: np.ndarray) -> list:
    """Where each head of each layer looks most, at every position.

    weights: (L, H, T, T) -> [T][L][H] of [key position, its weight]."""
    keys = weights.argmax(axis=-1)  # (L, H, T)
    best = np.take_along_axis(weights, keys[..., None], axis=-1)[..., 0]
    pairs = np.stack([keys, best], axis=-1).transpose(2, 0, 1, 3)  # (T, L, H, 2)
    return [[[[int(k), float(w)] for k, w in heads] for heads in layers] for layers in pairs]


@dataclass
class Reading:
    """A prompt as the model read it: all of lens_view that does not depend on the focus."""

    ids: np.ndarray  # (T,) the prompt's last block_size tokens at most
    dropped: int  # the tokens before them, left out
    cache: KVCache  # every block's keys and values of the T tokens
    weights: np.ndarray  # (L, H, T, T) every head's attention
    lens: list[dict]  # (T) position_lens at each position
    looks: list  # [T][L][H] most_looked_at


def read(model: GPT, ids: np.ndarray, dropped: int, top: int, earlier: Reading | None = None
         ) -> Reading:
    """The model's reading of ids (T,), from the first token where they differ from an earlier
    reading's (with the same top): the positions before it are the earlier ones."""
    same = 0 if earlier is None else shared_prefix(earlier.ids, ids)
    same = min(same, len(ids) - 1)  # at least one token read: its stream ends the cache
    cache = KVCache(len(model.h))
    if same:
        cache.layers = [{"k": kv["k"][..., :same, :], "v": kv["v"][..., :same, :]}
                        for kv in earlier.cache.layers]
    residuals = residual_stream(model, ids[same:], cache)  # (S, T - same, C)
    probs = softmax(lens_logits(model, residuals))  # (S, T - same, V)
    best = top_tokens(probs, top)  # (S, T - same, top)
    norms = np.linalg.norm(residuals.astype(np.float64), axis=-1)  # (S, T - same)
    new_rows = np.stack([b.attn.weights[0] for b in model.h])  # (L, H, T - same, T)
    weights = np.zeros(new_rows.shape[:2] + (len(ids), len(ids)), dtype=new_rows.dtype)
    weights[..., same:, :] = new_rows
    pieces = token_pieces()
    lens = [position_lens(probs[:, t], best[:, t], norms[:, t], pieces)
            for t in range(len(ids) - same)]
    if same:
        weights[..., :same, :same] = earlier.weights[..., :same, :same]
        lens = earlier.lens[:same] + lens
    looks = (earlier.looks[:same] if same else []) + most_looked_at(new_rows)
    return Reading(ids, dropped, cache, weights, lens, looks)


def shared_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """How many tokens two id arrays share from the start."""
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


_readings: OrderedDict[tuple[str, int], Reading] = OrderedDict()


def reading(prompt: str, top: int) -> Reading:
    """The kept reading of this prompt, or a new one, from the kept reading that shares the most
    tokens with it (the least recently asked dropped beyond KEEP)."""
    key = (prompt, top)
    if key in _readings:
        _readings.move_to_end(key)
        return _readings[key]
    book = book_model()
    ids = encode(book.tokenizer, prompt)
    dropped = max(0, len(ids) - book.model.config.block_size)
    ids = ids[dropped:]
    kept = [r for (_, t), r in _readings.items() if t == top]
    earlier = max(kept, key=lambda r: shared_prefix(r.ids, ids), default=None)
    _readings[key] = read(book.model, ids, dropped, top, earlier)
    while len(_readings) > KEEP:
        _readings.popitem(last=False)
    return _readings[key]


def _prompt_view(prompt: str, top: int) -> tuple[dict, np.ndarray]:
    """Everything of lens_view that does not depend on the focus, and the attention weights
    (L, H, T, T)."""
    model = book_model().model
    kept = reading(prompt, top)
    pieces = token_pieces()
    view = {
        "prompt": prompt,
        "tokens": [pieces[i] for i in kept.ids],
        "ids": [int(i) for i in kept.ids],
        "dropped": kept.dropped,
        "block_size": model.config.block_size,
        "n_layer": len(model.h),
        "n_head": model.config.n_head,
        "stages": ["embeddings"] + [f"block {i + 1}" for i in range(len(model.h))],
        "top": top,
        "lens": kept.lens,
        "looks": kept.looks,
    }
    return view, kept.weights


def _checked(prompt: str, top: int, **indices: int | None) -> tuple[dict, np.ndarray, dict]:
    """The prompt's view and weights, and the indices checked against them (position None:
    the last)."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("type a prompt of at least one character")
    if not 1 <= int(top) <= MAX_TOP:
        raise ValueError(f"top must be 1 to {MAX_TOP}, got {top}")
    view, weights = _prompt_view(prompt, int(top))
    L, H, T, _ = weights.shape
    sizes = {"position": T, "layer": L, "head": H}
    checked = {}
    for name, value in indices.items():
        value = T - 1 if value is None else int(value)
        if not 0 <= value < sizes[name]:
            raise ValueError(f"{name} must be 0 to {sizes[name] - 1}, got {value}")
        checked[name] = value
    return view, weights, checked


def attention_map(prompt: str = PROMPT, layer: int = 0, head: int = 0, top: int = 5) -> dict:
    """One head's attention over the prompt, all the widget needs for another block or head:
    -> {"layer", "head", "attention": (T, T)}, as in ``lens_view`` (the forward pass is kept)."""
    _, weights, at = _checked(prompt, top, layer=layer, head=head)
    return {**at, "attention": weights[at["layer"], at["head"]].astype(np.float64).tolist()}


def lens_view(prompt: str = PROMPT, position: int | None = None, layer: int = 0, head: int = 0,
              top: int = 5) -> dict:
    """What the gpt-lens widget draws for a prompt: the book's GPT read block by block.

    -> {"prompt", "tokens": the prompt's BPE tokens as text, whitespace visible (T, at most
    block_size: the last ones), "ids" (T), "dropped": how many tokens were cut from the front,
    "block_size", "n_layer" (L), "n_head" (H), "stages": ["embeddings", "block 1", ...] (L + 1),
    "top", "position": the focused position (default the last), "layer", "head",
    "lens": at every position, ``position_lens`` (the top tokens per stage, the final answer's
    rank and probability per stage, the residual stream's norm per stage, and the model's own
    distribution), "looks": at every position, each head's most-weighted earlier position and
    its weight [T][L][H], "attention": (T, T) the chosen head's weights (row = the position that
    looks, column = the position looked at, 0 above the diagonal)}. Layers and heads count from 0.
    """
    view, _, at = _checked(prompt, top, position=position, layer=layer, head=head)
    return {**view, **attention_map(prompt, layer, head, top), "position": at["position"]}
