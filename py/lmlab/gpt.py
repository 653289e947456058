"""A GPT in numpy: GPT-2's architecture, trainable with hand-written backward passes.

token ids -> token embedding + learned position embedding -> n_layer pre-norm blocks
-> final layer norm -> logits = x @ wte^T (the output projection *is* the token embedding,
transposed: weight tying) -> softmax over the vocabulary at every position.

Parameter names follow Hugging Face's GPT-2 checkpoints without their "transformer." prefix
(``wte.weight``, ``h.0.attn.c_attn.weight``, ...), and linear weights use the same (in, out)
layout, so a checkpoint loads by name with no transposes (``load_hf_state_dict``).
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from lmlab.embeddings import Embedding
from lmlab.losses import cross_entropy
from lmlab.module import Module
from lmlab.nn import Block, LayerNorm, Rng, matmul
from lmlab.optim import SGD, AdamW, train_step
from lmlab.position import LearnedPositionEmbedding
from lmlab.sampling import greedy, sample


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    block_size: int  # the longest context the model can see (rows of the position table)
    n_layer: int
    n_head: int
    n_embd: int  # width of the residual stream, C

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} must be a multiple of n_head {self.n_head}")


GPT2_SMALL = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)


def parameter_counts(config: GPTConfig, tie_weights: bool = True) -> dict[str, int]:
    """How many parameters each part of a GPT has, from the configuration alone.

    For GPT2_SMALL the total is 124,439,808: about 31% embeddings, 23% attention, 46% MLP.
    Without weight tying the output projection would add another vocab_size * n_embd.
    """
    V, T, L, C = config.vocab_size, config.block_size, config.n_layer, config.n_embd
    counts = {
        "token_embedding": V * C,
        "position_embedding": T * C,
        "attention": L * ((C * 3 * C + 3 * C) + (C * C + C)),  # c_attn + c_proj
        "mlp": L * ((C * 4 * C + 4 * C) + (4 * C * C + C)),  # c_fc + c_proj
        "layer_norm": L * 2 * (2 * C) + 2 * C,  # ln_1, ln_2 in every block, then ln_f
        "lm_head": 0 if tie_weights else V * C,
    }
    counts["total"] = sum(counts.values())
    return counts


class KVCache:
    """The keys and values of every token the model has processed, one dict per layer.

    Each layer's dict holds "k" and "v" of shape (B, n_head, tokens so far, head size).
    """

    def __init__(self, n_layer: int) -> None:
        self.layers: list[dict] = [{} for _ in range(n_layer)]

    def __len__(self) -> int:
        return self.layers[0]["k"].shape[-2] if self.layers[0] else 0


class GPT(Module):
    """idx: (B, T) token ids -> logits: (B, T, vocab_size).

    Initialised as GPT-2: every weight N(0, 0.02^2), except the projections that write into
    the residual stream (``c_proj``), which get std 0.02 / sqrt(2 * n_layer) because 2 * n_layer
    of them add up along the stream; biases 0, layer-norm gains 1.
    """

    def __init__(self, config: GPTConfig, rng: Rng = None, dtype: type = np.float32) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.config = config
        C = config.n_embd
        self.wte = Embedding(config.vocab_size, C, rng=rng, dtype=dtype)
        self.wpe = LearnedPositionEmbedding(config.block_size, C, rng=rng, dtype=dtype)
        proj_std = 0.02 / math.sqrt(2 * config.n_layer)
        self.h = [
            Block(C, config.n_head, proj_std=proj_std, rng=rng, dtype=dtype)
            for _ in range(config.n_layer)
        ]
        self.ln_f = LayerNorm(C, dtype=dtype)

    def __call__(
        self, idx: np.ndarray, targets: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None]:
        return self.forward(idx, targets)

    def forward(
        self,
        idx: np.ndarray,
        targets: np.ndarray | None = None,
        loss_mask: np.ndarray | None = None,
        cache: KVCache | None = None,
    ) -> tuple[np.ndarray, float | None]:
        """idx, targets: (B, T) -> (logits (B, T, V), mean cross-entropy or None).

        ``loss_mask`` (B, T) of 0/1 leaves positions out of the loss (e.g. the prompt when
        fine-tuning on answers). With a ``cache`` the tokens continue the ones already in it:
        their positions start after them, and they attend to them too.
        """
        idx = np.asarray(idx)
        if idx.ndim != 2:
            raise ValueError(f"idx must have shape (B, T), got {idx.shape}")
        start = len(cache) if cache is not None else 0
        if start + idx.shape[1] > self.config.block_size:
            raise ValueError(
                f"{start + idx.shape[1]} tokens exceed the block size {self.config.block_size}"
            )
        x = self.wte(idx) + self.wpe(np.arange(start, start + idx.shape[1]))
        layer_caches = cache.layers if cache is not None else [None] * len(self.h)
        for block, layer_cache in zip(self.h, layer_caches, strict=True):
            x = block.forward(x, layer_cache)
        self.x_final = self.ln_f(x)
        # The output projection is the token embedding, transposed (weight tying).
        rows = matmul(self.x_final.reshape(-1, self.config.n_embd), self.wte.params["weight"].T)
        logits = rows.reshape(*idx.shape, self.config.vocab_size)
        if targets is None:
            self.dlogits = None
            return logits, None
        loss, self.dlogits = cross_entropy(logits, targets, mask=loss_mask)
        return logits, loss

    def backward(self, dlogits: np.ndarray | None = None) -> None:
        """Backpropagate dlogits: (B, T, V), by default the gradient of the loss from forward."""
        if dlogits is None:
            if self.dlogits is None:
                raise ValueError("forward had no targets, so there is no loss to backpropagate")
            dlogits = self.dlogits
        wte = self.wte.params["weight"]
        V, C = wte.shape
        dlogits_rows = dlogits.reshape(-1, V)
        # The tied matrix collects gradient from both of its uses: here, and in the lookup below.
        self.wte.grads["weight"] += matmul(dlogits_rows.T, self.x_final.reshape(-1, C))
        dx = self.ln_f.backward(matmul(dlogits_rows, wte).reshape(self.x_final.shape))
        for block in reversed(self.h):
            dx = block.backward(dx)
        self.wte.backward(dx)
        self.wpe.backward(dx.sum(axis=0))  # every sequence in the batch used the same rows

    def generate(
        self,
        idx: np.ndarray,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | np.random.Generator | None = None,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Extend idx: (T,) or (B, T) by max_new_tokens sampled tokens, one at a time.

        temperature 0 means greedy decoding. With ``use_cache`` only the newest token goes
        through the model at each step; the logits are the same as recomputing everything.
        Past block_size tokens the context slides, and since every position then changes,
        the cache is rebuilt from the last block_size tokens at each step. This is ``stream``
        run to its end.
        """
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim == 1:
            return self.generate(
                idx[None], max_new_tokens, temperature, top_k, top_p, seed, use_cache
            )[0]
        steps = self.stream(idx, max_new_tokens, temperature, top_k, top_p, seed, use_cache)
        return np.column_stack([idx, *steps])

    def stream(
        self,
        idx: np.ndarray,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | np.random.Generator | None = None,
        use_cache: bool = True,
    ) -> Iterator[np.ndarray]:
        """Sample up to max_new_tokens tokens after idx: (B, T) -> yields each step's new ids (B,).

        The same tokens as ``generate`` for the same arguments, however many are taken at a
        time: the KV cache and the random generator live in the iterator, so a caller can take
        a few tokens, return to the page, and continue later without reading the prompt again.
        The arguments are checked at once, not at the first token.
        """
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(
                f"idx must be a non-empty (B, T) prompt (or (T,) for generate), got {idx.shape}"
            )
        rng = np.random.default_rng(seed)
        return self._steps(idx, max_new_tokens, temperature, top_k, top_p, rng, use_cache)

    def _steps(self, idx: np.ndarray, max_new_tokens: int, temperature: float,
               top_k: int | None, top_p: float | None, rng: np.random.Generator,
               use_cache: bool) -> Iterator[np.ndarray]:
        """stream's token loop, its arguments checked; idx (B, T) -> yields (B,)."""
        block_size = self.config.block_size
        cache = KVCache(len(self.h)) if use_cache else None
        pending = idx  # tokens the cache has not seen yet
        for _ in range(max_new_tokens):
            if cache is None:
                logits, _ = self.forward(idx[:, -block_size:])
            else:
                if len(cache) + pending.shape[1] > block_size:
                    cache, pending = KVCache(len(self.h)), idx[:, -block_size:]
                logits, _ = self.forward(pending, cache=cache)
            last = logits[:, -1]
            if temperature == 0:
                next_ids = greedy(last)
            else:
                next_ids = sample(last, temperature=temperature, top_k=top_k, top_p=top_p, rng=rng)
            pending = next_ids[:, None].astype(np.int64)
            idx = np.concatenate([idx, pending], axis=1)
            yield pending[:, 0]


def hf_state_dict(model: GPT) -> dict[str, np.ndarray]:
    """The model's weights under Hugging Face GPT-2 names (copies), lm_head included."""
    state = {f"transformer.{name}": param.copy() for name, param, _ in model.named_parameters()}
    state["lm_head.weight"] = model.wte.params["weight"].copy()
    return state


def load_hf_state_dict(model: GPT, state_dict: Mapping[str, np.ndarray]) -> None:
    """Copy weights named like Hugging Face's GPT-2 into the model, in place.

    Expects ``transformer.wte.weight``, ``transformer.h.0.attn.c_attn.weight`` (Conv1D layout
    (in, out), the same as ours), ... Every parameter must be present with the right shape.
    ``lm_head.weight`` is tied to wte, so it is only checked; the attention layers' constant
    mask buffers (``.attn.bias``, ``.attn.masked_bias``) are skipped.
    """
    ours = {f"transformer.{name}": param for name, param, _ in model.named_parameters()}
    theirs = {
        key: value
        for key, value in state_dict.items()
        if not key.endswith((".attn.bias", ".attn.masked_bias")) and key != "lm_head.weight"
    }
    if missing := sorted(ours.keys() - theirs.keys()):
        raise ValueError(f"the state dict lacks {missing}")
    if unexpected := sorted(theirs.keys() - ours.keys()):
        raise ValueError(f"the model has no parameters named {unexpected}")
    for key, param in ours.items():
        value = np.asarray(theirs[key])
        if value.shape != param.shape:
            raise ValueError(f"{key} has shape {value.shape}, the model expects {param.shape}")
        param[...] = value
    if "lm_head.weight" in state_dict:
        lm_head = np.asarray(state_dict["lm_head.weight"])
        if lm_head.shape != ours["transformer.wte.weight"].shape or not np.array_equal(
            lm_head, np.asarray(theirs["transformer.wte.weight"])
        ):
            raise ValueError("lm_head.weight differs from wte.weight, but this GPT ties them")


def get_batch(
    data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random training windows from a long token sequence data: (N,).

    -> x: (batch_size, block_size), y: (batch_size, block_size) where y is x shifted by one:
    every position of a window is a training example (predict y[t] from x[: t + 1]).
    """
    data = np.asarray(data)
    if data.ndim != 1 or len(data) <= block_size:
        raise ValueError(f"need a 1-D sequence longer than block_size {block_size}")
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    windows = starts[:, None] + np.arange(block_size)
    return data[windows], data[windows + 1]


def train(
    model: GPT,
    data: np.ndarray,
    steps: int,
    optimizer: SGD | AdamW,
    batch_size: int = 16,
    rng: Rng = None,
    max_grad_norm: float | None = 1.0,
) -> list[dict]:
    """Train on random windows of data: (N,) token ids for a number of steps.

    Pass the same optimizer (and a Generator as rng) to continue training in chunks, as a
    page does between redraws. Returns the trace [{"step": i, "loss": minibatch loss before
    step i's update}, ...], counting from 0 in each call.
    """
    if steps < 0 or batch_size < 1:
        raise ValueError(f"need steps >= 0 and batch_size >= 1, got {steps}, {batch_size}")
    rng = np.random.default_rng(rng)
    trace = []
    for step in range(steps):
        x, y = get_batch(data, model.config.block_size, batch_size, rng)
        loss = train_step(model, optimizer, x, y, max_grad_norm=max_grad_norm)
        trace.append({"step": step, "loss": loss})
    return trace
