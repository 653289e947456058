import math

import numpy as np
import pytest
from lmlab import nn
from lmlab.nn import (
    GELU,
    MLP,
    Block,
    CausalSelfAttention,
    LayerNorm,
    Linear,
    ReLU,
    Tanh,
    numerical_gradient,
)


def randomise(layer, rng):
    """Give every parameter random values, so that no gradient check passes by symmetry."""
    for _, param, _ in layer.named_parameters():
        param[...] = rng.standard_normal(param.shape) * 0.5


def assert_gradients_match_finite_differences(layer, x, rtol=1e-6, atol=1e-8):
    """Backpropagate a random projection of the output and compare with finite differences.

    atol covers the rounding floor of central differences (|loss| * 1e-16 / eps, about 1e-9
    here), which is what an exactly-zero gradient (the key bias in attention) is compared with.
    """
    rng = np.random.default_rng(123)
    dout = rng.standard_normal(layer(x).shape)

    def loss():
        return float((layer(x) * dout).sum())

    layer.zero_grad()
    layer(x)
    dx = layer.backward(dout)
    for name, param, grad in layer.named_parameters():
        np.testing.assert_allclose(
            grad, numerical_gradient(loss, param), rtol=rtol, atol=atol, err_msg=name
        )
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=rtol, atol=atol)


def make_layers(rng):
    f64 = np.float64
    return {
        "linear": (Linear(4, 3, rng=rng, dtype=f64), (2, 3, 4)),
        "linear_no_bias": (Linear(4, 3, bias=False, rng=rng, dtype=f64), (5, 4)),
        "tanh": (Tanh(), (3, 4)),
        "relu": (ReLU(), (3, 4)),
        "gelu": (GELU(), (3, 4)),
        "layernorm": (LayerNorm(6, dtype=f64), (2, 3, 6)),
        "mlp": (MLP(4, rng=rng, dtype=f64), (2, 3, 4)),
        "attention": (CausalSelfAttention(8, 2, rng=rng, dtype=f64), (2, 5, 8)),
        "block": (Block(8, 2, rng=rng, dtype=f64), (2, 4, 8)),
    }


@pytest.mark.parametrize("name", list(make_layers(np.random.default_rng(0))))
def test_backward_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    layer, shape = make_layers(rng)[name]
    randomise(layer, rng)
    assert_gradients_match_finite_differences(layer, rng.standard_normal(shape))


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda: float((x**3).sum()), x), 3 * x**2)
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(lambda: 0.0, np.zeros((3, 4))[:, :3])


def test_parameter_gradients_accumulate_over_calls():
    rng = np.random.default_rng(1)
    layer = LayerNorm(5, dtype=np.float64)
    x, dout = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    layer(x)
    layer.backward(dout)
    once = layer.grads["weight"].copy()
    layer(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads["weight"], 2 * once)


@pytest.mark.parametrize("in_browser", [False, True])
def test_both_matmul_routes_give_the_product(monkeypatch, in_browser):
    # The einsum route runs in Pyodide, the @ route in CPython: check each everywhere.
    monkeypatch.setattr(nn, "IN_BROWSER", in_browser)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(nn.matmul(a, b), a @ b, rtol=1e-13)
    np.testing.assert_allclose(nn.matmul(b.T, a.T), (a @ b).T, rtol=1e-13)
    layer = Linear(3, 4, rng=rng, dtype=np.float64)
    randomise(layer, rng)
    assert_gradients_match_finite_differences(layer, rng.standard_normal((2, 5, 3)))


def test_linear_layout_and_init():
    layer = Linear(400, 300, rng=0)
    assert layer.params["weight"].shape == (400, 300)  # (in, out): y = x @ W + b
    assert layer.params["weight"].dtype == np.float32
    assert layer.params["weight"].std() == pytest.approx(1 / math.sqrt(400), rel=0.02)
    assert not layer.params["bias"].any()
    x = np.ones((2, 400), dtype=np.float32)
    np.testing.assert_allclose(layer(x), x @ layer.params["weight"], rtol=1e-6)
    assert Linear(4, 3, std=0.02, rng=0).params["weight"].std() < 0.05


def test_layernorm_output_is_normalised():
    x = np.random.default_rng(2).standard_normal((3, 64)) * 7 + 3
    out = LayerNorm(64, dtype=np.float64)(x)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1, rtol=1e-4)  # eps = 1e-5 shaves a little


def test_gelu_at_known_points():
    gelu = GELU()
    out = gelu(np.array([0.0, 1.0, -1.0, 10.0, -10.0]))
    # 1 * 0.5 * (1 + tanh(sqrt(2/pi) * 1.044715)) = 0.841192 (GPT-2's approximation).
    np.testing.assert_allclose(out, [0.0, 0.841192, -0.158808, 10.0, 0.0], atol=1e-6)


def test_relu_at_known_points():
    relu = ReLU()
    x = np.array([-2.0, -0.0, 0.0, 0.5, 3.0], dtype=np.float32)
    out = relu(x)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 0.5, 3.0])
    assert out.dtype == np.float32
    # The gradient passes where the input was positive only; at exactly 0 it is 0, as in torch.
    np.testing.assert_array_equal(relu.backward(np.full(5, 7.0, dtype=np.float32)),
                                  [0.0, 0.0, 0.0, 7.0, 7.0])
    assert relu.backward(np.ones(5, dtype=np.float32)).dtype == np.float32


def test_attention_is_causal():
    rng = np.random.default_rng(3)
    attn = CausalSelfAttention(8, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((1, 6, 8))
    before = attn(x)
    x[0, 4:] = rng.standard_normal((2, 8))  # change the future of positions 0..3
    after = attn(x)
    np.testing.assert_array_equal(after[0, :4], before[0, :4])
    assert not np.allclose(after[0, 4:], before[0, 4:])
    np.testing.assert_allclose(np.triu(attn.weights, k=1), 0)


def test_attention_cache_gives_the_same_outputs():
    rng = np.random.default_rng(4)
    block = Block(8, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 7, 8))
    full = block(x)
    cache = {}
    # A prompt of 3 tokens, then one token at a time, then a chunk of 2.
    pieces = [block.forward(x[:, :3], cache)]
    pieces += [block.forward(x[:, t : t + 1], cache) for t in (3, 4)]
    pieces.append(block.forward(x[:, 5:], cache))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, rtol=1e-12, atol=1e-12)
    assert cache["k"].shape == (2, 2, 7, 4)
    with pytest.raises(ValueError, match="without a cache"):
        block.backward(np.ones((2, 2, 8)))


def test_float32_stays_float32():
    rng = np.random.default_rng(5)
    block = Block(8, 2, rng=rng)
    x = rng.standard_normal((2, 4, 8)).astype(np.float32)
    out = block(x)
    assert out.dtype == np.float32
    assert block.backward(np.ones_like(out)).dtype == np.float32
    assert all(grad.dtype == np.float32 for _, _, grad in block.named_parameters())


def test_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="multiple of n_head"):
        CausalSelfAttention(10, 3)


@pytest.mark.reference
def test_layers_match_torch():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(6)
    layers = make_layers(rng)
    for layer, _ in layers.values():
        randomise(layer, rng)

    def t(a):
        return torch.tensor(a, requires_grad=True)

    def run(layer, x, torch_forward):
        """Same input and output gradient through lmlab and torch; compare everything."""
        dout = rng.standard_normal(layer(x).shape)
        layer.zero_grad()
        out = layer(x)
        dx = layer.backward(dout)
        tensors = {name: t(p) for name, p, _ in layer.named_parameters()}
        xt = t(x)
        out_t = torch_forward(xt, tensors)
        out_t.backward(torch.tensor(dout))
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        for name, _, grad in layer.named_parameters():
            np.testing.assert_allclose(
                grad, tensors[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name
            )

    def linear(x, w, b=None):
        return F.linear(x, w.T, b)  # torch wants (out, in)

    run(layers["linear"][0], rng.standard_normal((2, 3, 4)),
        lambda x, p: linear(x, p["weight"], p["bias"]))
    run(layers["linear_no_bias"][0], rng.standard_normal((5, 4)),
        lambda x, p: linear(x, p["weight"]))
    run(layers["tanh"][0], rng.standard_normal((3, 4)), lambda x, p: torch.tanh(x))
    with_zeros = rng.standard_normal((3, 4))
    with_zeros[0, :2] = 0.0  # where the two conventions for the kink could differ
    run(layers["relu"][0], with_zeros, lambda x, p: torch.relu(x))
    run(layers["gelu"][0], rng.standard_normal((3, 4)) * 3,
        lambda x, p: F.gelu(x, approximate="tanh"))
    run(layers["layernorm"][0], rng.standard_normal((2, 3, 6)),
        lambda x, p: F.layer_norm(x, (6,), p["weight"], p["bias"], eps=1e-5))
    run(layers["mlp"][0], rng.standard_normal((2, 3, 4)),
        lambda x, p: linear(
            F.gelu(linear(x, p["c_fc.weight"], p["c_fc.bias"]), approximate="tanh"),
            p["c_proj.weight"], p["c_proj.bias"],
        ))

    def torch_attention(x, p, n_head=2):
        B, T, C = x.shape
        q, k, v = linear(x, p["c_attn.weight"], p["c_attn.bias"]).split(C, dim=2)
        q, k, v = (a.view(B, T, n_head, C // n_head).transpose(1, 2) for a in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return linear(y, p["c_proj.weight"], p["c_proj.bias"])

    run(layers["attention"][0], rng.standard_normal((2, 5, 8)), torch_attention)
