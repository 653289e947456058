"""The layers a GPT is built from, each with a hand-written backward pass.

Every layer follows the contract in ``lmlab.module``: ``forward`` keeps what ``backward`` needs,
``backward(dout)`` adds parameter gradients into ``grads`` and returns d(input).

Weight layout: a ``Linear`` stores its weight as (in_features, out_features) and computes
``x @ weight + bias``. That is the natural numpy order, and it is the layout of the ``Conv1D``
layers in Hugging Face's GPT-2 checkpoints, so those weights load without a transpose. PyTorch's
``nn.Linear`` keeps the transpose, (out, in); the tests transpose when they copy weights.

There is no dropout: the models here are small and trained briefly, and GPT-2 checkpoints are
evaluated without it, so it would only add randomness to explain away.
"""

import math
import sys
from collections.abc import Callable

import numpy as np

from lmlab.attention import causal_mask, merge_heads, scaled_dot_product_attention, split_heads
from lmlab.module import Module

Rng = np.random.Generator | int | None


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function with respect to an array it reads.

    ``f`` takes no arguments and reads ``x`` (for example a layer's parameter); each entry is
    nudged by +-eps in place and restored. x: (...) -> gradient: (...). Slow (two calls per
    entry) and only as exact as float64 allows, which is what makes it a good referee for
    hand-written backward passes.
    """
    if x.dtype != np.float64:
        raise ValueError(f"finite differences need float64 to be accurate, got {x.dtype}")
    flat = x.reshape(-1)  # a view: writing to it nudges x itself
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be nudged in place")
    grad = np.zeros(x.shape)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        grad.reshape(-1)[i] = (up - down) / (2 * eps)
    return grad


# numpy in the browser (Pyodide) has no BLAS. There einsum's loop multiplies two large matrices
# about twice as fast as `@` (but not stacks of small ones, as in attention); with BLAS
# (CPython) `@` is several times faster than einsum.
IN_BROWSER = sys.platform == "emscripten"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for two 2-D arrays, by the fastest route this numpy has. (M, K), (K, N) -> (M, N)."""
    if IN_BROWSER:
        return np.einsum("ik,kj->ij", a, b)
    return a @ b


class Linear(Module):
    """y = x @ weight + bias. x: (..., in_features) -> y: (..., out_features).

    Weights start as N(0, std^2); by default std = 1/sqrt(in_features), which keeps the output
    on the same scale as the input. Biases start at zero.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        std: float | None = None,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        std = in_features**-0.5 if std is None else std
        weight = std * rng.standard_normal((in_features, out_features))
        self.add_param("weight", weight.astype(dtype))
        if bias:
            self.add_param("bias", np.zeros(out_features, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        n_in, n_out = self.params["weight"].shape
        # All leading axes (batch, time) become one axis of rows: one big product, not many.
        out = matmul(x.reshape(-1, n_in), self.params["weight"])
        if "bias" in self.params:
            out += self.params["bias"]
        return out.reshape(*x.shape[:-1], n_out)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        weight = self.params["weight"]
        x_rows = self.x.reshape(-1, weight.shape[0])
        dout_rows = dout.reshape(-1, weight.shape[1])
        self.grads["weight"] += matmul(x_rows.T, dout_rows)
        if "bias" in self.params:
            self.grads["bias"] += dout_rows.sum(axis=0)
        return matmul(dout_rows, weight.T).reshape(self.x.shape)


class Tanh(Module):
    """Squashes every entry into (-1, 1). x: (...) -> (...)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self.out**2)


class ReLU(Module):
    """max(0, x): negative entries become 0, positive ones pass unchanged. x: (...) -> (...).

    The gradient is 1 where x > 0 and 0 elsewhere (also at exactly 0, as in PyTorch), so a unit
    whose input stays negative learns nothing until something else moves it.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.active = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.active


# GELU as GPT-2 computes it: the tanh approximation of x * Phi(x).
GELU_C = math.sqrt(2 / math.pi)  # a Python float, so float32 stays float32


class GELU(Module):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). x: (...) -> (...).

    A smooth ReLU: negative inputs are damped rather than cut, so they still pass gradient.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        x_squared = x * x  # x * x, not x**3 below: a general power is many times slower
        self.t = np.tanh(GELU_C * x * (1 + 0.044715 * x_squared))
        return 0.5 * x * (1 + self.t)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x, t = self.x, self.t
        dinner = GELU_C * (1 + 3 * 0.044715 * x * x)
        return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * dinner)


class LayerNorm(Module):
    """Normalise each vector to mean 0, variance 1, then scale and shift. x: (..., D) -> (..., D).

    Statistics are taken over the last axis only, so every token is normalised on its own and
    the layer behaves the same in training and in generation.
    """

    def __init__(self, dim: int, eps: float = 1e-5, dtype: type = np.float32) -> None:
        super().__init__()
        self.eps = eps
        self.add_param("weight", np.ones(dim, dtype=dtype))
        self.add_param("bias", np.zeros(dim, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased, as in PyTorch
        self.rstd = 1 / np.sqrt(var + self.eps)
        self.xhat = (x - mean) * self.rstd
        return self.xhat * self.params["weight"] + self.params["bias"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dim = self.xhat.shape[-1]
        self.grads["weight"] += (dout * self.xhat).reshape(-1, dim).sum(axis=0)
        self.grads["bias"] += dout.reshape(-1, dim).sum(axis=0)
        dxhat = dout * self.params["weight"]
        # The mean and variance depend on every entry, hence the two correction terms.
        return self.rstd * (
            dxhat
            - dxhat.mean(axis=-1, keepdims=True)
            - self.xhat * (dxhat * self.xhat).mean(axis=-1, keepdims=True)
        )


class MLP(Module):
    """The transformer's feed-forward network: expand 4x, GELU, project back. (..., D) -> (..., D).

    It works on each token separately; attention is the only place tokens exchange information.
    """

    def __init__(
        self, dim: int, proj_std: float = 0.02, rng: Rng = None, dtype: type = np.float32
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.c_fc = Linear(dim, 4 * dim, std=0.02, rng=rng, dtype=dtype)
        self.gelu = GELU()
        self.c_proj = Linear(4 * dim, dim, std=proj_std, rng=rng, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.c_proj(self.gelu(self.c_fc(x)))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.c_fc.backward(self.gelu.backward(self.c_proj.backward(dout)))


class CausalSelfAttention(Module):
    """Multi-head self-attention in which a token sees only itself and earlier tokens.

    x: (B, T, C) -> (B, T, C). One ``c_attn`` projection makes queries, keys and values at once
    (C -> 3C, as in GPT-2), the heads attend side by side on C / n_head columns each, and
    ``c_proj`` mixes the heads' outputs back into the residual stream.

    With a ``cache`` (a dict, empty at first) the layer remembers the keys and values of the
    tokens it has seen, so generation only has to feed the newest token: query t then attends
    to every cached key plus the new ones up to itself.
    """

    def __init__(
        self,
        dim: int,
        n_head: int,
        proj_std: float = 0.02,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        if n_head < 1 or dim % n_head:
            raise ValueError(f"dim {dim} must be a multiple of n_head {n_head}")
        rng = np.random.default_rng(rng)
        self.n_head = n_head
        self.c_attn = Linear(dim, 3 * dim, std=0.02, rng=rng, dtype=dtype)
        self.c_proj = Linear(dim, dim, std=proj_std, rng=rng, dtype=dtype)

    def forward(
        self, x: np.ndarray, cache: dict | None = None, head_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """x: (B, T, C) -> (B, T, C). head_mask: (n_head,) or None; each head's output is
        multiplied by its entry before ``c_proj``, so a 0 switches that head off (ablation)."""
        q, k, v = (split_heads(a, self.n_head) for a in np.split(self.c_attn(x), 3, axis=-1))
        if cache is not None:
            if cache:
                k = np.concatenate([cache["k"], k], axis=-2)
                v = np.concatenate([cache["v"], v], axis=-2)
            cache["k"], cache["v"] = k, v
        n_queries, n_keys = q.shape[-2], k.shape[-2]
        # The new queries are the last rows of the full causal mask over every key.
        mask = causal_mask(n_keys)[n_keys - n_queries :]
        self.scale = 1 / math.sqrt(q.shape[-1])
        heads, self.weights = scaled_dot_product_attention(q, k, v, mask=mask, scale=self.scale)
        self.q, self.k, self.v = q, k, v
        self.head_mask = None if head_mask is None else _head_gains(head_mask, self.n_head, q.dtype)
        if self.head_mask is not None:
            heads = heads * self.head_mask
        return self.c_proj(merge_heads(heads))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.k.shape[-2] != self.q.shape[-2]:
            raise ValueError("backward needs a forward without a cache (training, not generation)")
        dheads = split_heads(self.c_proj.backward(dout), self.n_head)  # (B, H, T, D)
        if self.head_mask is not None:
            dheads = dheads * self.head_mask
        weights = self.weights  # (B, H, T, T); masked entries are exactly 0
        dv = np.swapaxes(weights, -1, -2) @ dheads
        dweights = dheads @ np.swapaxes(self.v, -1, -2)
        # Softmax backward, row by row: w * (dw - sum(dw * w)).
        dscores = weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))
        dq = (dscores @ self.k) * self.scale
        dk = (np.swapaxes(dscores, -1, -2) @ self.q) * self.scale
        dqkv = np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=-1)
        return self.c_attn.backward(dqkv)


def _head_gains(head_mask: np.ndarray, n_head: int, dtype: np.dtype) -> np.ndarray:
    """(n_head,) -> (n_head, 1, 1): one gain per head, broadcast over its (T, D) output."""
    gains = np.asarray(head_mask, dtype=dtype)
    if gains.shape != (n_head,):
        raise ValueError(f"head_mask must have shape ({n_head},), got {gains.shape}")
    return gains[:, None, None]


class Block(Module):
    """One transformer block, pre-norm as in GPT-2. x: (B, T, C) -> (B, T, C).

    x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)). Each sub-layer reads a normalised copy of the
    residual stream and adds its result back, so the stream itself is never rescaled and the
    gradient has a direct path through every block.
    """

    def __init__(
        self,
        dim: int,
        n_head: int,
        proj_std: float = 0.02,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        self.ln_1 = LayerNorm(dim, dtype=dtype)
        self.attn = CausalSelfAttention(dim, n_head, proj_std=proj_std, rng=rng, dtype=dtype)
        self.ln_2 = LayerNorm(dim, dtype=dtype)
        self.mlp = MLP(dim, proj_std=proj_std, rng=rng, dtype=dtype)

    def forward(self, x: np.ndarray, cache: dict | None = None) -> np.ndarray:
        x = x + self.attn.forward(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        # Each residual connection passes its gradient straight through and adds the branch's.
        dmid = dout + self.ln_2.backward(self.mlp.backward(dout))
        return dmid + self.ln_1.backward(self.attn.backward(dmid))
