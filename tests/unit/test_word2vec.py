import math

import numpy as np
import pytest
from lmlab.embeddings import WordVectors
from lmlab.nn import numerical_gradient
from lmlab.word2vec import (
    TOY_CATEGORIES,
    TOY_CORPUS,
    add_rows,
    build_vocab,
    cbow_examples,
    cooccurrence_counts,
    noise_distribution,
    pmi,
    ppmi,
    sample_negatives,
    sgns_example_update,
    sgns_loss_and_grads,
    sgns_step_parts,
    sgns_trace,
    sgns_update,
    skipgram_dynamics,
    skipgram_examples,
    text_to_sentences,
    train_word2vec,
)


def test_toy_corpus_has_twenty_words():
    words, corpus = build_vocab(TOY_CORPUS)
    assert len(words) == 20
    assert sum(len(s) for s in corpus) == 81
    assert words[:3] == ["the", "on", "a"]


def test_build_vocab_orders_by_count_then_first_appearance():
    words, corpus = build_vocab(["b a c", "A c d"])
    assert words == ["a", "c", "b", "d"]
    assert [s.tolist() for s in corpus] == [[2, 0, 1], [0, 1, 3]]
    with pytest.raises(ValueError, match="no words"):
        build_vocab(["", "  "])


def test_noise_distribution_and_sampling():
    counts = np.array([16, 1, 0, 81])
    noise = noise_distribution(counts)
    expected = np.array([8.0, 1.0, 0.0, 27.0]) / 36.0  # count ** 0.75
    np.testing.assert_allclose(noise, expected, rtol=1e-14)
    np.testing.assert_allclose(noise_distribution(counts, power=1.0), counts / 98, rtol=1e-14)
    draws = sample_negatives(np.random.default_rng(0), noise, (200_000,))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, expected, atol=0.003)
    assert freq[2] == 0


def test_skipgram_examples_by_hand():
    centres, neighbours = skipgram_examples(np.array([10, 11, 12, 13]), window=2)
    pairs = list(zip(centres.tolist(), neighbours.tolist(), strict=True))
    assert pairs == [
        (10, 11), (10, 12),
        (11, 10), (11, 12), (11, 13),
        (12, 10), (12, 11), (12, 13),
        (13, 11), (13, 12),
    ]  # fmt: skip


def test_cbow_examples_by_hand():
    neighbours, centres = cbow_examples(np.array([10, 11, 12]), window=2)
    assert centres.tolist() == [10, 11, 12]
    assert neighbours.tolist() == [[-1, -1, 11, 12], [-1, 10, 12, -1], [10, 11, -1, -1]]
    assert len(cbow_examples(np.array([7]), window=2)[1]) == 0


def test_sgns_loss_at_zero_vectors_is_log2_per_counted_word():
    h, v_out = np.zeros((2, 3)), np.zeros((2, 4, 3))
    keep = np.array([[1, 1, 1, 1], [1, 0, 1, 0]], dtype=float)
    loss, dh, dv = sgns_loss_and_grads(h, v_out, keep)
    np.testing.assert_allclose(loss, [4 * math.log(2), 2 * math.log(2)], rtol=1e-15)


def test_sgns_loss_by_hand():
    h = np.array([[1.0, 2.0]])
    v_out = np.array([[[0.5, 0.0], [0.0, -1.0], [1.0, 1.0]]])  # scores 0.5, -2, 3
    loss, _, _ = sgns_loss_and_grads(h, v_out)

    def sigma(x):
        return 1 / (1 + math.exp(-x))

    expected = -math.log(sigma(0.5)) - math.log(sigma(2.0)) - math.log(sigma(-3.0))
    assert loss[0] == pytest.approx(expected, rel=1e-14)


def random_sgns_inputs(seed):
    rng = np.random.default_rng(seed)
    n, k, d = 3, 4, 5
    h = rng.standard_normal((n, d))
    v_out = rng.standard_normal((n, 1 + k, d))
    keep = (rng.random((n, 1 + k)) < 0.7).astype(float)
    keep[:, 0] = 1
    return h, v_out, keep


def test_sgns_gradients_match_finite_differences():
    h, v_out, keep = random_sgns_inputs(0)
    _, dh, dv = sgns_loss_and_grads(h, v_out, keep)

    def total():
        return float(sgns_loss_and_grads(h, v_out, keep)[0].sum())

    np.testing.assert_allclose(dh, numerical_gradient(total, h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dv, numerical_gradient(total, v_out), rtol=1e-6, atol=1e-9)


@pytest.mark.reference
def test_sgns_loss_and_gradients_match_torch():
    import torch

    h, v_out, keep = random_sgns_inputs(1)
    loss, dh, dv = sgns_loss_and_grads(h, v_out, keep)
    th = torch.tensor(h, requires_grad=True)
    tv = torch.tensor(v_out, requires_grad=True)
    scores = torch.einsum("nkd,nd->nk", tv, th)
    logsig = torch.nn.functional.logsigmoid
    ref = -logsig(scores[:, 0]) - (torch.tensor(keep[:, 1:]) * logsig(-scores[:, 1:])).sum(1)
    ref.sum().backward()
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(dh, th.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dv, tv.grad.numpy(), rtol=1e-12, atol=1e-15)


# --- a plain loop version of the same SGD, the reference for the vectorised one -------------


def loop_example_update(U, C, inputs, target, negatives, rate):
    """One example, word by word: the gradients at the current parameters, as deltas."""
    h = sum(U[i] for i in inputs) / len(inputs)
    dh, dU, dC, loss = np.zeros_like(h), {}, {}, 0.0
    outputs = [(target, 1.0)] + [(w, 0.0) for w in negatives if w != target]
    for word, label in outputs:
        score = float(h @ C[word])
        sig = 1 / (1 + math.exp(-score))
        loss -= math.log(sig) if label else math.log(1 - sig)
        dh += (sig - label) * C[word]
        dC[word] = dC.get(word, 0) - rate * (sig - label) * h
    for i in inputs:
        dU[i] = dU.get(i, 0) - rate * dh / len(inputs)
    return dU, dC, loss


def loop_examples(model, sentence, window):
    """(input ids, target) per example, built with plain loops in the library's order."""
    T, examples = len(sentence), []
    for i in range(T):
        if model == "skipgram":
            for j in range(T):
                if 0 < abs(i - j) <= window:
                    examples.append(([sentence[i]], sentence[j]))
        else:
            around = [
                sentence[j] for j in range(max(0, i - window), min(T, i + window + 1)) if j != i
            ]
            if around:
                examples.append((around, sentence[i]))
    return examples


def loop_train(sentences, model, dim, window, k, epochs, lr, seed, batch):
    words, corpus = build_vocab(sentences)
    examples = [loop_examples(model, s.tolist(), window) for s in corpus]
    examples = [e for e in examples if e]
    counts = np.bincount(np.concatenate(corpus), minlength=len(words))
    noise = noise_distribution(counts)
    n_examples = sum(len(e) for e in examples)
    rng = np.random.default_rng(seed)
    U = (rng.random((len(words), dim)) - 0.5) / dim
    C = np.zeros((len(words), dim))
    losses, steps = [], epochs * len(examples)
    for epoch in range(epochs):
        drawn = sample_negatives(rng, noise, (n_examples, k)).tolist()
        total = 0.0
        for s, sentence_examples in enumerate(examples):
            rate = lr * max(1 - (epoch * len(examples) + s) / steps, 1e-4)
            updates = []
            for inputs, target in sentence_examples:
                dU, dC, loss = loop_example_update(U, C, inputs, target, drawn.pop(0), rate)
                total += loss
                if batch == "example":
                    for table, delta in ((U, dU), (C, dC)):
                        for word, change in delta.items():
                            table[word] += change
                else:
                    updates.append((dU, dC))
            for dU, dC in updates:  # batch == "sentence": all at once, after the whole sentence
                for table, delta in ((U, dU), (C, dC)):
                    for word, change in delta.items():
                        table[word] += change
        losses.append(total / n_examples)
    return U, C, losses


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("batch", ["sentence", "example"])
def test_training_equals_the_loop_reference(model, batch):
    settings = dict(model=model, dim=4, window=2, epochs=3, lr=0.2, seed=5, batch=batch)
    result = train_word2vec(TOY_CORPUS, negatives=3, **settings)
    U, C, losses = loop_train(
        TOY_CORPUS, model, dim=4, window=2, k=3, epochs=3, lr=0.2, seed=5, batch=batch
    )
    np.testing.assert_allclose(result["vectors"], U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result["context_vectors"], C, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result["loss"], losses, rtol=1e-12)


def test_update_accumulates_repeated_words_and_skips_negatives_equal_to_the_target():
    rng = np.random.default_rng(3)
    U, C = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    inputs, weights = np.array([[1], [1], [2]]), np.ones((3, 1))
    targets = np.array([0, 3, 0])
    negatives = np.array([[0, 2], [3, 3], [1, 1]])  # example 0 draws its own target, etc.
    expected_U, expected_C, total = U.copy(), C.copy(), 0.0
    for i in range(3):
        dU, dC, loss = loop_example_update(U, C, [inputs[i, 0]], targets[i], negatives[i], 0.1)
        total += loss
        for table, delta in ((expected_U, dU), (expected_C, dC)):
            for word, change in delta.items():
                table[word] += change
    loss = sgns_update(U, C, inputs, weights, targets, negatives, 0.1)
    assert loss.sum() == pytest.approx(total, rel=1e-13)
    np.testing.assert_allclose(U, expected_U, rtol=1e-13)
    np.testing.assert_allclose(C, expected_C, rtol=1e-13)


@pytest.mark.parametrize("inputs, weights", [([2], [1.0]), ([1, 3, 1], [0.25, 0.5, 0.25])])
def test_one_example_update_is_the_batched_update_of_one(inputs, weights):
    """sgns_example_update (the classic SGD's step) against sgns_update on a batch of one:
    skip-gram's single centre word, and a CBOW window with a word in it twice; the negatives
    draw a word twice and the target itself (skipped)."""
    rng = np.random.default_rng(7)
    U, C = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    target, negatives = 4, np.array([1, 4, 1, 0])
    U_batch, C_batch = U.copy(), C.copy()
    expected = sgns_update(U_batch, C_batch, np.array([inputs]), np.array([weights]),
                           np.array([target]), negatives[None], 0.3)  # fmt: skip
    outputs = np.r_[target, negatives]
    keep = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    loss = sgns_example_update(U, C, np.array(inputs), np.array(weights), outputs, keep, 0.3)
    assert loss == pytest.approx(expected[0], rel=1e-13)
    np.testing.assert_allclose(U, U_batch, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(C, C_batch, rtol=1e-13, atol=1e-15)
    assert np.all(U[[0, 4]] == U_batch[[0, 4]])  # rows no input used: untouched


def test_text_to_sentences_drops_rare_words_and_cuts_pieces():
    text = "The cat, the DOG; the cat's mat.\nThe cat sat -- the end."
    assert text_to_sentences(text, min_count=1, length=4) == [
        "the cat the dog", "the cat's mat the", "cat sat the end"]  # fmt: skip
    # "the" 5 times, "cat" twice ("cat's" is another word): the rest is too rare
    assert text_to_sentences(text, min_count=2, length=3) == ["the cat the", "the the cat", "the"]
    with pytest.raises(ValueError, match="min_count"):
        text_to_sentences(text, min_count=0)


def test_add_rows_is_np_add_at():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((7, 3))
    ids = np.array([2, 5, 2, 2, 0, 6, 5])
    rows = rng.standard_normal((7, 3))
    expected = table.copy()
    np.add.at(expected, ids, rows)
    add_rows(table, ids, rows)
    np.testing.assert_allclose(table, expected, rtol=1e-14, atol=1e-15)
    untouched = [1, 3, 4]
    assert np.all(table[untouched] == expected[untouched])


def test_sentence_and_example_batching_differ_but_agree_for_small_steps():
    def run(batch, lr):
        return train_word2vec(TOY_CORPUS, epochs=5, lr=lr, seed=1, batch=batch)

    start = train_word2vec(TOY_CORPUS, epochs=0, seed=1)["vectors"]
    for lr in (0.025, 0.001):
        a, b = run("sentence", lr), run("example", lr)
        moved = np.abs(a["vectors"] - start).max()
        gap = np.abs(a["vectors"] - b["vectors"]).max()
        assert 0 < gap < 0.1 * moved
    longer_a = train_word2vec(TOY_CORPUS, epochs=30, batch="sentence")["loss"]
    longer_b = train_word2vec(TOY_CORPUS, epochs=30, batch="example")["loss"]
    assert longer_a[-1] < 0.7 * longer_a[0]
    assert longer_a[-1] == pytest.approx(longer_b[-1], rel=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skipgram_on_the_toy_corpus_groups_words_by_category(seed):
    result = train_word2vec(TOY_CORPUS, seed=seed)
    assert result["loss"][-1] < 0.6 * result["loss"][0]
    wv = WordVectors(result["words"], result["vectors"])
    assert wv.similarity("cat", "dog") > wv.similarity("cat", "rug")
    assert wv.similarity("cat", "dog") > wv.similarity("cat", "fish")
    assert wv.similarity("mat", "rug") > wv.similarity("mat", "fish")
    assert wv.similarity("fish", "meat") > wv.similarity("fish", "sofa")
    assert wv.intruder(["cat", "dog", "bird", "rug"])["intruder"] == "rug"
    assert wv.nearest_neighbours("mat", k=2, exclude=["on", "the"])[0][0] in {"rug", "sofa"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cbow_on_the_toy_corpus_groups_words_by_category(seed):
    result = train_word2vec(TOY_CORPUS, model="cbow", lr=0.05, seed=seed)
    assert result["loss"][-1] < 0.6 * result["loss"][0]
    wv = WordVectors(result["words"], result["vectors"])
    assert wv.similarity("cat", "dog") > wv.similarity("cat", "rug")
    assert wv.similarity("mat", "rug") > wv.similarity("mat", "fish")


def test_training_is_seeded():
    a = train_word2vec(TOY_CORPUS, epochs=3, seed=4)
    b = train_word2vec(TOY_CORPUS, epochs=3, seed=4)
    c = train_word2vec(TOY_CORPUS, epochs=3, seed=5)
    np.testing.assert_array_equal(a["vectors"], b["vectors"])
    assert not np.array_equal(a["vectors"], c["vectors"])


def test_snapshots_for_animation():
    result = train_word2vec(TOY_CORPUS, dim=2, epochs=25, snapshot_every=10, seed=0)
    snaps = result["snapshots"]
    assert [s["epoch"] for s in snaps] == [0, 10, 20, 25]
    assert snaps[0]["loss"] is None
    assert snaps[1]["loss"] == result["loss"][9]
    np.testing.assert_array_equal(snaps[-1]["vectors"], result["vectors"])
    np.testing.assert_array_equal(
        snaps[0]["vectors"], train_word2vec(TOY_CORPUS, dim=2, epochs=0)["vectors"]
    )
    assert snaps[0]["vectors"].shape == (20, 2)
    assert np.abs(snaps[0]["vectors"]).max() <= 0.25
    assert train_word2vec(TOY_CORPUS, epochs=2)["snapshots"] == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "glove"}, "model must be"),
        ({"batch": "epoch"}, "batch must be"),
        ({"dim": 0}, "dim must be"),
        ({"window": 0}, "window must be"),
        ({"negatives": 0}, "negatives must be"),
        ({"lr": 0.0}, "lr > 0"),
    ],
)
def test_training_validates_its_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_word2vec(TOY_CORPUS, epochs=1, **kwargs)


def test_single_word_sentences_give_no_examples():
    with pytest.raises(ValueError, match="no training examples"):
        train_word2vec(["cat", "dog"], epochs=1)


def test_cooccurrence_counts_are_the_skipgram_pairs():
    words, corpus = build_vocab(TOY_CORPUS)
    counts = cooccurrence_counts(corpus, len(words), window=2)
    np.testing.assert_array_equal(counts, counts.T)
    assert counts.sum() == sum(len(skipgram_examples(s, 2)[0]) for s in corpus)
    the, cat, sat = (words.index(w) for w in ("the", "cat", "sat"))
    # "the" is near "cat" once in "the cat sat/lay on ..." and twice in "the cat ate/drank the ..."
    assert counts[cat, the] == 6 and counts[cat, sat] == 1


def test_pmi_by_hand():
    counts = np.array([[0.0, 2.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    # total 8; row sums 3, 3, 2: PMI(0, 1) = log(2 * 8 / (3 * 3))
    table = pmi(counts)
    assert table[0, 1] == pytest.approx(math.log(16 / 9))
    assert table[0, 2] == pytest.approx(math.log(8 / 6))
    assert table[0, 0] == -np.inf
    np.testing.assert_allclose(pmi(counts, k=5), table - math.log(5))
    positive = ppmi(counts, k=1.5)
    assert positive[0, 0] == 0 and positive[0, 1] == pytest.approx(math.log(16 / 9 / 1.5))
    assert positive[0, 2] == 0  # log(4/3) - log(1.5) < 0
    assert np.all(np.isfinite(positive)) and np.all(positive >= 0)


def test_skipgram_dot_products_track_shifted_pmi():
    """Levy and Goldberg: u_w . v_c approaches PMI(w, c) - log k on the pairs that occur.

    Only approximately here: the noise comes from word counts while PMI uses pair counts (they
    differ at the edges of short sentences), and SGD stops short of the optimum.
    """
    k = 5
    result = train_word2vec(
        TOY_CORPUS, dim=20, negatives=k, epochs=300, lr=0.1, noise_power=1.0, seed=0
    )
    words, corpus = build_vocab(TOY_CORPUS)
    counts = cooccurrence_counts(corpus, len(words), window=2)
    shifted, plain = pmi(counts, k=k), pmi(counts)
    dots = result["vectors"] @ result["context_vectors"].T
    seen = np.isfinite(shifted)
    assert np.corrcoef(dots[seen], shifted[seen])[0, 1] > 0.85
    # the shift is real: the dot products sit near PMI - log k, far from PMI itself
    error_shifted = np.abs(dots[seen] - shifted[seen]).mean()
    assert error_shifted < np.abs(dots[seen] - plain[seen]).mean() / 3
    # pairs never seen together (PMI = -inf) are pushed below every pair that is
    assert np.median(dots[~seen]) < np.min(dots[seen])


# --- the per-step trace behind the skip-gram dynamics widget ------------------------------------


@pytest.mark.parametrize("seed, window, k", [(0, 2, 5), (3, 1, 2), (7, 3, 1)])
def test_the_trace_ends_where_train_word2vec_ends(seed, window, k):
    settings = dict(dim=2, window=window, negatives=k, lr=0.25, seed=seed)
    trace = sgns_trace(TOY_CORPUS, epochs=4, **settings)
    run = train_word2vec(TOY_CORPUS, epochs=4, batch="example", **settings)
    np.testing.assert_array_equal(trace["vectors"][-1], run["vectors"])
    np.testing.assert_array_equal(trace["context_vectors"][-1], run["context_vectors"])
    np.testing.assert_array_equal(
        trace["vectors"][0], train_word2vec(TOY_CORPUS, epochs=0, **settings)["vectors"]
    )
    words, corpus = build_vocab(TOY_CORPUS)
    pairs = sum(len(skipgram_examples(s, window)[0]) for s in corpus)
    assert trace["centre"].shape == trace["loss"].shape == (4 * pairs,)
    assert trace["negatives"].shape == (4 * pairs, k)
    assert trace["vectors"].shape == (4 * pairs + 1, len(words), 2)
    # the steps' losses add up to the epoch means train_word2vec reports
    np.testing.assert_allclose(
        trace["loss"].reshape(4, pairs).mean(axis=1), run["loss"], rtol=1e-12
    )
    # the first epoch's pairs are the corpus's, in order
    centres = np.concatenate([skipgram_examples(s, window)[0] for s in corpus])
    np.testing.assert_array_equal(trace["centre"][:pairs], centres)


def test_each_step_changes_only_the_rows_it_uses():
    trace = sgns_trace(TOY_CORPUS, epochs=1, seed=2)
    for t in range(0, len(trace["centre"]), 17):
        moved_u = np.flatnonzero(np.any(trace["vectors"][t + 1] != trace["vectors"][t], axis=1))
        moved_v = np.flatnonzero(
            np.any(trace["context_vectors"][t + 1] != trace["context_vectors"][t], axis=1)
        )
        assert set(moved_u) <= {trace["centre"][t]}
        assert set(moved_v) <= {trace["context"][t], *trace["negatives"][t]}


def _step_loss(U, C, centre, context, negatives):
    """One pair's negative-sampling loss, read from the whole tables (for finite differences)."""
    keep = (negatives != context).astype(float)[None]
    loss, _, _ = sgns_loss_and_grads(U[[centre]], C[np.r_[context, negatives]][None],
                                     np.concatenate([[[1.0]], keep], axis=1))  # fmt: skip
    return float(loss[0])


def test_one_step_is_minus_lr_times_the_finite_difference_gradient():
    trace = sgns_trace(TOY_CORPUS, epochs=2, seed=1)
    for t in (5, 250, 401):
        U, C = trace["vectors"][t].copy(), trace["context_vectors"][t].copy()
        ids = trace["centre"][t], trace["context"][t], trace["negatives"][t]
        loss = lambda U=U, C=C, ids=ids: _step_loss(U, C, *ids)  # noqa: E731
        gU, gC = numerical_gradient(loss, U), numerical_gradient(loss, C)
        lr = trace["lr"][t]
        np.testing.assert_allclose(trace["vectors"][t + 1], U - lr * gU, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(
            trace["context_vectors"][t + 1], C - lr * gC, rtol=1e-7, atol=1e-9
        )
        assert trace["loss"][t] == pytest.approx(_step_loss(U, C, *ids), rel=1e-12)


@pytest.mark.reference
def test_one_step_is_minus_lr_times_the_torch_gradient():
    import torch

    trace = sgns_trace(TOY_CORPUS, window=3, negatives=4, epochs=2, seed=4)
    for t in (0, 9, 300, len(trace["centre"]) - 1):
        U = torch.tensor(trace["vectors"][t], requires_grad=True)
        C = torch.tensor(trace["context_vectors"][t], requires_grad=True)
        centre, context = int(trace["centre"][t]), int(trace["context"][t])
        negatives = torch.tensor(trace["negatives"][t])
        logsig = torch.nn.functional.logsigmoid
        keep = (negatives != context).double()
        loss = -logsig(C[context] @ U[centre]) - (keep * logsig(-(C[negatives] @ U[centre]))).sum()
        loss.backward()
        lr = trace["lr"][t]
        for table, grown in (("vectors", U), ("context_vectors", C)):
            expected = (grown - lr * grown.grad).detach().numpy()
            np.testing.assert_allclose(trace[table][t + 1], expected, rtol=1e-12, atol=1e-15)
        assert trace["loss"][t] == pytest.approx(loss.item(), rel=1e-12)


def test_step_parts_add_up_to_the_centres_move():
    trace = sgns_trace(TOY_CORPUS, negatives=3, epochs=2, seed=5)
    parts = sgns_step_parts(trace)
    steps = np.arange(len(trace["centre"]))
    move = trace["vectors"][steps + 1, trace["centre"]] - trace["vectors"][steps, trace["centre"]]
    np.testing.assert_allclose(parts["pull"] + parts["push"].sum(axis=1), move, atol=1e-15)
    # a negative equal to the neighbour is skipped: no push
    skipped = trace["negatives"] == trace["context"][:, None]
    assert skipped.any() and np.all(parts["push"][skipped] == 0)
    # the pair's probability before the step is where its loss's first term comes from
    assert np.all(-np.log(parts["p_before"]) <= trace["loss"] + 1e-12)
    # the neighbour's pull points along its output vector, away from nothing: the output vectors
    # start at 0, so the very first step cannot move the centre
    np.testing.assert_array_equal(parts["pull"][0], 0)


def _separation(words, vectors):
    """Mean distance within a category over the mean distance across (the first three)."""
    index = {w: i for i, w in enumerate(words)}
    groups = [TOY_CATEGORIES[name] for name in ("animals", "things to sit on", "food and drink")]

    def mean_distance(pairs):
        return np.mean([np.linalg.norm(vectors[index[a]] - vectors[index[b]]) for a, b in pairs])

    within = [(a, b) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]]
    across = [(a, b) for i, g in enumerate(groups) for h in groups[i + 1 :] for a in g for b in h]
    return mean_distance(within) / mean_distance(across)


def shown(view: dict, name: str, *shape: int) -> np.ndarray:
    """A figure of skipgram_dynamics as the page reads it: integer thousandths / 1000."""
    values = np.asarray(view[name])
    assert values.dtype.kind == "i"
    return (values / 1000).reshape(*shape) if shape else values / 1000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_widgets_run_separates_the_categories_in_2d(seed):
    view = {name: shown(skipgram_dynamics(seed=seed), name) for name in ("epoch_loss", "curve")}
    trace = sgns_trace(TOY_CORPUS, seed=seed)
    before = _separation(trace["words"], trace["vectors"][0])
    after = _separation(trace["words"], trace["vectors"][-1])
    assert before > 0.8 and after < 0.6 and after < 0.6 * before  # about half, from about 1
    assert view["epoch_loss"][-1] < 0.9 * view["epoch_loss"][0]  # the loss falls
    assert view["curve"][0] > view["curve"][-1] + 0.5  # from the first steps to the last epoch


def test_skipgram_dynamics_is_the_trace_rounded():
    view = skipgram_dynamics(seed=3, window=1, k=2, epochs=3)
    trace = sgns_trace(TOY_CORPUS, window=1, negatives=2, epochs=3, seed=3)
    parts = sgns_step_parts(trace)
    steps = np.arange(len(trace["centre"]))
    S, V = len(steps), len(trace["words"])
    assert view["words"] == trace["words"] and view["epoch_steps"] * 3 == S == view["steps"]
    assert set(view["categories"]) == set(view["category_names"]) == set(TOY_CATEGORIES)
    assert view["k"] == 2
    np.testing.assert_array_equal(view["centre"], trace["centre"])
    np.testing.assert_array_equal(view["context"], trace["context"])
    np.testing.assert_array_equal(np.reshape(view["negatives"], (S, 2)), trace["negatives"])
    # rounded at the 3 decimals shown: exactly numpy's round(x, 3) once divided by 1000
    np.testing.assert_array_equal(shown(view, "start", V, 2), trace["vectors"][0].round(3))
    np.testing.assert_allclose(shown(view, "start", V, 2), trace["vectors"][0], atol=5e-4)
    np.testing.assert_allclose(
        shown(view, "after", S, 2), trace["vectors"][steps + 1, trace["centre"]], atol=5e-4
    )
    np.testing.assert_allclose(shown(view, "pull", S, 2), parts["pull"], atol=5e-4)
    np.testing.assert_allclose(shown(view, "push", S, 2, 2), parts["push"], atol=5e-4)
    np.testing.assert_allclose(shown(view, "loss"), trace["loss"], atol=5e-4)
    np.testing.assert_allclose(shown(view, "p_before"), parts["p_before"], atol=5e-4)
    np.testing.assert_allclose(shown(view, "p_after"), parts["p_after"], atol=5e-4)
    np.testing.assert_allclose(shown(view, "epoch_loss"), trace["epoch_loss"], atol=5e-4)
    # the curve: the mean loss over the last epoch's worth of steps, every 10th step
    n = view["epoch_steps"]
    curve = shown(view, "curve")
    last = 10 * (len(curve) - 1)
    expected = trace["loss"][last - n + 1 : last + 1].mean()
    np.testing.assert_allclose(curve[-1], expected, atol=5e-4)
    np.testing.assert_allclose(curve[0], trace["loss"][0], atol=5e-4)
    x0, x1, y0, y1 = shown(view, "bounds")
    after = shown(view, "after", S, 2)
    assert x0 <= np.min(after[:, 0]) and y1 >= np.max(after[:, 1])
    with pytest.raises(ValueError, match="window"):
        skipgram_dynamics(window=9)
