"""Recurrent networks: one hidden state carried along the sequence, one step at a time.

A fixed window forgets everything older than its width. A recurrent network instead keeps a
hidden state h and updates it with every token: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), the
same weights at every step, so a sequence of any length fits and h_t can in principle summarise
all of x_1..x_t. Training it means backpropagation through time: the gradient that reaches
h_t from a loss k steps later has passed through k Jacobians diag(1 - h^2) W_hh, a product
that shrinks geometrically when W_hh is small (vanishing) and grows when it is large
(exploding). The LSTM adds a cell state c that is changed only by a gated sum,
c_t = f * c_{t-1} + i * g: along c the gradient is multiplied by the forget gate f alone,
which the network can hold near 1, so information and gradient can travel further. Both still
run one step after another, which is what attention does away with.

Layout, as in ``lmlab.nn.Linear``: x @ weight, so ``weight_xh`` is (n_in, n_hidden) and
``weight_hh`` is (n_hidden, n_hidden). PyTorch's ``nn.RNN``/``nn.LSTM`` store the transposes
and two biases (``bias_ih`` + ``bias_hh``) where we keep their sum. The LSTM's four blocks of
columns are in PyTorch's order: input gate, forget gate, candidate g, output gate.
"""

import math

import numpy as np

from lmlab.module import Module
from lmlab.nn import Rng, matmul

GATES = ("input", "forget", "candidate", "output")  # the LSTM's column blocks, in this order


def _check_input(x: np.ndarray, n_in: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != n_in:
        raise ValueError(f"x must have shape (B, T, {n_in}), got {x.shape}")
    if x.shape[1] < 1:
        raise ValueError("x must have at least one time step")
    return x


def _initial_state(state: np.ndarray | None, batch: int, n_hidden: int, dtype: type) -> np.ndarray:
    if state is None:
        return np.zeros((batch, n_hidden), dtype=dtype)
    state = np.asarray(state)
    if state.shape != (batch, n_hidden):
        raise ValueError(f"initial state must have shape ({batch}, {n_hidden}), got {state.shape}")
    return state


class RNN(Module):
    """The vanilla (Elman) recurrence h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b).

    x: (B, T, n_in), h0: (B, n_hidden) or None (zeros) -> every hidden state (B, T, n_hidden).
    Parameters: weight_xh (n_in, H), weight_hh (H, H), bias (H,). Weights start as
    N(0, 1/fan_in), the bias at zero.
    """

    def __init__(self, n_in: int, n_hidden: int, rng: Rng = None, dtype: type = np.float32) -> None:
        super().__init__()
        if n_in < 1 or n_hidden < 1:
            raise ValueError(f"need n_in >= 1 and n_hidden >= 1, got {n_in}, {n_hidden}")
        rng = np.random.default_rng(rng)
        self.n_in, self.n_hidden = n_in, n_hidden
        w_xh = rng.standard_normal((n_in, n_hidden)) / math.sqrt(n_in)
        w_hh = rng.standard_normal((n_hidden, n_hidden)) / math.sqrt(n_hidden)
        self.add_param("weight_xh", w_xh.astype(dtype))
        self.add_param("weight_hh", w_hh.astype(dtype))
        self.add_param("bias", np.zeros(n_hidden, dtype=dtype))
        self.dh0: np.ndarray | None = None

    def __call__(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        return self.forward(x, h0)

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """x: (B, T, n_in), h0: (B, H) or None -> hs: (B, T, H), hs[:, t] = h_{t+1}."""
        x = _check_input(x, self.n_in)
        batch, steps, _ = x.shape
        w_hh = self.params["weight_hh"]
        self.x = x
        self.h0 = _initial_state(h0, batch, self.n_hidden, w_hh.dtype)
        # The input's share of every step at once: one big product instead of T small ones.
        from_input = matmul(x.reshape(-1, self.n_in), self.params["weight_xh"])
        from_input = (from_input + self.params["bias"]).reshape(batch, steps, self.n_hidden)
        hs = np.empty_like(from_input)
        h = self.h0
        for t in range(steps):  # the recurrence itself cannot be batched over time
            h = np.tanh(from_input[:, t] + matmul(h, w_hh))
            hs[:, t] = h
        self.hs = hs
        return hs

    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """Backpropagation through time. dhs: (B, T, H), d(loss)/d(hs) from the layers above
        (only the direct part at each step) -> dx: (B, T, n_in). Adds into grads; leaves
        d(loss)/d(h0): (B, H) in ``self.dh0`` and the whole gradient reaching every hidden
        state, over all paths, (B, T, H) in ``self.dh_total``.

        Walking t backwards, the gradient reaching h_t is its own dhs[:, t] plus what flows back
        from h_{t+1}; through tanh it becomes dpre_t = dh_t * (1 - h_t^2), and then
        dh_{t-1} = dpre_t @ W_hh^T: one more factor of W_hh for every step back.
        """
        x, hs, w_hh = self.x, self.hs, self.params["weight_hh"]
        if dhs.shape != hs.shape:
            raise ValueError(f"dhs has shape {dhs.shape}, expected {hs.shape}")
        batch, steps, n_hidden = hs.shape
        dpre = np.empty_like(hs)  # d(loss)/d(pre-activation) at every step
        dh_next = np.zeros((batch, n_hidden), dtype=hs.dtype)
        dh_total = np.empty_like(hs)
        for t in reversed(range(steps)):
            dh = dhs[:, t] + dh_next
            dpre[:, t] = dh * (1 - hs[:, t] ** 2)
            dh_next = matmul(dpre[:, t], w_hh.T)
            dh_total[:, t] = dh
        self.dh0, self.dh_total = dh_next, dh_total
        h_prev = np.concatenate([self.h0[:, None], hs[:, :-1]], axis=1)  # h_{t-1} for every t
        dpre_rows = dpre.reshape(-1, n_hidden)
        self.grads["weight_xh"] += matmul(x.reshape(-1, self.n_in).T, dpre_rows)
        self.grads["weight_hh"] += matmul(h_prev.reshape(-1, n_hidden).T, dpre_rows)
        self.grads["bias"] += dpre_rows.sum(axis=0)
        return matmul(dpre_rows, self.params["weight_xh"].T).reshape(x.shape)


class LSTM(Module):
    """Long short-term memory: a cell state c beside h, changed through three gates.

    Each step computes, from x_t and h_{t-1}, four vectors of n_hidden entries:
    input gate i, forget gate f, output gate o (sigmoids, in (0, 1)) and candidate g (tanh);
    then c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t).
    x: (B, T, n_in), h0, c0: (B, H) or None (zeros) -> every hidden state (B, T, H).
    Parameters: weight_xh (n_in, 4H), weight_hh (H, 4H), bias (4H,), columns in blocks
    [input | forget | candidate | output]. The forget gate's bias starts at ``forget_bias``
    (1 by default, as Jozefowicz et al. 2015 advise): a new cell starts out keeping most of
    what it holds (sigmoid(1) = 0.73) rather than half.

    After a forward, ``gates[name]`` is (B, T, H) for each name in ``GATES`` and ``cells`` is
    (B, T, H): the value of every gate for every step and unit; ``gate_values`` gives one
    sequence of them as lists.
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        forget_bias: float = 1.0,
        rng: Rng = None,
        dtype: type = np.float32,
    ) -> None:
        super().__init__()
        if n_in < 1 or n_hidden < 1:
            raise ValueError(f"need n_in >= 1 and n_hidden >= 1, got {n_in}, {n_hidden}")
        rng = np.random.default_rng(rng)
        self.n_in, self.n_hidden = n_in, n_hidden
        w_xh = rng.standard_normal((n_in, 4 * n_hidden)) / math.sqrt(n_in)
        w_hh = rng.standard_normal((n_hidden, 4 * n_hidden)) / math.sqrt(n_hidden)
        bias = np.zeros(4 * n_hidden)
        bias[n_hidden : 2 * n_hidden] = forget_bias
        self.add_param("weight_xh", w_xh.astype(dtype))
        self.add_param("weight_hh", w_hh.astype(dtype))
        self.add_param("bias", bias.astype(dtype))
        self.gates: dict[str, np.ndarray] = {}
        self.dh0: np.ndarray | None = None
        self.dc0: np.ndarray | None = None

    def __call__(
        self, x: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None
    ) -> np.ndarray:
        return self.forward(x, h0, c0)

    def forward(
        self, x: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None
    ) -> np.ndarray:
        """x: (B, T, n_in), h0, c0: (B, H) or None -> hs: (B, T, H), hs[:, t] = h_{t+1}."""
        x = _check_input(x, self.n_in)
        batch, steps, _ = x.shape
        n_hidden, w_hh = self.n_hidden, self.params["weight_hh"]
        self.x = x
        self.h0 = _initial_state(h0, batch, n_hidden, w_hh.dtype)
        self.c0 = _initial_state(c0, batch, n_hidden, w_hh.dtype)
        from_input = matmul(x.reshape(-1, self.n_in), self.params["weight_xh"])
        from_input = (from_input + self.params["bias"]).reshape(batch, steps, 4 * n_hidden)
        # sigmoid(z) = (1 + tanh(z / 2)) / 2, so one tanh serves all four blocks: halve the
        # gates' pre-activations (the candidate's stays whole), take tanh, and map the gates'
        # blocks back into (0, 1). Halving is exact in binary floating point.
        half = np.full(4 * n_hidden, 0.5, dtype=from_input.dtype)
        half[2 * n_hidden : 3 * n_hidden] = 1.0
        shift = 1.0 - half  # 0.5 for the gates, 0 for the candidate
        from_input *= half
        w_hh_halved = w_hh * half
        acts = np.empty_like(from_input)  # i, f, g, o after their squashing functions
        hs = np.empty((batch, steps, n_hidden), dtype=from_input.dtype)
        cells = np.empty_like(hs)
        h, c = self.h0, self.c0
        for t in range(steps):
            i_f_g_o = acts[:, t]
            np.multiply(np.tanh(from_input[:, t] + matmul(h, w_hh_halved)), half, out=i_f_g_o)
            i_f_g_o += shift
            # the four blocks as views: cheaper per step than np.split's general machinery
            i, f, g, o = i_f_g_o.reshape(batch, 4, n_hidden).swapaxes(0, 1)
            c = f * c + i * g
            h = o * np.tanh(c)
            hs[:, t], cells[:, t] = h, c
        self.acts, self.hs, self.cells = acts, hs, cells
        self.gates = dict(zip(GATES, np.split(acts, 4, axis=2), strict=True))
        return hs

    def gate_values(self, sequence: int = 0) -> dict[str, list[list[float]]]:
        """The last forward's gates, candidate, cell and hidden state for one sequence of the
        batch, as lists: {name: [[unit values] for each step]}, names GATES + cell, hidden."""
        if not self.gates:
            raise ValueError("gate_values needs a forward first")
        values = {name: self.gates[name][sequence] for name in GATES}
        values["cell"], values["hidden"] = self.cells[sequence], self.hs[sequence]
        return {name: np.asarray(v, dtype=np.float64).tolist() for name, v in values.items()}

    def backward(self, dhs: np.ndarray, dc_last: np.ndarray | None = None) -> np.ndarray:
        """Backpropagation through time. dhs: (B, T, H), the direct d(loss)/d(hs);
        dc_last: (B, H) or None, a gradient on the last cell state -> dx: (B, T, n_in).
        Adds into grads; leaves d(loss)/d(h0) and d(loss)/d(c0), (B, H), in ``dh0``, ``dc0``,
        and the whole gradients reaching every h_t and c_t, (B, T, H), in ``dh_total``,
        ``dc_total``.

        Along the cell the step back is dc_{t-1} = dc_t * f_t: multiplied by the forget gate,
        not by a weight matrix (the other paths go through W_hh as in the plain RNN).
        """
        x, hs, cells, acts = self.x, self.hs, self.cells, self.acts
        if dhs.shape != hs.shape:
            raise ValueError(f"dhs has shape {dhs.shape}, expected {hs.shape}")
        batch, steps, n_hidden = hs.shape
        w_hh = self.params["weight_hh"]
        i, f, g, o = np.split(acts, 4, axis=2)  # each (B, T, H)
        c_prev = np.concatenate([self.c0[:, None], cells[:, :-1]], axis=1)
        tanh_c = np.tanh(cells)
        # The local derivatives do not depend on the incoming gradient, so they are computed
        # for every step at once and the loop keeps only what is truly sequential. A gate's
        # pre-activation gradient is dc (or dh, for o) times its partner in c = f c_prev + i g
        # (or in h = o tanh(c)) times its squashing derivative, s(1 - s) or 1 - g^2.
        per_dc = np.stack([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g**2)], axis=2)
        per_dh = tanh_c * o * (1 - o)
        dc_per_dh = o * (1 - tanh_c**2)  # h_t reaches the loss through c_t too
        dpre = np.empty((batch, steps, 4, n_hidden), dtype=acts.dtype)  # blocks i, f, g, o
        dh_next = np.zeros((batch, n_hidden), dtype=hs.dtype)
        dc_next = np.zeros_like(dh_next) if dc_last is None else np.asarray(dc_last)
        dh_total, dc_total = np.empty_like(hs), np.empty_like(hs)
        for t in reversed(range(steps)):
            dh = dhs[:, t] + dh_next
            dc = dc_next + dh * dc_per_dh[:, t]
            np.multiply(dc[:, None], per_dc[:, t], out=dpre[:, t, :3])
            np.multiply(dh, per_dh[:, t], out=dpre[:, t, 3])
            dh_total[:, t], dc_total[:, t] = dh, dc
            dc_next = dc * f[:, t]
            dh_next = matmul(dpre[:, t].reshape(batch, -1), w_hh.T)
        self.dh0, self.dc0 = dh_next, dc_next
        self.dh_total, self.dc_total = dh_total, dc_total
        h_prev = np.concatenate([self.h0[:, None], hs[:, :-1]], axis=1)
        dpre_rows = dpre.reshape(-1, 4 * n_hidden)
        self.grads["weight_xh"] += matmul(x.reshape(-1, self.n_in).T, dpre_rows)
        self.grads["weight_hh"] += matmul(h_prev.reshape(-1, n_hidden).T, dpre_rows)
        self.grads["bias"] += dpre_rows.sum(axis=0)
        return matmul(dpre_rows, self.params["weight_xh"].T).reshape(x.shape)


# --- Vanishing and exploding gradients, in numbers a widget can draw -------------------------

MAX_STEPS = 500
MAX_WEIGHT_SCALE = 4.0  # 4^500 is still a float64; the norms below never exceed scale^steps


def repeated_multiplication(
    weight: float, steps: tuple[int, ...] | list[int] = (10, 50, 100, 200)
) -> list[dict]:
    """The one-number picture: a gradient passed back through n steps is multiplied by the
    same weight n times. -> [{"steps": n, "value": weight**n}, ...]; below 1 it vanishes,
    above 1 it explodes."""
    if not 0 <= abs(weight) <= 10:
        raise ValueError(f"weight must lie in [-10, 10], got {weight}")
    if any(not 0 <= n <= 300 for n in steps):
        raise ValueError(f"steps must lie in [0, 300], got {list(steps)}")
    return [{"steps": int(n), "value": float(weight) ** int(n)} for n in steps]


def orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random rotation/reflection: (n, n) with Q^T Q = I, drawn uniformly (Haar)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))  # fixes QR's sign choice so every Q is equally likely


def through_time_setup(
    kind: str = "rnn",
    steps: int = 50,
    weight_scale: float = 1.0,
    n_hidden: int = 16,
    input_scale: float = 0.1,
    forget_bias: float = 3.0,
    seed: int = 0,
) -> tuple[RNN | LSTM, np.ndarray, np.ndarray]:
    """The network, inputs and readout that ``gradient_through_time`` measures, in float64.

    The recurrent weights are weight_scale times a random orthogonal matrix (for the LSTM,
    one per gate block): every direction is stretched by exactly weight_scale per step, so the
    scale is the "weight" of the one-number picture. Input weights are N(0, input_scale^2 /
    n_in), inputs N(0, 1). The LSTM's forget bias starts at 3 here (forget gate about 0.95),
    so the cell keeps most of what it holds from one step to the next.
    -> (model, x: (1, steps, n_hidden), readout u: (n_hidden,) with |u| = 1).
    """
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"kind must be 'rnn' or 'lstm', got {kind!r}")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must lie in [1, {MAX_STEPS}], got {steps}")
    if not 0 <= weight_scale <= MAX_WEIGHT_SCALE:
        raise ValueError(f"weight_scale must lie in [0, {MAX_WEIGHT_SCALE}], got {weight_scale}")
    if not 1 <= n_hidden <= 256 or input_scale < 0 or abs(forget_bias) > 10:
        raise ValueError(
            "need 1 <= n_hidden <= 256, input_scale >= 0, |forget_bias| <= 10, got "
            f"{n_hidden}, {input_scale}, {forget_bias}"
        )
    rng = np.random.default_rng(seed)
    blocks = 1 if kind == "rnn" else 4
    w_hh = np.concatenate([orthogonal(n_hidden, rng) for _ in range(blocks)], axis=1)
    w_xh = rng.standard_normal((n_hidden, blocks * n_hidden)) / math.sqrt(n_hidden)
    if kind == "rnn":
        model: RNN | LSTM = RNN(n_hidden, n_hidden, dtype=np.float64)
    else:
        model = LSTM(n_hidden, n_hidden, forget_bias=forget_bias, dtype=np.float64)
    model.params["weight_hh"][...] = weight_scale * w_hh
    model.params["weight_xh"][...] = input_scale * w_xh
    x = rng.standard_normal((1, steps, n_hidden))
    readout = rng.standard_normal(n_hidden)
    return model, x, readout / np.linalg.norm(readout)


def gradient_through_time(
    kind: str = "rnn",
    steps: int = 50,
    weight_scale: float = 1.0,
    n_hidden: int = 16,
    input_scale: float = 0.1,
    forget_bias: float = 3.0,
    seed: int = 0,
) -> dict:
    """How much the loss at the last step still feels each earlier hidden state.

    The loss is a fixed linear readout of the last state, L = u . h_T with |u| = 1, so
    |dL/dh_T| = 1, and the norm of dL/dh_t shows what is left of the gradient t steps back.
    For the plain RNN each step back multiplies by diag(1 - h^2) W_hh^T, whose stretch is at
    most weight_scale, so the norm is at most weight_scale^(T - t), and exactly that when the
    input is zero (h stays 0 and tanh is the identity there).
    -> {"kind", "steps", "weight_scale", "t": [1..T], "norms": [|dL/dh_t|]} and, for the
    LSTM, "cell_norms": [|dL/dc_t|] and "mean_forget" (the forget gate over all steps and
    units): along the cell the gradient is multiplied by the forget gate instead.
    """
    model, x, readout = through_time_setup(
        kind, steps, weight_scale, n_hidden, input_scale, forget_bias, seed
    )
    hs = model(x)
    dhs = np.zeros_like(hs)
    dhs[0, -1] = readout
    model.backward(dhs)
    result = {
        "kind": kind,
        "steps": steps,
        "weight_scale": float(weight_scale),
        "t": list(range(1, steps + 1)),
        "norms": _row_norms(model.dh_total[0]),
    }
    if isinstance(model, LSTM):
        result["cell_norms"] = _row_norms(model.dc_total[0])
        result["mean_forget"] = float(model.gates["forget"].mean())
    return result


def _row_norms(rows: np.ndarray) -> list[float]:
    """Euclidean length of each row, (T, H) -> T floats, safe up to float64's largest number
    (squaring entries of 1e300 would overflow, so each row is first divided by its largest)."""
    if not np.isfinite(rows).all():
        raise ValueError("the gradient overflowed float64: take fewer steps or a smaller scale")
    largest = np.abs(rows).max(axis=1, keepdims=True)
    unit = rows / np.where(largest > 0, largest, 1)
    return (largest[:, 0] * np.linalg.norm(unit, axis=1)).tolist()


def vanishing_gradients(steps: int = 100, weight_scale: float = 1.0, seed: int = 0) -> dict:
    """The plain RNN and the LSTM side by side in the setting of ``gradient_through_time``, for
    the chapter's widget (one call per redraw).

    -> {"steps", "weight_scale", "t": [1..T], "rnn": [|dL/dh_t|], "lstm": [|dL/dh_t|],
    "mean_forget": the LSTM's forget gate averaged over steps and units}.
    """
    rnn = gradient_through_time("rnn", steps, weight_scale, seed=seed)
    lstm = gradient_through_time("lstm", steps, weight_scale, seed=seed)
    return {
        "steps": steps,
        "weight_scale": float(weight_scale),
        "t": rnn["t"],
        "rnn": rnn["norms"],
        "lstm": lstm["norms"],
        "mean_forget": lstm["mean_forget"],
    }
