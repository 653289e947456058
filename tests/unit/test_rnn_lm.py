import math

import numpy as np
import pytest
from lmlab.mlp_lm import char_vocabulary
from lmlab.nn import numerical_gradient
from lmlab.rnn_lm import PAD, RNNLanguageModel, build_sequences, evaluate, sample_words, train

NAMES = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily "
    "elizabeth mila ella avery sofia camila aria scarlett liam noah william james oliver "
    "benjamin elijah lucas mason logan alexander ethan jacob michael daniel henry jackson "
    "sebastian aiden matthew samuel david joseph carter owen wyatt john jack luke"
).split()


def _random_model(vocab_size, n_embd, n_hidden, seed, scale):
    """A float64 model with every parameter N(0, scale^2), and the generator that made it."""
    rng = np.random.default_rng(seed)
    model = RNNLanguageModel(
        vocab_size, n_embd=n_embd, n_hidden=n_hidden, rng=rng, dtype=np.float64
    )
    for _, param, _ in model.named_parameters():
        param[...] = scale * rng.standard_normal(param.shape)
    return model, rng


def test_build_sequences_pads_after_each_word():
    vocab = char_vocabulary(["ab", "b"])
    X, Y = build_sequences(["ab", "b"], vocab)
    np.testing.assert_array_equal(X, [[0, 1, 2], [0, 2, 0]])
    np.testing.assert_array_equal(Y, [[1, 2, 0], [2, 0, PAD]])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        build_sequences(["abc"], vocab)
    with pytest.raises(ValueError, match="at least one word"):
        build_sequences([], vocab)


def test_parameter_count_does_not_depend_on_the_context():
    model = RNNLanguageModel(27, n_embd=10, n_hidden=64, rng=0)
    assert model.num_parameters() == 27 * 10 + (10 + 64 + 1) * 64 + (64 + 1) * 27 == 6825


def test_initial_loss_is_close_to_a_uniform_guess():
    vocab = char_vocabulary(NAMES)
    X, Y = build_sequences(NAMES, vocab)
    logits, loss = RNNLanguageModel(len(vocab), rng=0)(X, Y)
    assert logits.shape == (*X.shape, len(vocab))
    assert abs(loss - math.log(len(vocab))) < 0.05


def test_padding_changes_nothing():
    # The padded batch's loss is the mean over every real character, word by word.
    vocab = char_vocabulary(NAMES)
    model = RNNLanguageModel(len(vocab), rng=1, dtype=np.float64)
    words = NAMES[:6]
    total = 0.0
    for word in words:
        X, Y = build_sequences([word], vocab)
        total += evaluate(model, X, Y) * (len(word) + 1)
    X, Y = build_sequences(words, vocab)
    count = sum(len(word) + 1 for word in words)
    assert evaluate(model, X, Y) == pytest.approx(total / count, rel=1e-12)


def test_gradients_match_finite_differences():
    model, rng = _random_model(6, n_embd=2, n_hidden=4, seed=2, scale=0.7)
    X = rng.integers(0, 6, size=(3, 5))
    X[0, :3] = 4  # a repeated id: its embedding row gets several contributions
    Y = rng.integers(0, 6, size=(3, 5))
    Y[1, 3:] = PAD

    model.zero_grad()
    model(X, Y)
    model.backward()
    for name, param, grad in model.named_parameters():
        numeric = numerical_gradient(lambda: model(X, Y)[1], param)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_generation_step_by_step_equals_one_pass():
    # Sampling feeds one character at a time with the carried state; running the finished
    # word through in one pass must give the same scores at every position.
    vocab = char_vocabulary(NAMES)
    model = RNNLanguageModel(len(vocab), rng=3, dtype=np.float64)
    ids = np.array([[0, 5, 1, 9, 9]])
    whole, _ = model(ids)
    h = None
    for t in range(ids.shape[1]):
        step, _ = model(ids[:, t : t + 1], h0=h)
        h = model.h_last
        np.testing.assert_allclose(step[:, 0], whole[:, t], rtol=1e-12, atol=1e-15)
    model(ids[:, :3])  # and in two pieces, the second continuing from the first's last state
    rest, _ = model(ids[:, 3:], h0=model.h_last)
    np.testing.assert_allclose(rest, whole[:, 3:], rtol=1e-12, atol=1e-15)


def test_training_lowers_the_loss_and_is_reproducible():
    vocab = char_vocabulary(NAMES)
    X, Y = build_sequences(NAMES, vocab)
    model = RNNLanguageModel(len(vocab), rng=0)
    start = evaluate(model, X, Y)
    trace = train(model, X, Y, steps=300, batch_size=16, seed=0)
    assert [row["step"] for row in trace] == list(range(300))
    assert evaluate(model, X, Y) < start - 0.8

    again = RNNLanguageModel(len(vocab), rng=0)
    assert train(again, X, Y, steps=300, batch_size=16, seed=0) == trace


def test_sampled_words_are_made_of_the_vocabulary():
    vocab = char_vocabulary(NAMES)
    X, Y = build_sequences(NAMES, vocab)
    model = RNNLanguageModel(len(vocab), rng=0)
    train(model, X, Y, steps=200, batch_size=16)
    words = sample_words(model, vocab, n=20, seed=3, max_len=12)
    assert len(words) == 20
    assert all(set(word) <= set(vocab[1:]) and len(word) <= 12 for word in words)
    assert words == sample_words(model, vocab, n=20, seed=3, max_len=12)


def test_misuse_is_reported():
    model = RNNLanguageModel(5, rng=0)
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        model(np.zeros(4, dtype=np.int64))
    model(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="no targets"):
        model.backward()
    with pytest.raises(ValueError, match="steps"):
        train(model, np.zeros((1, 3), dtype=np.int64), np.zeros((1, 3), dtype=np.int64), steps=-1)


@pytest.mark.reference
def test_matches_torch():
    import torch
    import torch.nn.functional as F

    model, rng = _random_model(9, n_embd=3, n_hidden=5, seed=4, scale=0.5)
    X = rng.integers(0, 9, size=(4, 6))
    Y = rng.integers(0, 9, size=(4, 6))
    Y[2, 2:] = PAD
    model.zero_grad()
    logits, loss = model(X, Y)
    model.backward()

    p = {name: torch.tensor(w, requires_grad=True) for name, w, _ in model.named_parameters()}
    rnn = torch.nn.RNN(3, 5, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    weights = {  # ours, transposed to torch's layout, so that their gradients come back to p
        "weight_ih_l0": p["rnn.weight_xh"].T,
        "weight_hh_l0": p["rnn.weight_hh"].T,
        "bias_ih_l0": p["rnn.bias"],
        "bias_hh_l0": torch.zeros(5, dtype=torch.float64),
    }
    x = F.embedding(torch.tensor(X), p["emb.weight"])
    hs, _ = torch.func.functional_call(rnn, weights, (x,))
    logits_t = hs @ p["out.weight"] + p["out.bias"]
    loss_t = F.cross_entropy(logits_t.reshape(-1, 9), torch.tensor(Y).reshape(-1), ignore_index=PAD)
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, _, grad in model.named_parameters():
        np.testing.assert_allclose(grad, p[name].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)
