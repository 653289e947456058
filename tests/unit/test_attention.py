import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab.attention import (
    causal_mask,
    merge_heads,
    multi_head_attention,
    scaled_dot_product_attention,
    scaling_effect,
    split_heads,
)


def test_causal_mask():
    np.testing.assert_array_equal(
        causal_mask(3), [[True, False, False], [True, True, False], [True, True, True]]
    )
    with pytest.raises(ValueError, match="T must be"):
        causal_mask(0)


def test_attention_by_hand():
    # one query, two keys: scores 0 and 2 / sqrt(2) after scaling
    q = np.array([[1.0, 1.0]])
    k = np.array([[1.0, -1.0], [1.0, 1.0]])
    v = np.array([[10.0, 0.0], [0.0, 10.0]])
    out, weights = scaled_dot_product_attention(q, k, v)
    w1 = 1 / (1 + math.exp(-math.sqrt(2)))
    np.testing.assert_allclose(weights, [[1 - w1, w1]], rtol=1e-14)
    np.testing.assert_allclose(out, [[10 * (1 - w1), 10 * w1]], rtol=1e-14)


def test_attention_shapes_with_batch_dims_and_cross_lengths():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 5, 4))
    k = rng.standard_normal((2, 3, 7, 4))
    v = rng.standard_normal((2, 3, 7, 6))
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 6) and weights.shape == (2, 3, 5, 7)
    with pytest.raises(ValueError, match="same last dimension"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="same number of rows"):
        scaled_dot_product_attention(q, k, v[..., :6, :])


def test_scale_and_bias_enter_the_scores():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((4, 3)) for _ in range(3))
    bias = rng.standard_normal((4, 4))
    _, weights = scaled_dot_product_attention(q, k, v, scale=0.5, bias=bias)
    scores = 0.5 * q @ k.T + bias
    expected = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-13)


def test_a_query_with_nothing_to_attend_to_is_an_error():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="at least one key"):
        scaled_dot_product_attention(x, x, x, mask=np.array([[True, False], [False, False]]))


def test_split_and_merge_heads():
    x = np.arange(2 * 3 * 8).reshape(2, 3, 8)
    heads = split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(heads[1, 2, 0], x[1, 0, 4:6])
    np.testing.assert_array_equal(merge_heads(heads), x)
    with pytest.raises(ValueError, match="not divisible"):
        split_heads(x, 3)


def mha_weights(C: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = ["w_q", "w_k", "w_v", "w_o"]
    params = {name: rng.standard_normal((C, C)) / math.sqrt(C) for name in names}
    params.update({"b" + name[1:]: rng.standard_normal(C) for name in names})
    return params


def mha(x, p, n_heads, mask):
    weights = [p[name] for name in ("w_q", "w_k", "w_v", "w_o")]
    biases = {name: p[name] for name in ("b_q", "b_k", "b_v", "b_o")}
    return multi_head_attention(x, *weights, n_heads, mask=mask, **biases)


def test_multi_head_attention_equals_heads_computed_one_by_one():
    rng = np.random.default_rng(2)
    B, T, C, H = 2, 5, 12, 3
    x = rng.standard_normal((B, T, C))
    p = mha_weights(C, 3)
    out, weights = mha(x, p, H, causal_mask(T))
    assert out.shape == (B, T, C) and weights.shape == (B, H, T, T)
    D = C // H
    heads = []
    for h in range(H):
        cols = slice(h * D, (h + 1) * D)
        q = x @ p["w_q"][:, cols] + p["b_q"][cols]
        k = x @ p["w_k"][:, cols] + p["b_k"][cols]
        v = x @ p["w_v"][:, cols] + p["b_v"][cols]
        head, w = scaled_dot_product_attention(q, k, v, mask=causal_mask(T))
        np.testing.assert_allclose(weights[:, h], w, rtol=1e-12)
        heads.append(head)
    expected = np.concatenate(heads, axis=-1) @ p["w_o"] + p["b_o"]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.reference
@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_torch_sdpa(causal):
    import torch

    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((2, 3, 6, 8)) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(6) if causal else None)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-14)
    ref_masked = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=torch.from_numpy(causal_mask(6)), scale=0.3
    )
    out_masked, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(6), scale=0.3)
    np.testing.assert_allclose(out_masked, ref_masked.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.reference
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(causal):
    import torch

    B, T, C, H = 2, 7, 16, 4
    x = np.random.default_rng(5).standard_normal((B, T, C))
    p = mha_weights(C, 6)
    ref = torch.nn.MultiheadAttention(C, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        # torch packs q, k, v into one (3C, C) matrix in the (out, in) layout
        w_in = np.concatenate([p["w_q"].T, p["w_k"].T, p["w_v"].T])
        ref.in_proj_weight.copy_(torch.from_numpy(w_in))
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate([p["b_q"], p["b_k"], p["b_v"]])))
        ref.out_proj.weight.copy_(torch.from_numpy(p["w_o"].T))
        ref.out_proj.bias.copy_(torch.from_numpy(p["b_o"]))
    tx = torch.from_numpy(x)
    # torch's boolean attn_mask means "may NOT attend", the opposite of ours
    torch_mask = torch.from_numpy(~causal_mask(T)) if causal else None
    ref_out, ref_weights = ref(tx, tx, tx, attn_mask=torch_mask, average_attn_weights=False)
    out, weights = mha(x, p, H, causal_mask(T) if causal else None)
    np.testing.assert_allclose(out, ref_out.detach().numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(weights, ref_weights.detach().numpy(), rtol=1e-11, atol=1e-14)


@st.composite
def attention_inputs(draw):
    Tq = draw(st.integers(1, 6))
    Tk = draw(st.integers(1, 6))
    d = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((Tq, Tk)) < 0.6
    mask[np.arange(Tq), rng.integers(0, Tk, Tq)] = True  # every query keeps at least one key
    scale = draw(st.floats(0.1, 10.0))
    q = scale * rng.standard_normal((2, Tq, d))
    k = scale * rng.standard_normal((2, Tk, d))
    v = rng.standard_normal((2, Tk, 3))
    return q, k, v, mask


@settings(max_examples=60, deadline=None)
@given(attention_inputs())
def test_weights_are_a_distribution_and_masked_keys_get_exactly_zero(inputs):
    q, k, v, mask = inputs
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    assert np.all(weights[:, ~mask] == 0.0)
    # the output is a convex combination of the value rows
    assert np.all(out <= v.max(axis=-2, keepdims=True) + 1e-12)
    assert np.all(out >= v.min(axis=-2, keepdims=True) - 1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_causal_output_ignores_the_future(T, seed):
    rng = np.random.default_rng(seed)
    B, C, H = 2, 8, 2
    p = mha_weights(C, seed % 1000)
    x = rng.standard_normal((B, T, C))
    t = int(rng.integers(0, T - 1))
    changed = x.copy()
    changed[:, t + 1 :] = rng.standard_normal((B, T - t - 1, C))

    def run(inp):
        return mha(inp, p, H, causal_mask(T))[0]

    before, after = run(x), run(changed)
    np.testing.assert_array_equal(before[:, : t + 1], after[:, : t + 1])
    assert not np.allclose(before[:, t + 1 :], after[:, t + 1 :])


def test_scaling_effect_numbers():
    rows = scaling_effect(d_k_values=(4, 64, 1024), n_keys=16, n_samples=400, seed=0)
    assert [r["d_k"] for r in rows] == [4, 64, 1024]
    for r in rows:
        # raw scores spread like sqrt(d_k); scaled ones like 1
        assert r["score_std_unscaled"] == pytest.approx(math.sqrt(r["d_k"]), rel=0.1)
        assert r["score_std_scaled"] == pytest.approx(1.0, rel=0.1)
        assert r["max_entropy"] == pytest.approx(math.log(16))
        assert 0 < r["entropy_unscaled"] <= r["max_entropy"]
    scaled_entropies = [r["entropy_scaled"] for r in rows]
    assert max(scaled_entropies) - min(scaled_entropies) < 0.1
    # without scaling the softmax saturates: one key takes almost all the weight
    assert rows[-1]["max_weight_unscaled"] > 0.9 > 0.5 > rows[-1]["max_weight_scaled"]
    assert rows[-1]["entropy_unscaled"] < 0.3 < 2.0 < rows[-1]["entropy_scaled"]
    assert rows == scaling_effect(d_k_values=(4, 64, 1024), n_keys=16, n_samples=400, seed=0)


def test_float32_inputs_stay_float32():
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    out, weights = scaled_dot_product_attention(x, x, x, mask=causal_mask(4))
    assert out.dtype == np.float32 and weights.dtype == np.float32
