import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab.attention import scaled_dot_product_attention
from lmlab.position import (
    LearnedPositionEmbedding,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    frequencies,
    lab_inputs,
    lab_scores,
    lab_weights,
    position_lab,
    sinusoidal_encoding,
)


def test_sinusoidal_encoding_follows_the_formula():
    T, d = 20, 64
    pe = sinusoidal_encoding(T, d)
    assert pe.shape == (T, d)
    for pos in range(T):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-13)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-13)
    np.testing.assert_array_equal(pe[0], np.tile([0.0, 1.0], d // 2))


def test_sinusoidal_rows_are_distinct_and_shifts_are_rotations():
    pe = sinusoidal_encoding(50, 16)
    distances = np.linalg.norm(pe[:, None] - pe[None, :], axis=-1)
    assert np.all(distances[~np.eye(50, dtype=bool)] > 1e-3)
    # each (sin, cos) pair at pos + k is the pair at pos turned by the angle k * f_i
    k, f = 7, frequencies(16)
    sin, cos = pe[:-k, 0::2], pe[:-k, 1::2]
    np.testing.assert_allclose(pe[k:, 0::2], sin * np.cos(k * f) + cos * np.sin(k * f), atol=1e-12)
    np.testing.assert_allclose(pe[k:, 1::2], cos * np.cos(k * f) - sin * np.sin(k * f), atol=1e-12)


def test_nearby_positions_are_more_similar_than_distant_ones():
    pe = sinusoidal_encoding(64, 64)
    sims = pe @ pe[10]
    assert sims[10] > sims[11] > sims[14] > sims[40]


def test_invalid_sizes():
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(4, 5)
    with pytest.raises(ValueError, match="T must be"):
        sinusoidal_encoding(0, 4)
    with pytest.raises(ValueError, match="even"):
        apply_rope(np.ones((3, 5)))
    with pytest.raises(ValueError, match="one position per row"):
        apply_rope(np.ones((3, 4)), positions=[0, 1])
    with pytest.raises(ValueError, match="n_heads"):
        alibi_slopes(0)


def test_learned_positions_are_an_embedding_that_cannot_extrapolate():
    table = LearnedPositionEmbedding(8, 4, rng=0)
    out = table(np.arange(5))
    np.testing.assert_array_equal(out, table.weight[:5])
    table.backward(np.ones((5, 4)))
    np.testing.assert_array_equal(table.grads["weight"][:5], 1)
    np.testing.assert_array_equal(table.grads["weight"][5:], 0)
    with pytest.raises(ValueError, match="cannot extrapolate"):
        table(np.arange(9))


def rope_by_complex_numbers(x, positions, base=10000.0):
    """Independent RoPE: pair (x_2i, x_2i+1) is the complex number x_2i + j x_2i+1."""
    d = x.shape[-1]
    z = x[..., 0::2] + 1j * x[..., 1::2]
    theta = base ** (-np.arange(d // 2) * 2.0 / d)
    rotated = z * np.exp(1j * np.outer(positions, theta))
    out = np.empty(x.shape)
    out[..., 0::2], out[..., 1::2] = rotated.real, rotated.imag
    return out


def test_rope_matches_complex_multiplication():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 16))
    positions = np.array([0, 1, 2, 5, 8, 13, 100, 1000, 4096])
    np.testing.assert_allclose(
        apply_rope(x, positions), rope_by_complex_numbers(x, positions), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        apply_rope(x, positions, base=500.0),
        rope_by_complex_numbers(x, positions, base=500.0),
        rtol=0,
        atol=1e-12,
    )


def test_rope_keeps_lengths_and_leaves_position_zero_alone():
    x = np.random.default_rng(1).standard_normal((6, 8))
    out = apply_rope(x)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), 1e-13)
    np.testing.assert_array_equal(out[0], x[0])
    assert apply_rope(x.astype(np.float32)).dtype == np.float32


def test_rope_split_halves_is_the_same_rotation_on_permuted_coordinates():
    """GPT-NeoX / HF LLaMA pair x_i with x_{i+d/2}; interleaving is that, permuted."""
    rng = np.random.default_rng(2)
    T, d = 5, 8
    x = rng.standard_normal((T, d))
    angles = np.arange(T)[:, None] * frequencies(d)
    cos, sin = np.tile(np.cos(angles), 2), np.tile(np.sin(angles), 2)
    perm = np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])
    halves = x[:, perm]
    rotate_half = np.concatenate([-halves[:, d // 2 :], halves[:, : d // 2]], axis=-1)
    np.testing.assert_allclose((halves * cos + rotate_half * sin), apply_rope(x)[:, perm], 1e-13)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(-100, 100),
    st.sampled_from([2, 8, 32]),
)
def test_rope_score_depends_only_on_the_offset(seed, m, n, shift, d):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal(d), rng.standard_normal(d)

    def score(qpos, kpos):
        return apply_rope(q[None], [qpos])[0] @ apply_rope(k[None], [kpos])[0]

    shift = max(shift, -min(m, n))
    assert score(m, n) == pytest.approx(score(m + shift, n + shift), rel=1e-9, abs=1e-9)


def test_rope_scores_change_with_the_offset():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((1, 16)), rng.standard_normal((1, 16))
    scores = [float(apply_rope(q, [m])[0] @ apply_rope(k, [0])[0]) for m in range(4)]
    assert len({round(s, 9) for s in scores}) == 4


def test_alibi_slopes_for_powers_of_two():
    np.testing.assert_allclose(alibi_slopes(8), [2.0**-i for i in range(1, 9)], rtol=1e-15)
    np.testing.assert_allclose(alibi_slopes(4), [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8], rtol=1e-15)
    np.testing.assert_allclose(alibi_slopes(1), [2.0**-8], rtol=1e-15)


def test_alibi_slopes_between_powers_of_two():
    # 12 heads: the 8 slopes for n=8, then slopes 1, 3, 5, 7 (0-based 0, 2, 4, 6) for n=16
    expected = [2.0**-i for i in range(1, 9)] + [2.0**-0.5, 2.0**-1.5, 2.0**-2.5, 2.0**-3.5]
    np.testing.assert_allclose(alibi_slopes(12), expected, rtol=1e-15)
    six = alibi_slopes(6)
    np.testing.assert_allclose(six, [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3], 1e-15)


def test_alibi_bias_is_a_causal_linear_distance_penalty():
    H, T = 4, 5
    bias = alibi_bias(H, T)
    slopes = alibi_slopes(H)
    assert bias.shape == (H, T, T)
    for h in range(H):
        for t in range(T):
            for s in range(T):
                expected = -slopes[h] * (t - s) if s <= t else -np.inf
                assert bias[h, t, s] == expected
    q = k = v = np.random.default_rng(0).standard_normal((H, T, 8))
    _, weights = scaled_dot_product_attention(q, k, v, bias=bias)
    assert np.all(weights[:, np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-12)


def test_heatmap_is_the_sinusoidal_table_and_its_gram_matrix():
    from lmlab.position import heatmap

    result = heatmap(20, 64)
    T, d = 20, 64
    p = np.arange(T)[:, None]
    i = np.arange(d // 2)[None, :]
    angles = p / 10000 ** (2 * i / d)  # the formula as printed in the chapter, written out again
    assert np.allclose(result["pe"][:, 0::2], np.sin(angles))
    assert np.allclose(result["pe"][:, 1::2], np.cos(angles))
    assert np.allclose(result["dots"], [[a @ b for b in result["pe"]] for a in result["pe"]])
    assert np.allclose(result["wavelengths"], 2 * np.pi * 10000 ** (2 * np.arange(d // 2) / d))
    with pytest.raises(ValueError):
        heatmap(0, 64)


# --- the position lab ---------------------------------------------------------------------------


def paper_alibi_slopes(n):
    """The ALiBi authors' get_slopes (github.com/ofirpress/attention_with_linear_biases), as
    published: the independent reference for alibi_slopes."""

    def get_slopes_power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (
        get_slopes_power_of_2(closest_power_of_2)
        + paper_alibi_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]
    )


@pytest.mark.parametrize("n", range(1, 17))
def test_alibi_slopes_are_the_papers(n):
    np.testing.assert_allclose(alibi_slopes(n), paper_alibi_slopes(n), rtol=1e-13)


@pytest.mark.parametrize("content", ["repeat", "random"])
def test_lab_scores_are_causal_and_extend_without_changing(content):
    short, long = lab_scores(24, content=content), lab_scores(64, content=content)
    for name in short:
        future = np.triu(np.ones((64, 64), dtype=bool), k=1)
        assert np.all(np.isneginf(long[name][future]))
        np.testing.assert_array_equal(short[name], long[name][:24, :24])


def test_with_one_token_repeated_only_position_tells_keys_apart():
    table = lab_scores(64, trained=16, content="repeat")
    allowed = np.tril(np.ones((64, 64), dtype=bool))
    # no position: every allowed score is the same number
    assert np.ptp(table["none"][allowed]) < 1e-12
    # RoPE: the score depends only on the offset m - n, far past the trained length too
    rope = table["rope"]
    for offset in range(0, 40, 3):
        diagonal = np.diagonal(rope, offset=-offset)
        np.testing.assert_allclose(diagonal, diagonal[0], rtol=1e-10, atol=1e-12)
    # ALiBi: the plain score minus the head's slope times the distance
    slope = alibi_slopes(8)[2]
    m, n = np.nonzero(allowed)
    np.testing.assert_allclose(
        table["alibi"][m, n], table["none"][m, n] - slope * (m - n), rtol=1e-12
    )
    # learned: rows past the table's length are undefined, the others defined
    assert np.isnan(table["learned"][16:][allowed[16:]]).all()
    assert np.isfinite(table["learned"][:16][allowed[:16]]).all()
    # sinusoidal: not a function of the offset alone (the token and the position mix)
    sinusoidal = table["sinusoidal"]
    assert np.ptp(np.diagonal(sinusoidal, offset=-3)) > 0.1


def test_lab_scores_follow_their_definitions():
    parts = lab_inputs(16, 16, "random", seed=4)
    table = lab_scores(20, trained=16, content="random", seed=4)
    x, wq, wk, P = parts["x"][:20], parts["wq"], parts["wk"], parts["learned"]
    m, n = 13, 5
    plain = (x[m] @ wq) @ (x[n] @ wk) / 4
    assert table["none"][m, n] == pytest.approx(plain, rel=1e-12)
    pe = sinusoidal_encoding(20, 16)
    assert table["sinusoidal"][m, n] == pytest.approx(
        ((x[m] + pe[m]) @ wq) @ ((x[n] + pe[n]) @ wk) / 4, rel=1e-12
    )
    assert table["learned"][m, n] == pytest.approx(
        ((x[m] + P[m]) @ wq) @ ((x[n] + P[n]) @ wk) / 4, rel=1e-12
    )
    # RoPE as a complex multiplication: pair i of a vector at position t times exp(j t f_i)
    f = frequencies(16)

    def rotate(v, t):
        z = (v[0::2] + 1j * v[1::2]) * np.exp(1j * t * f)
        return np.ravel(np.column_stack([z.real, z.imag]))

    rope = rotate(x[m] @ wq, m) @ rotate(x[n] @ wk, n) / 4
    assert table["rope"][m, n] == pytest.approx(rope, rel=1e-10)
    assert table["alibi"][m, n] == pytest.approx(plain - alibi_slopes(8)[2] * (m - n), rel=1e-12)


def test_lab_weights_are_the_attention_weights():
    parts = lab_inputs(16, 16, "random", seed=1)
    table = lab_scores(12, content="random", seed=1)
    x = parts["x"][:12]
    causal = np.tril(np.ones((12, 12), dtype=bool))
    _, expected = scaled_dot_product_attention(x @ parts["wq"], x @ parts["wk"], x, mask=causal)
    np.testing.assert_allclose(lab_weights(table["none"]), expected, rtol=1e-12)
    bias = alibi_bias(8, 12)[2]
    _, expected = scaled_dot_product_attention(x @ parts["wq"], x @ parts["wk"], x, bias=bias)
    np.testing.assert_allclose(lab_weights(table["alibi"]), expected, rtol=1e-12)
    weights = lab_weights(lab_scores(24)["learned"])
    assert np.isnan(weights[16:]).all() and np.allclose(weights[:16].sum(axis=1), 1)


@pytest.mark.reference
def test_lab_weights_match_torch():
    import torch

    parts = lab_inputs(16, 16, "random", seed=2)
    table = lab_scores(30, content="random", seed=2)
    x = torch.tensor(parts["x"][:30])
    q = torch.tensor(apply_rope(parts["x"][:30] @ parts["wq"]))
    k = torch.tensor(apply_rope(parts["x"][:30] @ parts["wk"]))
    ref = torch.softmax(
        (q @ k.T / 4).masked_fill(torch.ones(30, 30).triu(1).bool(), -torch.inf), dim=-1
    )
    np.testing.assert_allclose(lab_weights(table["rope"]), ref.numpy(), rtol=1e-10, atol=1e-15)
    bias = torch.tensor(alibi_bias(8, 30)[2])
    q, k = x @ torch.tensor(parts["wq"]), x @ torch.tensor(parts["wk"])
    ref = torch.softmax(q @ k.T / 4 + bias, dim=-1)
    np.testing.assert_allclose(lab_weights(table["alibi"]), ref.numpy(), rtol=1e-10, atol=1e-15)


def test_position_lab_is_the_tables_rounded_as_triangles():
    view = position_lab(T=20, trained=8, content="random", seed=3, alibi_head=5)
    table = lab_scores(20, trained=8, content="random", seed=3, alibi_head=5)
    assert [s["name"] for s in view["schemes"]] == [
        "none",
        "sinusoidal",
        "learned",
        "rope",
        "alibi",
    ]
    assert view["alibi_head"] == 5 and list(view["alibi_slopes"]) == list(alibi_slopes(8))
    weights = {name: lab_weights(scores) for name, scores in table.items()}
    for scheme in view["schemes"]:
        name, rows = scheme["name"], scheme["rows"]
        # the learned table has no row past its 8 positions: those queries are not sent
        assert rows == (8 if name == "learned" else 20)
        allowed = np.tril(np.ones((20, 20), dtype=bool))[rows:]
        assert np.isnan(table[name][rows:][allowed]).all()
        m, n = np.tril_indices(rows)  # the lower triangle, row by row
        for shown, exact in ((scheme["scores"], table[name]), (scheme["weights"], weights[name])):
            shown = np.asarray(shown)
            assert shown.dtype.kind == "i" and shown.shape == (rows * (rows + 1) // 2,)
            # thousandths: exactly numpy's round(x, 3) once divided by 1000
            np.testing.assert_array_equal(shown / 1000, exact[m, n].round(3))
            np.testing.assert_allclose(shown / 1000, exact[m, n], atol=5e-4)
        row_5 = np.asarray(scheme["weights"])[15:21] / 1000  # row 5 starts after 1 + 2 + .. + 5
        assert len(row_5) == 6 and row_5.sum() == pytest.approx(1, abs=5e-3)
    with pytest.raises(ValueError, match="content"):
        position_lab(content="shuffled")
    with pytest.raises(ValueError, match="T"):
        position_lab(T=65)


def test_the_heatmap_can_draw_the_readers_table():
    from lmlab.position import heatmap, sinusoidal_encoding

    def half_done(T, d):  # sines only: the cos columns left at zero
        pe = np.zeros((T, d))
        pe[:, 0::2] = sinusoidal_encoding(T, d)[:, 0::2]
        return pe

    theirs = heatmap(6, 8, encoding=half_done)
    np.testing.assert_array_equal(theirs["pe"], half_done(6, 8))
    np.testing.assert_allclose(theirs["dots"], half_done(6, 8) @ half_done(6, 8).T)
    same = heatmap(6, 8, encoding=sinusoidal_encoding)
    np.testing.assert_allclose(same["pe"], heatmap(6, 8)["pe"])

    def sinusoidal(T, d):  # a slip: d // 2 columns
        return np.zeros((T, d // 2))

    with pytest.raises(ValueError, match=r"sinusoidal\(6, 8\) should return a \(6, 8\) array"):
        heatmap(6, 8, encoding=sinusoidal)
