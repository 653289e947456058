import math

import numpy as np
import pytest
from lmlab.mlp_lm import (
    MLPLanguageModel,
    build_dataset,
    char_vocabulary,
    context_windows,
    evaluate,
    sample_words,
    train,
)
from lmlab.nn import numerical_gradient

NAMES = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily "
    "elizabeth mila ella avery sofia camila aria scarlett liam noah william james oliver "
    "benjamin elijah lucas mason logan alexander ethan jacob michael daniel henry jackson "
    "sebastian aiden matthew samuel david joseph carter owen wyatt john jack luke"
).split()


def test_vocabulary_starts_with_the_boundary():
    assert char_vocabulary(["cab", "ba"]) == [".", "a", "b", "c"]
    with pytest.raises(ValueError, match="may not use"):
        char_vocabulary(["a.b"])


def test_context_windows_slide_along_the_word():
    assert context_windows("aabid", 3) == [
        ("...", "a"), ("..a", "a"), (".aa", "b"), ("aab", "i"), ("abi", "d"), ("bid", "."),
    ]
    assert context_windows("", 2) == [("..", ".")]
    with pytest.raises(ValueError, match="block_size"):
        context_windows("ab", 0)


def test_build_dataset():
    vocab = char_vocabulary(["ab", "ba"])
    X, Y = build_dataset(["ab", "ba"], vocab, block_size=2)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 2], [0, 0], [0, 2], [2, 1]])
    np.testing.assert_array_equal(Y, [1, 2, 0, 2, 1, 0])
    assert X.shape == (sum(len(w) + 1 for w in ["ab", "ba"]), 2)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        build_dataset(["abc"], vocab)


def test_parameter_count_formula():
    model = MLPLanguageModel(27, block_size=3, n_embd=10, n_hidden=200, rng=0)
    assert model.num_parameters() == 27 * 10 + (30 + 1) * 200 + (200 + 1) * 27 == 11897


def test_initial_loss_is_close_to_a_uniform_guess():
    vocab = char_vocabulary(NAMES)
    X, Y = build_dataset(NAMES, vocab)
    logits, loss = MLPLanguageModel(len(vocab), rng=0)(X, Y)
    assert logits.shape == (len(X), len(vocab))
    assert abs(loss - math.log(len(vocab))) < 0.05


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    model = MLPLanguageModel(7, block_size=3, n_embd=2, n_hidden=5, rng=rng, dtype=np.float64)
    for _, param, _ in model.named_parameters():
        param[...] = rng.standard_normal(param.shape)
    X = rng.integers(0, 7, size=(6, 3))
    X[0] = [4, 4, 4]  # a repeated id: its embedding row gets three gradient contributions
    Y = rng.integers(0, 7, size=6)

    model.zero_grad()
    model(X, Y)
    model.backward()
    for name, param, grad in model.named_parameters():
        numeric = numerical_gradient(lambda: model(X, Y)[1], param)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_training_lowers_the_loss_and_is_reproducible():
    vocab = char_vocabulary(NAMES)
    X, Y = build_dataset(NAMES, vocab)
    model = MLPLanguageModel(len(vocab), rng=0)
    start = evaluate(model, X, Y)
    trace = train(model, X, Y, steps=300, batch_size=32, lr=0.2, seed=0)
    assert [row["step"] for row in trace] == list(range(300))
    assert evaluate(model, X, Y) < start - 0.8

    again = MLPLanguageModel(len(vocab), rng=0)
    assert train(again, X, Y, steps=300, batch_size=32, lr=0.2, seed=0) == trace


def test_sampled_words_are_made_of_the_vocabulary():
    vocab = char_vocabulary(NAMES)
    X, Y = build_dataset(NAMES, vocab)
    model = MLPLanguageModel(len(vocab), rng=0)
    train(model, X, Y, steps=200, lr=0.2)
    words = sample_words(model, vocab, n=20, seed=3, max_len=12)
    assert len(words) == 20
    assert all(set(word) <= set(vocab[1:]) and len(word) <= 12 for word in words)
    assert words == sample_words(model, vocab, n=20, seed=3, max_len=12)


def test_misuse_is_reported():
    model = MLPLanguageModel(5, block_size=3, rng=0)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        model(np.zeros((2, 4), dtype=np.int64))
    model(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="no targets"):
        model.backward()
    with pytest.raises(ValueError, match="steps"):
        train(model, np.zeros((1, 3), dtype=np.int64), np.zeros(1, dtype=np.int64), steps=-1)


@pytest.mark.reference
def test_matches_torch():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(4)
    model = MLPLanguageModel(11, block_size=4, n_embd=3, n_hidden=8, rng=rng, dtype=np.float64)
    X = rng.integers(0, 11, size=(16, 4))
    Y = rng.integers(0, 11, size=16)
    model.zero_grad()
    logits, loss = model(X, Y)
    model.backward()

    p = {name: torch.tensor(w, requires_grad=True) for name, w, _ in model.named_parameters()}
    emb = F.embedding(torch.tensor(X), p["emb.weight"]).view(16, -1)
    hidden = torch.tanh(emb @ p["hidden.weight"] + p["hidden.bias"])
    logits_t = hidden @ p["out.weight"] + p["out.bias"]
    loss_t = F.cross_entropy(logits_t, torch.tensor(Y))
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-12)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, _, grad in model.named_parameters():
        np.testing.assert_allclose(grad, p[name].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)
