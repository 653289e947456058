"""lmlab.attention.attention_view, the numbers behind chapter 7's attention-matrix widget: by
hand, against PyTorch's scaled_dot_product_attention, its masks, the words GloVe does not know,
and JSON without a single non-finite number."""

import json
import math

import numpy as np
import pytest
from lmlab.attention import (
    ATTENTION_VIEW_MAX_WORDS,
    ATTENTION_VIEW_MODES,
    _random_projections,
    attention_view,
)
from lmlab.data import glove

CASES = [(mode, causal) for mode in ATTENTION_VIEW_MODES for causal in (False, True)]


def vectors_of(tokens: list[str]) -> np.ndarray:
    """(T, 50) the tokens' GloVe vectors in float64, as the view uses them."""
    return np.stack([glove().vector(w) for w in tokens]).astype(np.float64)


def test_three_words_by_hand():
    view = attention_view("cat sat down", mode="raw")
    assert view["tokens"] == ["cat", "sat", "down"] and view["unknown"] == []
    x = vectors_of(view["tokens"])
    for t in range(3):
        dots = [sum(a * b for a, b in zip(x[t], x[s], strict=True)) for s in range(3)]
        exps = [math.exp(v - max(dots)) for v in dots]
        expected = [e / sum(exps) for e in exps]
        np.testing.assert_allclose(view["scores"][t], dots, rtol=1e-12)
        np.testing.assert_allclose(view["weights"][t], expected, rtol=1e-12)
        out = [sum(expected[s] * x[s, j] for s in range(3)) for j in range(50)]
        nearest = glove().nearest_neighbours(np.array(out), k=3)
        assert [w for w, _ in view["rows"][t]["nearest"]] == [w for w, _ in nearest]
        np.testing.assert_allclose([s for _, s in view["rows"][t]["nearest"]],
                                   [s for _, s in nearest], rtol=1e-5)
        assert view["rows"][t]["top"] == int(np.argmax(expected))
        assert view["rows"][t]["entropy"] == pytest.approx(-sum(p * math.log(p) for p in expected))


def test_raw_scores_are_symmetric_and_words_mostly_attend_to_themselves():
    raw = attention_view(mode="raw")
    scaled = attention_view(mode="scaled")
    assert raw["symmetric"] and scaled["symmetric"]
    np.testing.assert_allclose(np.array(scaled["scores"]), np.array(raw["scores"]) / math.sqrt(50),
                               rtol=1e-12)
    assert raw["scale"] == 1.0 and scaled["scale"] == pytest.approx(1 / math.sqrt(50))
    diagonal = np.diag(raw["weights"])
    assert raw["self_weight_mean"] == pytest.approx(diagonal.mean())
    assert raw["self_top"] == sum(row["top"] == t for t, row in enumerate(raw["rows"]))
    # unscaled GloVe dot products are large (a vector's squared length is about 20 to 40), so
    # most rows put most of their weight on the word itself; dividing by sqrt(50) spreads it
    assert raw["self_top"] > len(raw["tokens"]) / 2
    assert scaled["self_weight_mean"] < raw["self_weight_mean"] / 2


def test_projected_scores_are_not_symmetric_and_use_the_seeded_projections():
    view = attention_view(mode="projected", d_k=8, seed=3)
    assert not view["symmetric"] and view["d_k"] == 8
    x = vectors_of(view["tokens"])
    w_q, w_k = _random_projections(50, 8, 3)
    np.testing.assert_allclose(view["scores"], (x @ w_q) @ (x @ w_k).T / math.sqrt(8), rtol=1e-12)
    again = attention_view(mode="projected", d_k=8, seed=3)
    np.testing.assert_array_equal(again["weights"], view["weights"])
    # the chapter's cell draws W_Q, then W_K, from default_rng(0), each standard normal / sqrt(50)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(w_q, rng.standard_normal((50, 8)) / np.sqrt(50))
    np.testing.assert_array_equal(w_k, rng.standard_normal((50, 8)) / np.sqrt(50))
    other = attention_view(mode="projected", d_k=8, seed=4)
    assert not np.allclose(other["weights"], view["weights"])


@pytest.mark.parametrize(("mode", "causal"), CASES)
def test_rows_sum_to_one_and_the_causal_mask_zeroes_the_future(mode, causal):
    view = attention_view(mode=mode, causal=causal)
    T = len(view["tokens"])
    weights, masked = np.array(view["weights"]), np.array(view["masked"])
    np.testing.assert_allclose(view["row_sums"], np.ones(T), rtol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), np.ones(T), rtol=1e-12)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    np.testing.assert_array_equal(masked, future if causal else np.zeros((T, T), dtype=bool))
    assert (weights[masked] == 0).all() and (np.array(view["scores"])[masked] == 0).all()
    assert (weights[~masked] > 0).all()
    if causal:
        assert weights[0, 0] == 1.0
        assert view["rows"][0]["max_entropy"] == 0.0
        assert view["rows"][T - 1]["max_entropy"] == pytest.approx(math.log(T))


@pytest.mark.parametrize(("mode", "causal"), CASES)
def test_json_has_no_nan_or_infinity(mode, causal):
    view = attention_view("a cat, a dog!", mode=mode, causal=causal)
    text = json.dumps(view, default=lambda a: a.tolist(), allow_nan=False)
    assert "Infinity" not in text and "NaN" not in text


def test_unknown_words_are_listed_not_fatal():
    view = attention_view("The qzxvy cat sat on the mat, qzxvy!")
    assert view["tokens"] == ["the", "cat", "sat", "on", "the", ",", "!"]
    assert view["unknown"] == ["qzxvy", "mat"] and view["truncated"] == 0
    with pytest.raises(ValueError, match="none of these words"):
        attention_view("qzxvy mat")
    with pytest.raises(ValueError, match="mode must be"):
        attention_view(mode="cubic")


def test_long_sentences_are_cut_at_the_limit():
    words = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    view = attention_view(words)
    assert len(view["tokens"]) == ATTENTION_VIEW_MAX_WORDS == 12
    assert view["truncated"] == 2 and view["tokens"][-1] == "twelve"


@pytest.mark.reference
@pytest.mark.parametrize(("mode", "causal"), CASES)
def test_matches_torch_scaled_dot_product_attention(mode, causal):
    import torch

    view = attention_view(mode=mode, causal=causal, d_k=16, seed=0)
    x = vectors_of(view["tokens"])
    q = k = x
    if mode == "projected":
        w_q, w_k = _random_projections(50, 16, 0)
        q, k = x @ w_q, x @ w_k
    scale = {"raw": 1.0, "scaled": 1 / math.sqrt(50), "projected": 1 / math.sqrt(16)}[mode]
    tq, tk, tv = (torch.from_numpy(a)[None] for a in (q, k, x))
    expected = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, is_causal=causal, scale=scale)[0].numpy()
    # the outputs the weights make, and the weights themselves against torch's softmax
    np.testing.assert_allclose(np.array(view["weights"]) @ x, expected, rtol=1e-10, atol=1e-10)
    scores = torch.from_numpy(q @ k.T * scale)
    if causal:
        future = ~torch.ones(len(x), len(x), dtype=torch.bool).tril()
        scores = scores.masked_fill(future, -torch.inf)
    np.testing.assert_allclose(view["weights"], torch.softmax(scores, dim=-1).numpy(), atol=1e-12)
