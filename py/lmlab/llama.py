"""A Llama-style transformer, the shape of most open models since 2023, run from a GGUF file.

It is the book's GPT with four changes, each a small function here:

    RMSNorm     instead of LayerNorm: scale by 1 / sqrt(mean(x^2) + eps), no mean subtracted
    RoPE        instead of learned positions: rotate each pair of a query's and a key's numbers
                by an angle that grows with the position (GGUF keeps the pairs adjacent)
    GQA         grouped-query attention: 9 query heads share 3 key/value heads, 3 each
    SwiGLU      the feed-forward: down(silu(gate(x)) * up(x))

The output layer reuses the token embedding (tied weights). Everything is float32, as the
weights are: a float64 creeping in through numpy's promotion would double the cost.
"""

from dataclasses import dataclass

import numpy as np

from .gguf import GGUF
from .gpt2 import GPT2Tokenizer


@dataclass
class LlamaConfig:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    vocab_size: int
    eps: float
    rope_base: float
    context: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_gguf(cls, model: GGUF) -> "LlamaConfig":
        meta = model.metadata
        arch = meta["general.architecture"]
        if arch != "llama":
            raise ValueError(f"this is a {arch!r} model; lmlab.llama runs 'llama' models")
        return cls(
            n_layers=meta["llama.block_count"], d_model=meta["llama.embedding_length"],
            n_heads=meta["llama.attention.head_count"],
            n_kv_heads=meta["llama.attention.head_count_kv"],
            d_ff=meta["llama.feed_forward_length"],
            vocab_size=len(meta["tokenizer.ggml.tokens"]),
            eps=meta["llama.attention.layer_norm_rms_epsilon"],
            rope_base=meta["llama.rope.freq_base"], context=meta["llama.context_length"],
        )


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """(T, d) -> (T, d): each row divided by its root mean square, then scaled per feature."""
    scale = 1 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps))
    return x * scale * weight


def rope_angles(positions: np.ndarray, head_dim: int, base: float) -> tuple:
    """cos and sin of position p times frequency base^(-2i/head_dim), i < head_dim / 2.

    positions (T,) -> cos, sin, each (T, head_dim / 2), float32."""
    freqs = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.outer(positions, freqs)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (x[2i], x[2i+1]) by each position's angles (GGUF's layout).

    x (heads, T, head_dim), cos/sin (T, head_dim / 2) -> (heads, T, head_dim)."""
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), elementwise."""
    return x / (1 + np.exp(-x))


def linear(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x (T, in) times a weight matrix stored (out, in), as GGUF and PyTorch store it -> (T, out).

    It is x @ weight.T. Written as einsum because Pyodide's numpy has no BLAS: there its einsum
    loop multiplies about twice as fast as its matmul (measured in build/bench/llama.py)."""
    return np.einsum("ti,oi->to", x, weight)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, start: int) -> tuple:
    """Causal grouped-query attention for new tokens at positions start, start+1, ...

    q (n_heads, T, hd); k, v (n_kv_heads, start + T, hd), every position so far
    -> (output (n_heads, T, hd), weights (n_heads, T, start + T)).
    Query head h reads key/value head h // (n_heads / n_kv_heads)."""
    group = q.shape[0] // k.shape[0]
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(q.shape[-1]))  # (heads, T, S)
    new, seen = q.shape[1], k.shape[1]
    future = np.arange(seen)[None, :] > (start + np.arange(new))[:, None]  # (T, S)
    scores = np.where(future, np.float32(-np.inf), scores)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


class Llama:
    """The model: float32 weights by GGUF tensor name, and a forward pass with a KV cache."""

    def __init__(self, config: LlamaConfig, weights: dict[str, np.ndarray]) -> None:
        self.config, self.w = config, weights

    @classmethod
    def from_gguf(cls, model: GGUF) -> "Llama":
        """Dequantize every tensor to float32, one at a time (135 M numbers: about 540 MB)."""
        weights = {name: model.tensor(name) for name in model.tensors}
        return cls(LlamaConfig.from_gguf(model), weights)

    def new_cache(self) -> list[dict]:
        """One {k, v} per layer, each (n_kv_heads, 0, head_dim) until tokens arrive."""
        c = self.config
        empty = np.zeros((c.n_kv_heads, 0, c.head_dim), dtype=np.float32)
        return [{"k": empty, "v": empty} for _ in range(c.n_layers)]

    def forward(self, ids: list[int], cache: list[dict] | None = None,
                attention_out: list | None = None) -> np.ndarray:
        """Logits for each new token: ids (T,) -> (T, vocab). With a cache from new_cache(),
        earlier tokens' keys and values are reused and the new ones appended. attention_out, if
        given, receives each layer's attention weights (n_heads, T, every position so far)."""
        c, w = self.config, self.w
        cache = cache if cache is not None else self.new_cache()
        start = cache[0]["k"].shape[1]
        x = w["token_embd.weight"][np.asarray(ids)]  # (T, d)
        cos, sin = rope_angles(np.arange(start, start + len(ids)), c.head_dim, c.rope_base)

        def heads(y: np.ndarray, n: int) -> np.ndarray:  # (T, n * hd) -> (n, T, hd)
            return y.reshape(len(ids), n, c.head_dim).transpose(1, 0, 2)

        for layer, kv in enumerate(cache):
            p = f"blk.{layer}."
            h = rms_norm(x, w[p + "attn_norm.weight"], c.eps)
            q = rope(heads(linear(h, w[p + "attn_q.weight"]), c.n_heads), cos, sin)
            k = rope(heads(linear(h, w[p + "attn_k.weight"]), c.n_kv_heads), cos, sin)
            v = heads(linear(h, w[p + "attn_v.weight"]), c.n_kv_heads)
            kv["k"] = np.concatenate([kv["k"], k], axis=1)
            kv["v"] = np.concatenate([kv["v"], v], axis=1)
            out, weights = attention(q, kv["k"], kv["v"], start)
            if attention_out is not None:
                attention_out.append(weights)
            out = out.transpose(1, 0, 2).reshape(len(ids), -1)  # heads side by side: (T, d)
            x = x + linear(out, w[p + "attn_output.weight"])
            h = rms_norm(x, w[p + "ffn_norm.weight"], c.eps)
            gated = silu(linear(h, w[p + "ffn_gate.weight"])) * linear(h, w[p + "ffn_up.weight"])
            x = x + linear(gated, w[p + "ffn_down.weight"])
        x = rms_norm(x, w["output_norm.weight"], c.eps)
        return linear(x, w.get("output.weight", w["token_embd.weight"]))  # tied: no output.weight

    def generate(self, ids: list[int], max_new: int, stop: set[int] = frozenset()) -> list[int]:
        """Greedy continuation of ids, up to max_new tokens or a token in stop (kept)."""
        cache = self.new_cache()
        logits = self.forward(ids, cache)[-1]
        new: list[int] = []
        while len(new) < max_new:
            new.append(int(logits.argmax()))
            if new[-1] in stop:
                break
            logits = self.forward([new[-1]], cache)[-1]
        return new


class ChatTokenizer(GPT2Tokenizer):
    """The model's byte-level BPE (GPT-2's scheme with this model's tokens and merges), plus its
    special tokens, such as <|im_start|>, which are matched whole before the BPE runs."""

    def __init__(self, tokens: list[str], merges: list[str], token_types: list[int]) -> None:
        encoder = {token: i for i, token in enumerate(tokens)}
        super().__init__(encoder, [tuple(merge.split(" ")) for merge in merges])
        # type 3 = control token; their text is not stand-in characters but the token itself
        self.special = {tokens[i]: i for i, kind in enumerate(token_types) if kind == 3}
        for token, i in self.special.items():
            self.token_bytes[i] = token.encode("utf-8")

    @classmethod
    def from_gguf(cls, model: GGUF) -> "ChatTokenizer":
        meta = model.metadata
        return cls(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.merges"],
                   meta["tokenizer.ggml.token_type"])

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Token ids; the special tokens' text becomes their ids unless allow_special is False."""
        if not allow_special or not self.special:
            return super().encode(text)
        ids: list[int] = []
        for i, chunk in enumerate(self._special_split(text)):
            ids += [self.special[chunk]] if i % 2 else super().encode(chunk)
        return ids

    def _special_split(self, text: str) -> list[str]:
        """[text, special, text, special, ..., text]: the special tokens at odd places."""
        parts, rest = [], text
        while True:
            found = [(rest.find(s), s) for s in self.special if s in rest]
            if not found:
                return parts + [rest]
            at, token = min(found)
            parts += [rest[:at], token]
            rest = rest[at + len(token):]


SYSTEM_DEFAULT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat_prompt(messages: list[dict], system: str = SYSTEM_DEFAULT) -> str:
    """The model's chat template as code: each message as <|im_start|>role\\ncontent<|im_end|>\\n,
    a system message first if there is none, and the opening of the assistant's turn."""
    if not messages or messages[0]["role"] != "system":
        messages = [{"role": "system", "content": system}, *messages]
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"

