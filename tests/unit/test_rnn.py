"""lmlab.rnn: the RNN and LSTM layers against finite differences (everywhere) and PyTorch's
nn.RNN / nn.LSTM with the same weights (CPython), and the gradient-through-time demonstration
against closed forms and torch autograd.

Tolerances: every check runs in float64. Finite differences with eps = 1e-6 carry an error of
about eps^2 * f''' + 1e-16 / eps, i.e. ~1e-10 on these O(1) quantities, hence rtol 1e-6 with a
small atol; PyTorch performs the same float64 arithmetic in another order, which differs by a
few ulps per operation, hence rtol 1e-10.
"""

import json
import math

import numpy as np
import pytest
from lmlab.nn import numerical_gradient
from lmlab.rnn import (
    GATES,
    LSTM,
    RNN,
    gradient_through_time,
    orthogonal,
    repeated_multiplication,
    through_time_setup,
)

B, T, N_IN, H = 2, 5, 3, 4


def _random_model(cls, rng):
    """A float64 layer whose parameters (biases too) are all random and O(1)."""
    model = cls(N_IN, H, rng=rng, dtype=np.float64)
    for _, param, _ in model.named_parameters():
        param[...] = 0.6 * rng.standard_normal(param.shape)
    return model


def test_rnn_forward_is_the_recurrence():
    rng = np.random.default_rng(0)
    model = _random_model(RNN, rng)
    x, h0 = rng.standard_normal((B, T, N_IN)), rng.standard_normal((B, H))
    hs = model(x, h0)
    assert hs.shape == (B, T, H)
    p = model.params
    h = h0
    for t in range(T):  # written out once more, one sequence at a time, with vectors
        h = np.stack(
            [
                np.tanh(p["weight_xh"].T @ x[b, t] + p["weight_hh"].T @ h[b] + p["bias"])
                for b in range(B)
            ]
        )
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(model(x), model(x, np.zeros((B, H))))


def test_rnn_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    model = _random_model(RNN, rng)
    x, h0 = rng.standard_normal((B, T, N_IN)), rng.standard_normal((B, H))
    weights = rng.standard_normal((B, T, H))  # loss = sum(weights * hs): dloss/dhs = weights

    def loss():
        return float((model(x, h0) * weights).sum())

    model.zero_grad()
    model(x, h0)
    dx = model.backward(weights)
    dh0 = model.dh0
    for name, param, grad in model.named_parameters():
        np.testing.assert_allclose(
            grad, numerical_gradient(loss, param), rtol=1e-6, atol=1e-9, err_msg=name
        )
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dh0, numerical_gradient(loss, h0), rtol=1e-6, atol=1e-9)


def test_gradients_accumulate_like_the_module_contract_says():
    rng = np.random.default_rng(2)
    for cls in (RNN, LSTM):
        model = _random_model(cls, rng)
        x, dhs = rng.standard_normal((B, T, N_IN)), rng.standard_normal((B, T, H))
        model.zero_grad()
        model(x)
        model.backward(dhs)
        once = {name: grad.copy() for name, _, grad in model.named_parameters()}
        model(x)
        model.backward(dhs)
        for name, _, grad in model.named_parameters():
            np.testing.assert_allclose(grad, 2 * once[name], rtol=1e-14, err_msg=name)


def test_lstm_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    model = _random_model(LSTM, rng)
    x = rng.standard_normal((B, T, N_IN))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    weights = rng.standard_normal((B, T, H))
    cell_weights = rng.standard_normal((B, H))  # a loss on the last cell state too

    def loss():
        hs = model(x, h0, c0)
        return float((hs * weights).sum() + (model.cells[:, -1] * cell_weights).sum())

    model.zero_grad()
    model(x, h0, c0)
    dx = model.backward(weights, dc_last=cell_weights)
    dh0, dc0 = model.dh0, model.dc0
    for name, param, grad in model.named_parameters():
        np.testing.assert_allclose(
            grad, numerical_gradient(loss, param), rtol=1e-6, atol=1e-9, err_msg=name
        )
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dh0, numerical_gradient(loss, h0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dc0, numerical_gradient(loss, c0), rtol=1e-6, atol=1e-9)


def test_lstm_gates_are_kept_per_step_and_unit():
    rng = np.random.default_rng(4)
    model = LSTM(N_IN, H, rng=rng, dtype=np.float64)
    with pytest.raises(ValueError, match="forward first"):
        model.gate_values()
    x = rng.standard_normal((B, T, N_IN))
    hs = model(x)
    for name in GATES:
        assert model.gates[name].shape == (B, T, H)
    for name in ("input", "forget", "output"):
        assert ((model.gates[name] > 0) & (model.gates[name] < 1)).all()
    # The forget bias starts at 1, so with small inputs and states the gate sits near sigmoid(1).
    np.testing.assert_array_equal(model.params["bias"][H : 2 * H], 1.0)
    quiet = model(np.zeros((1, 1, N_IN)))
    np.testing.assert_allclose(model.gates["forget"], 1 / (1 + math.exp(-1)), rtol=1e-15)
    assert not quiet.any()  # zero input, zero state: the candidate is 0, so are c and h
    model(x)
    values = json.loads(json.dumps(model.gate_values(sequence=1)))
    assert set(values) == {*GATES, "cell", "hidden"}
    for name in GATES:
        np.testing.assert_array_equal(values[name], model.gates[name][1])
    np.testing.assert_array_equal(values["hidden"], hs[1])
    np.testing.assert_array_equal(values["cell"], model.cells[1])


def test_float32_layers_agree_with_float64():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, T, N_IN))
    for cls in (RNN, LSTM):
        single, double = cls(N_IN, H, rng=7), cls(N_IN, H, rng=7, dtype=np.float64)
        out = single(x.astype(np.float32))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, double(x), rtol=1e-5, atol=1e-6)
        dhs = rng.standard_normal((B, T, H))
        np.testing.assert_allclose(
            single.backward(dhs.astype(np.float32)), double.backward(dhs), rtol=1e-4, atol=1e-5
        )


def test_misuse_is_reported():
    model = RNN(N_IN, H, rng=0)
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        model(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least one time step"):
        model(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match=r"initial state must have shape \(2, 4\)"):
        model(np.zeros((2, 3, 3)), h0=np.zeros((2, 5)))
    model(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="dhs has shape"):
        model.backward(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="n_hidden"):
        LSTM(3, 0)


# --- the gradient through time ---------------------------------------------------------------


def test_orthogonal_matrices_preserve_length():
    q = orthogonal(12, np.random.default_rng(0))
    np.testing.assert_allclose(q.T @ q, np.eye(12), atol=1e-13)


def test_repeated_multiplication_is_the_seed_picture():
    rows = repeated_multiplication(0.9)
    assert [row["steps"] for row in rows] == [10, 50, 100, 200]
    for row in rows:
        assert row["value"] == pytest.approx(math.prod([0.9] * row["steps"]), rel=1e-12)
    assert rows[0]["value"] == pytest.approx(0.3487, abs=1e-4)
    assert rows[-1]["value"] < 1e-9  # vanished
    assert repeated_multiplication(1.1, [200])[0]["value"] > 1e8  # exploded
    assert repeated_multiplication(1.0, [200])[0]["value"] == 1.0
    with pytest.raises(ValueError, match="weight"):
        repeated_multiplication(11.0)
    with pytest.raises(ValueError, match="steps"):
        repeated_multiplication(0.5, [301])


@pytest.mark.parametrize("scale", [0.5, 0.9, 1.0, 1.3, 2.0])
def test_rnn_without_input_has_the_closed_form(scale):
    # Zero input and h0 = 0 keep every h at 0, where tanh' = 1: each step back multiplies the
    # gradient by W_hh^T = scale * Q^T, which scales its length by exactly `scale`.
    steps = 60
    result = gradient_through_time("rnn", steps=steps, weight_scale=scale, input_scale=0.0)
    expected = [scale ** (steps - t) for t in result["t"]]
    np.testing.assert_allclose(result["norms"], expected, rtol=1e-12)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5, 3.0])
def test_rnn_gradient_never_exceeds_scale_to_the_distance(scale):
    # |tanh'| <= 1 can only shorten what the orthogonal matrix scales by `scale`.
    result = gradient_through_time("rnn", steps=120, weight_scale=scale, input_scale=0.3, seed=2)
    distance = np.array([result["steps"] - t for t in result["t"]])
    assert (np.array(result["norms"]) <= scale**distance * (1 + 1e-12)).all()


def test_rnn_gradient_vanishes_below_one_and_explodes_above():
    small = gradient_through_time("rnn", steps=100, weight_scale=0.5)["norms"]
    large = gradient_through_time("rnn", steps=100, weight_scale=2.0)["norms"]
    assert small[-1] == pytest.approx(1.0) and large[-1] == pytest.approx(1.0)
    assert small[0] < 1e-20  # below 0.5^99 = 1.6e-30 times the tanh factors: gone
    assert large[0] > 1e3
    assert all(a > b for a, b in zip(small[1:], small[:-1], strict=True))  # shrinks each step back


def test_lstm_without_recurrent_weights_has_the_closed_form():
    # No input, no recurrent weights: h and c stay 0, the gates sit at sigmoid(bias), the only
    # way back is along the cell, dL/dc_T = u * o * (1 - tanh(0)^2) = u / 2 and each step back
    # multiplies by the forget gate sigmoid(forget_bias).
    steps, forget_bias = 40, 2.0
    forget = 1 / (1 + math.exp(-forget_bias))
    result = gradient_through_time(
        "lstm", steps=steps, weight_scale=0.0, input_scale=0.0, forget_bias=forget_bias
    )
    np.testing.assert_allclose(
        result["cell_norms"], [0.5 * forget ** (steps - t) for t in result["t"]], rtol=1e-12
    )
    assert result["norms"][:-1] == [0.0] * (steps - 1) and result["norms"][-1] == pytest.approx(1.0)
    assert result["mean_forget"] == pytest.approx(forget, rel=1e-14)


def test_lstm_carries_the_gradient_further_than_the_rnn():
    rnn = gradient_through_time("rnn", steps=100, weight_scale=1.0)
    lstm = gradient_through_time("lstm", steps=100, weight_scale=1.0)
    assert lstm["mean_forget"] > 0.9
    assert lstm["norms"][0] > 100 * rnn["norms"][0]


def test_results_are_plain_json_and_reproducible():
    for kind in ("rnn", "lstm"):
        result = gradient_through_time(kind, steps=30, weight_scale=1.2, seed=4)
        again = json.loads(json.dumps(result, allow_nan=False))
        assert again == result == gradient_through_time(kind, steps=30, weight_scale=1.2, seed=4)
        assert len(result["norms"]) == len(result["t"]) == 30
    # The largest case: 4^499 = 1e300 is still a float64, though its square is not.
    extreme = gradient_through_time("rnn", steps=500, weight_scale=4.0, input_scale=0.0)
    assert extreme["norms"][0] == pytest.approx(4.0**499, rel=1e-12)
    json.dumps(extreme, allow_nan=False)
    json.dumps(
        gradient_through_time("lstm", steps=500, weight_scale=4.0, input_scale=0.0), allow_nan=False
    )
    with pytest.raises(ValueError, match="kind"):
        gradient_through_time("gru")
    with pytest.raises(ValueError, match="steps"):
        gradient_through_time(steps=501)
    with pytest.raises(ValueError, match="weight_scale"):
        gradient_through_time(weight_scale=4.5)
    with pytest.raises(ValueError, match="forget_bias"):
        gradient_through_time("lstm", forget_bias=11.0)


# --- PyTorch, with the same weights copied in ------------------------------------------------


def _torch_layer(model, torch_cls, rng, **kwargs):
    """torch's layer with our weights, transposed to its (out, in) layout; our one bias is split
    at random between its two, which it adds."""
    import torch

    layer = torch_cls(model.n_in, model.n_hidden, batch_first=True, dtype=torch.float64, **kwargs)
    bias = model.params["bias"]
    bias_ih = rng.standard_normal(bias.shape)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor(model.params["weight_xh"].T))
        layer.weight_hh_l0.copy_(torch.tensor(model.params["weight_hh"].T))
        layer.bias_ih_l0.copy_(torch.tensor(bias_ih))
        layer.bias_hh_l0.copy_(torch.tensor(bias - bias_ih))
    return layer


def _assert_parameter_grads_match(model, layer):
    grads = model.grads
    np.testing.assert_allclose(
        grads["weight_xh"], layer.weight_ih_l0.grad.numpy().T, rtol=1e-10, atol=1e-13
    )
    np.testing.assert_allclose(
        grads["weight_hh"], layer.weight_hh_l0.grad.numpy().T, rtol=1e-10, atol=1e-13
    )
    np.testing.assert_allclose(grads["bias"], layer.bias_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads["bias"], layer.bias_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.reference
def test_rnn_matches_torch():
    import torch

    rng = np.random.default_rng(6)
    model = _random_model(RNN, rng)
    layer = _torch_layer(model, torch.nn.RNN, rng, nonlinearity="tanh")
    x, h0 = rng.standard_normal((B, T, N_IN)), rng.standard_normal((B, H))
    weights = rng.standard_normal((B, T, H))

    model.zero_grad()
    hs = model(x, h0)
    dx = model.backward(weights)
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # torch wants (layers, B, H)
    out, h_n = layer(x_t, h0_t)
    (out * torch.tensor(weights)).sum().backward()

    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hs[:, -1], h_n[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.dh0, h0_t.grad[0].numpy(), rtol=1e-10, atol=1e-13)
    _assert_parameter_grads_match(model, layer)


@pytest.mark.reference
def test_lstm_matches_torch():
    import torch

    rng = np.random.default_rng(7)
    model = _random_model(LSTM, rng)
    layer = _torch_layer(model, torch.nn.LSTM, rng)
    x = rng.standard_normal((B, T, N_IN))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    weights, cell_weights = rng.standard_normal((B, T, H)), rng.standard_normal((B, H))

    model.zero_grad()
    hs = model(x, h0, c0)
    dx = model.backward(weights, dc_last=cell_weights)
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    c0_t = torch.tensor(c0[None], requires_grad=True)
    out, (h_n, c_n) = layer(x_t, (h0_t, c0_t))
    ((out * torch.tensor(weights)).sum() + (c_n[0] * torch.tensor(cell_weights)).sum()).backward()

    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.cells[:, -1], c_n[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.dh0, h0_t.grad[0].numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.dc0, c0_t.grad[0].numpy(), rtol=1e-10, atol=1e-13)
    _assert_parameter_grads_match(model, layer)

    # The kept gates are PyTorch's documented gates, computed from its own hidden states.
    out, w_ih, w_hh = out.detach(), layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach()
    bias = layer.bias_ih_l0.detach() + layer.bias_hh_l0.detach()
    h_prev = torch.cat([torch.tensor(h0[:, None]), out[:, :-1]], dim=1)
    pre = torch.tensor(x) @ w_ih.T + h_prev @ w_hh.T + bias
    torch_gates = dict(zip(GATES, pre.chunk(4, dim=-1), strict=True))  # PyTorch's order: i, f, g, o
    for name, value in torch_gates.items():
        value = torch.tanh(value) if name == "candidate" else torch.sigmoid(value)
        np.testing.assert_allclose(
            model.gates[name], value.numpy(), rtol=1e-12, atol=1e-14, err_msg=name
        )


@pytest.mark.reference
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("scale", [0.6, 1.0, 1.8])
def test_gradient_through_time_matches_torch_autograd(kind, scale):
    import torch

    steps = 40
    args = dict(kind=kind, steps=steps, weight_scale=scale, n_hidden=8, input_scale=0.5, seed=3)
    result = gradient_through_time(**args)
    model, x, readout = through_time_setup(**args)

    cell_cls = torch.nn.RNNCell if kind == "rnn" else torch.nn.LSTMCell
    cell = cell_cls(8, 8, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(model.params["weight_xh"].T))
        cell.weight_hh.copy_(torch.tensor(model.params["weight_hh"].T))
        cell.bias_ih.copy_(torch.tensor(model.params["bias"]))
        cell.bias_hh.zero_()
    h = c = torch.zeros(1, 8, dtype=torch.float64)
    hs, cs = [], []
    for t in range(steps):  # one step at a time, keeping every state's total gradient
        if kind == "rnn":
            h = cell(torch.tensor(x[:, t]), h)
        else:
            h, c = cell(torch.tensor(x[:, t]), (h, c))
            c.retain_grad()
            cs.append(c)
        h.retain_grad()
        hs.append(h)
    (h[0] @ torch.tensor(readout)).backward()

    norms = [state.grad.norm().item() for state in hs]
    np.testing.assert_allclose(result["norms"], norms, rtol=1e-9, atol=1e-300)
    if kind == "lstm":
        cell_norms = [state.grad.norm().item() for state in cs]
        np.testing.assert_allclose(result["cell_norms"], cell_norms, rtol=1e-9, atol=1e-300)
