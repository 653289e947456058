import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from lmlab.sampling import (
    describe_distribution,
    effective_num_tokens,
    entropy,
    entropy_bits,
    greedy,
    sample,
    sample_index,
    sample_token,
    softmax,
    temperature_explorer,
    top_k_filter,
    top_p_filter,
)

LOGITS = [2.0, 1.0, 0.5, 0.1]
finite_logits = arrays(np.float64, st.integers(2, 12), elements=st.floats(-30, 30))


def test_softmax_by_hand():
    e = np.exp(np.array(LOGITS))
    np.testing.assert_allclose(softmax(LOGITS), e / e.sum(), rtol=1e-12)
    # Worked by hand: e^2, e^1, e^0.5, e^0.1 = 7.389, 2.718, 1.649, 1.105 (sum 12.861).
    np.testing.assert_allclose(softmax(LOGITS), [0.5745, 0.2114, 0.1282, 0.0859], atol=1e-4)
    np.testing.assert_allclose(softmax(LOGITS, 2.0), [0.4056, 0.2460, 0.1916, 0.1568], atol=1e-4)


def test_softmax_survives_huge_logits_and_minus_infinity():
    probs = softmax([1000.0, 999.0, -np.inf])
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, [1 / (1 + math.e**-1), 1 / (1 + math.e), 0.0], rtol=1e-12)


def test_softmax_any_batch_shape_and_axis():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5))
    probs = softmax(logits, temperature=0.7)
    assert probs.shape == (2, 3, 5)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(logits, 0.7, axis=1), np.moveaxis(
        softmax(np.moveaxis(logits, 1, -1), 0.7), -1, 1), rtol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 3.0])
def test_softmax_matches_torch(temperature):
    import torch

    logits = np.random.default_rng(1).normal(scale=5.0, size=(4, 3, 11))
    expected = torch.softmax(torch.tensor(logits) / temperature, dim=-1).numpy()
    np.testing.assert_allclose(softmax(logits, temperature), expected, rtol=1e-12, atol=1e-300)
    expected = torch.softmax(torch.tensor(logits) / temperature, dim=0).numpy()
    np.testing.assert_allclose(softmax(logits, temperature, axis=0), expected, rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_temperature_must_be_positive(bad):
    with pytest.raises(ValueError, match="temperature"):
        softmax(LOGITS, bad)
    with pytest.raises(ValueError, match="temperature"):
        sample(LOGITS, temperature=bad, seed=0)


@settings(max_examples=60, deadline=None)
@given(finite_logits, st.floats(0.05, 20), st.floats(-1e3, 1e3))
def test_softmax_sums_to_one_and_ignores_a_constant_shift(logits, temperature, shift):
    probs = softmax(logits, temperature)
    assert np.all(probs >= 0)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(softmax(logits + shift, temperature), probs, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(finite_logits, st.floats(0.05, 20), st.floats(0.05, 20))
def test_temperature_never_changes_the_ranking(logits, t1, t2):
    p1, p2 = softmax(logits, t1), softmax(logits, t2)
    # Wherever a logit is strictly higher, its probability is at least as high (equal only when
    # both underflow), at every temperature.
    higher = logits[:, None] > logits[None, :]
    assert np.all((p1[:, None] >= p1[None, :])[higher])
    assert np.all((p2[:, None] >= p2[None, :])[higher])
    order = np.argsort(-logits, kind="stable").tolist()
    assert temperature_explorer(logits.tolist(), t1)["order"] == order
    assert temperature_explorer(logits.tolist(), t2)["order"] == order


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(2, 10), elements=st.integers(-20, 20).map(float)))
def test_small_temperature_approaches_one_hot(logits):
    top = logits.max()
    winners = logits == top
    probs = softmax(logits, 1e-3)
    # The tied top tokens share the mass equally; everything else vanishes.
    np.testing.assert_allclose(probs[winners], 1 / winners.sum(), rtol=1e-9)
    assert np.all(probs[~winners] < 1e-300)
    cold = softmax(logits, 0.2)
    warm = softmax(logits, 1.0)
    assert cold[winners].sum() >= warm[winners].sum() - 1e-12


def test_high_temperature_approaches_uniform():
    np.testing.assert_allclose(softmax(LOGITS, 1e6), 0.25, atol=1e-6)


def test_entropy_units_and_extremes():
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy(np.full(8, 1 / 8)) == pytest.approx(math.log(8))
    assert entropy_bits(np.full(8, 1 / 8)) == pytest.approx(3.0)
    assert entropy([0.5, 0.5], base=2) == pytest.approx(1.0)
    assert effective_num_tokens([1.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert effective_num_tokens(np.full(50, 0.02)) == pytest.approx(50.0)
    p = np.array([0.7, 0.2, 0.1])
    assert entropy(p) == pytest.approx(-(p * np.log(p)).sum())
    batch = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(entropy(batch), [0.0, math.log(2)])


@settings(max_examples=40, deadline=None)
@given(finite_logits, st.floats(0.05, 20))
def test_effective_tokens_lie_between_one_and_vocabulary_size(logits, temperature):
    n = effective_num_tokens(softmax(logits, temperature))
    assert 1 - 1e-9 <= n <= len(logits) + 1e-9


def test_greedy_takes_the_first_top_token():
    assert greedy([0.1, 3.0, 3.0, -1.0]) == 1
    np.testing.assert_array_equal(greedy(np.array([[0.0, 1.0], [5.0, 1.0]])), [1, 0])


def test_top_k_keeps_the_k_best_and_their_ties():
    logits = np.array([1.0, 4.0, 3.0, 2.0, 3.0])
    out = top_k_filter(logits, 2)
    np.testing.assert_array_equal(out, [-np.inf, 4.0, 3.0, -np.inf, 3.0])
    np.testing.assert_array_equal(top_k_filter(logits, 1), [-np.inf, 4.0, -np.inf, -np.inf,
                                                            -np.inf])
    np.testing.assert_array_equal(top_k_filter(logits, 99), logits)
    batch = top_k_filter(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), 2)
    np.testing.assert_array_equal(batch, [[-np.inf, 2.0, 3.0], [3.0, 2.0, -np.inf]])


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_top_k_rejects_bad_k(bad):
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(LOGITS, bad)


def test_top_p_keeps_the_smallest_nucleus():
    # Cumulative mass in rank order: 0.4, 0.7, 0.85, 0.95, 1. Each p sits at least 0.02 from those
    # sums: softmax(log(p)) returns p only to within a few ulps, and which way the last bit goes
    # depends on the CPU's numpy kernels, so a p exactly on a sum would test the machine.
    probs = np.array([0.05, 0.4, 0.3, 0.15, 0.1])
    logits = np.log(probs)
    kept = lambda p: np.flatnonzero(np.isfinite(top_p_filter(logits, p))).tolist()  # noqa: E731
    assert kept(0.3) == [1]  # the top token alone already has 0.4
    assert kept(0.5) == [1, 2]
    assert kept(0.82) == [1, 2, 3]
    assert kept(0.9) == [1, 2, 3, 4]
    assert kept(0.97) == [0, 1, 2, 3, 4]
    assert kept(1.0) == [0, 1, 2, 3, 4]
    # Survivors keep their logits; renormalised they are the slide's "top-p" distribution.
    np.testing.assert_allclose(softmax(top_p_filter(logits, 0.5)), [0, 4 / 7, 3 / 7, 0, 0])


def test_top_p_reaching_p_exactly_is_enough_and_ties_go_to_the_lower_index():
    # Equal logits give probabilities of exactly 1/4 on every machine (exp(0) = 1, 1 / 4), and
    # their running sums 0.25, 0.5, 0.75 are exact too: the boundary itself, with no rounding.
    logits = np.zeros(4)
    kept = lambda p: np.flatnonzero(np.isfinite(top_p_filter(logits, p))).tolist()  # noqa: E731
    assert kept(0.25) == [0]
    assert kept(0.5) == [0, 1]
    assert kept(0.75) == [0, 1, 2]
    assert kept(0.750001) == [0, 1, 2, 3]
    # Among equal logits the earlier token ranks first, as top_p_filter documents.
    assert kept(0.3) == [0, 1]


@settings(max_examples=60, deadline=None)
@given(finite_logits, st.floats(0.01, 1.0))
def test_top_p_nucleus_reaches_p_and_is_minimal(logits, p):
    probs = softmax(logits)
    keep = np.isfinite(top_p_filter(logits, p))
    assert keep[np.argmax(logits)]
    assert probs[keep].sum() >= p - 1e-12
    # Dropping the least likely kept token would fall short of p: the set is the smallest.
    assert probs[keep].sum() - probs[keep].min() < p + 1e-12
    # Everything kept is at least as likely as everything dropped.
    if (~keep).any():
        assert probs[keep].min() >= probs[~keep].max()


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, float("nan")])
def test_top_p_rejects_p_outside_zero_one(bad):
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(LOGITS, bad)
    with pytest.raises(ValueError, match="top_p"):
        sample(LOGITS, top_p=bad, seed=0)


def test_sample_is_reproducible_and_respects_filters():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    draws = sample(np.tile(logits, (4000, 1)), seed=7)
    assert draws.shape == (4000,)
    np.testing.assert_array_equal(draws, sample(np.tile(logits, (4000, 1)), seed=7))
    freq = np.bincount(draws, minlength=4) / 4000
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    top2 = sample(np.tile(logits, (2000, 1)), top_k=2, seed=1)
    assert set(top2.tolist()) == {0, 1}
    nucleus = sample(np.tile(logits, (2000, 1)), top_p=0.7, seed=2)
    assert set(nucleus.tolist()) == {0, 1}
    cold = sample(np.tile(logits, (500, 1)), temperature=0.01, seed=3)
    assert set(cold.tolist()) == {0}


def test_sample_continues_a_generator_stream():
    rng = np.random.default_rng(5)
    first = [int(sample(LOGITS, rng=rng)) for _ in range(20)]
    rng = np.random.default_rng(5)
    assert [int(sample(LOGITS, rng=rng)) for _ in range(20)] == first
    with pytest.raises(ValueError, match="either"):
        sample(LOGITS, rng=rng, seed=1)


def test_sample_index_never_picks_an_impossible_token():
    probs = np.array([[0.0, 0.3, 0.0, 0.7, 0.0]] * 3000)
    idx, rolls = sample_index(probs, np.random.default_rng(0))
    assert set(idx.tolist()) == {1, 3}
    assert np.all((rolls >= 0) & (rolls < 1))
    np.testing.assert_array_equal(idx == 1, rolls < 0.3)
    # Probabilities a hair short of summing to 1 must not push a draw past the last token.
    idx, _ = sample_index(np.array([[0.3, 0.7 - 1e-9, 0.0]] * 1000), np.random.default_rng(1))
    assert set(idx.tolist()) == {0, 1}


def test_widget_functions_return_plain_values():
    out = temperature_explorer(LOGITS, 1.0)
    assert set(out) == {"probs", "entropy", "entropy_bits", "top_prob", "effective_tokens",
                        "order", "cut"}
    assert isinstance(out["probs"], list) and all(type(p) is float for p in out["probs"])
    assert out["order"] == [0, 1, 2, 3]
    assert out["top_prob"] == pytest.approx(max(out["probs"]))
    assert out["effective_tokens"] == pytest.approx(math.exp(out["entropy"]))
    assert out["entropy_bits"] == pytest.approx(out["entropy"] / math.log(2))
    hot, cold = temperature_explorer(LOGITS, 3.0), temperature_explorer(LOGITS, 0.1)
    assert cold["entropy"] < out["entropy"] < hot["entropy"]
    assert cold["top_prob"] > 0.99
    token = sample_token(LOGITS, 1.0, seed=3)
    assert type(token) is int and token == sample_token(LOGITS, 1.0, seed=3)
    assert {sample_token(LOGITS, 0.05, seed=s) for s in range(20)} == {0}
    with pytest.raises(ValueError, match="flat"):
        temperature_explorer([[1.0, 2.0]], 1.0)


def test_describe_distribution_checks_a_readers_softmax():
    probs = softmax(LOGITS, 0.7).tolist()
    shown = temperature_explorer(LOGITS, 0.7)
    described = describe_distribution(probs, rank_by=LOGITS)
    assert described == {k: v for k, v in shown.items() if k != "cut"}
    assert shown["cut"] == [False] * len(LOGITS)
    assert describe_distribution([0.2, 0.5, 0.3])["order"] == [1, 2, 0]
    for bad, message in [
        ([[0.5, 0.5]], "flat"),
        ([0.5, float("nan")], "finite"),
        ([1.5, -0.5], "negative"),
        (np.exp(LOGITS).tolist(), "sum to 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            describe_distribution(bad)


def test_temper_is_softmax_of_log_probabilities_over_t():
    from lmlab.sampling import softmax, temper

    p = np.array([0.5, 0.3, 0.2, 0.0])
    for t in (0.3, 1.0, 2.5):
        out = temper(p, t)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(out, softmax(np.log(p), t), rtol=1e-12)
        assert out[3] == 0.0
    with pytest.raises(ValueError):
        temper(p, 0.0)


def test_the_cuts_leave_what_the_sampler_draws_from():
    logits = np.array(LOGITS)
    for k, p in [(3, None), (None, 0.6), (4, 0.8), (1, None), (None, 1.0)]:
        shown = temperature_explorer(LOGITS, 0.8, top_k=k, top_p=p)
        scaled = logits / 0.8
        if k:
            scaled = top_k_filter(scaled, k)
        if p is not None:
            scaled = top_p_filter(scaled, p)
        np.testing.assert_allclose(shown["probs"], softmax(scaled), atol=1e-12)
        assert shown["cut"] == (softmax(scaled) == 0).tolist()
        # the widget's Sample draws from exactly these: every draw is a kept token
        drawn = {sample_token(LOGITS, 0.8, seed, top_k=k, top_p=p) for seed in range(60)}
        assert drawn <= {i for i, c in enumerate(shown["cut"]) if not c}
    assert sum(temperature_explorer(LOGITS, 1.0, top_k=2)["cut"]) == len(LOGITS) - 2
