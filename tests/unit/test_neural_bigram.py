"""The learned bigram model: its hand-written gradient against PyTorch and finite differences,
the count-table form against the one-hot form, and descent towards the counting model's loss."""

import numpy as np
import pytest
from lmlab import neural_bigram
from lmlab.ngram import NGramModel
from lmlab.nn import numerical_gradient

WORDS = ["emma", "ava", "eve", "anna", "bob", "olivia", "ben"]


@pytest.fixture
def setup():
    model = NGramModel(WORDS)
    grams = model.ngrams(WORDS)
    W = np.random.default_rng(0).normal(size=(model.vocab_size,) * 2)
    return model, grams[:, 0], grams[:, 1], W


def test_logits_are_rows_of_W(setup):
    _, xs, _, W = setup
    np.testing.assert_array_equal(neural_bigram.logits(W, xs), W[xs])


def test_gradient_matches_finite_differences(setup):
    _, xs, ys, W = setup
    loss, dW = neural_bigram.loss_and_grad(W, xs, ys)
    numeric = numerical_gradient(lambda: neural_bigram.loss_and_grad(W, xs, ys)[0], W)
    np.testing.assert_allclose(dW, numeric, atol=1e-8)


@pytest.mark.reference
def test_loss_and_gradient_match_torch(setup):
    import torch
    import torch.nn.functional as F

    _, xs, ys, W = setup
    loss, dW = neural_bigram.loss_and_grad(W, xs, ys)
    w = torch.tensor(W, requires_grad=True)
    x = F.one_hot(torch.tensor(xs), W.shape[0]).double()
    expected = F.cross_entropy(x @ w, torch.tensor(ys))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dW, w.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_the_count_form_equals_the_one_hot_form(setup):
    model, xs, ys, W = setup
    loss_x, dW_x = neural_bigram.loss_and_grad(W, xs, ys)
    loss_c, dW_c = neural_bigram.count_loss_and_grad(W, model.counts)
    assert loss_c == pytest.approx(loss_x, rel=1e-12)
    np.testing.assert_allclose(dW_c, dW_x, rtol=0, atol=1e-14)


def test_descent_starts_uniform_and_approaches_the_counting_loss(setup):
    model, _, _, _ = setup
    W, losses = neural_bigram.train_counts(model.counts, 2000, 20.0)
    assert losses[0] == pytest.approx(np.log(model.vocab_size))
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:], strict=False))
    floor = model.nll(WORDS)
    assert floor < losses[-1] < floor + 0.02
    seen = model.counts > 0
    probs = np.exp(neural_bigram.log_softmax(W))
    np.testing.assert_allclose(probs[seen], model.probs[seen], atol=0.05)


def test_names_learning_curve_reports_its_floor():
    curve = neural_bigram.names_learning_curve(steps=20, lr=50.0)
    assert len(curve["losses"]) == 21
    assert curve["uniform_loss"] == pytest.approx(np.log(27))
    assert curve["losses"][0] == pytest.approx(curve["uniform_loss"])
    assert curve["counting_loss"] < curve["losses"][-1] < curve["losses"][0]


def test_a_readers_gradient_drives_the_descent_and_a_wrong_one_is_pinpointed():
    def rows(W, xs, ys):  # the chapter's exercise, written independently of lmlab's version
        logits = W[xs] - W[xs].max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(len(ys)), ys]).mean()
        probs[np.arange(len(ys)), ys] -= 1
        dW = np.zeros_like(W)
        np.add.at(dW, xs, probs / len(ys))
        return loss, dW

    good = neural_bigram.reader_learning_curve(rows, steps=60, lr=50.0)
    assert good["first_step"]["same"] and good["first_step"]["loss_same"]
    assert good["first_step"]["differing"] == 0 and good["first_step"]["worst"] == []
    assert np.allclose(good["losses"], good["lmlab_losses"], rtol=1e-9)
    assert len(good["losses"]) == 61 and good["stopped_at"] is None
    assert good["losses"][0] == pytest.approx(np.log(27))
    assert good["names"] == neural_bigram.READER_NAMES and good["bigrams"] > 1000

    # The gradient without / N: every entry is off, the largest difference is named, and the
    # descent it drives never gets near the counting loss.
    def undivided(W, xs, ys):
        loss, dW = rows(W, xs, ys)
        return loss, dW * len(xs)

    bad = neural_bigram.reader_learning_curve(undivided, steps=60, lr=50.0)
    first = bad["first_step"]
    assert not first["same"] and first["loss_same"]
    worst = first["worst"][0]
    assert abs(worst["theirs"] - worst["expected"]) == pytest.approx(first["max_diff"])
    assert worst["theirs"] == pytest.approx(worst["expected"] * good["bigrams"])
    assert min(bad["losses"]) - bad["counting_loss"] > 0.5

    # A gradient that turns NaN stops the descent where it happened.
    calls = []

    def nan_later(W, xs, ys):
        calls.append(1)
        loss, dW = rows(W, xs, ys)
        return loss, dW * (np.nan if len(calls) > 3 else 1)

    stopped = neural_bigram.reader_learning_curve(nan_later, steps=20)
    assert stopped["stopped_at"] == 3 and len(stopped["losses"]) == 4
    with pytest.raises(ValueError, match="shape"):
        neural_bigram.reader_learning_curve(lambda W, xs, ys: (0.0, np.zeros(3)), steps=2)
    with pytest.raises(ValueError, match="two things"):
        neural_bigram.reader_learning_curve(lambda W, xs, ys: 0.0, steps=2)
