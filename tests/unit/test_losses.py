import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from lmlab.losses import cross_entropy, log_softmax, uniform_cross_entropy
from lmlab.nn import numerical_gradient


def test_log_softmax_matches_the_definition():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    expected = np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(logits), expected, rtol=1e-12)


def test_log_softmax_survives_huge_logits():
    out = log_softmax(np.array([1000.0, 0.0, -1000.0]))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [0.0, -1000.0, -2000.0])


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, (3, 5), elements=st.floats(-50, 50)),
    st.floats(-100, 100),
)
def test_log_softmax_is_a_distribution_and_shift_invariant(logits, shift):
    logp = log_softmax(logits)
    np.testing.assert_allclose(np.exp(logp).sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(logp <= 0)
    np.testing.assert_allclose(log_softmax(logits + shift), logp, atol=1e-9)


def test_cross_entropy_by_hand():
    # p(correct) = 0.5 and 0.25: the loss is the mean of ln 2 and ln 4.
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]))
    loss, _ = cross_entropy(logits, np.array([0, 2]))
    assert loss == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-12)


def test_uniform_logits_give_ln_v():
    loss, _ = cross_entropy(np.zeros((4, 27)), np.array([0, 5, 26, 3]))
    assert loss == pytest.approx(math.log(27), rel=1e-12)
    assert loss == pytest.approx(uniform_cross_entropy(27), rel=1e-12)


def test_uniform_guess_over_gpt2_vocabulary_is_about_10_82():
    assert round(uniform_cross_entropy(50257), 2) == 10.82
    with pytest.raises(ValueError, match="vocab_size"):
        uniform_cross_entropy(0)


def test_gradient_is_softmax_minus_one_hot_over_count():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 4))
    targets = np.array([1, 0, 3])
    _, dlogits = cross_entropy(logits, targets)
    expected = np.exp(log_softmax(logits))
    expected[np.arange(3), targets] -= 1
    np.testing.assert_allclose(dlogits, expected / 3, rtol=1e-12)
    # Each row is a softmax (summing to 1 within about V eps) minus 1, over 3: zero to a few ulps.
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0.0, atol=2 * 4 * np.finfo(np.float64).eps)


@pytest.mark.parametrize("shape", [(6,), (2, 3)])
def test_gradient_matches_finite_differences(shape):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((*shape, 5))
    targets = rng.integers(0, 5, size=shape)
    mask = rng.random(shape) < 0.7
    mask.reshape(-1)[0] = True
    _, dlogits = cross_entropy(logits, targets, mask=mask)
    numeric = numerical_gradient(lambda: cross_entropy(logits, targets, mask=mask)[0], logits)
    np.testing.assert_allclose(dlogits, numeric, rtol=1e-6, atol=1e-9)


def test_ignored_and_masked_positions_add_nothing():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, 4, 7))
    targets = rng.integers(0, 7, size=(2, 4))
    keep = np.array([[True, False, True, True], [False, True, True, False]])

    loss_masked, grad_masked = cross_entropy(logits, targets, mask=keep)
    loss_kept, _ = cross_entropy(logits[keep], targets[keep])
    assert loss_masked == pytest.approx(loss_kept, rel=1e-12)
    assert np.all(grad_masked[~keep] == 0)

    ignored = np.where(keep, targets, -100)
    loss_ignored, grad_ignored = cross_entropy(logits, ignored, ignore_index=-100)
    assert loss_ignored == pytest.approx(loss_kept, rel=1e-12)
    np.testing.assert_array_equal(grad_ignored, grad_masked)


def test_float32_in_float32_out():
    logits = np.zeros((2, 3), dtype=np.float32)
    loss, dlogits = cross_entropy(logits, np.array([0, 1]))
    assert isinstance(loss, float)
    assert dlogits.dtype == np.float32


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="vocabulary axis"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="no loss"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1]), mask=np.array([0, 0]))
    with pytest.raises(ValueError, match="mask"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1]), mask=np.array([1]))


@pytest.mark.reference
def test_matches_torch_cross_entropy_with_ignore_index():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 5, 11)) * 3
    targets = rng.integers(0, 11, size=(2, 5))
    targets[0, 1] = targets[1, 4] = -100

    loss, dlogits = cross_entropy(logits, targets, ignore_index=-100)

    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t = F.cross_entropy(logits_t.view(-1, 11), torch.tensor(targets).view(-1))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, logits_t.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        log_softmax(logits), F.log_softmax(torch.tensor(logits), dim=-1).numpy(), rtol=1e-12
    )
