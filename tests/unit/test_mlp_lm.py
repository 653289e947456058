import math

import numpy as np
import pytest
from lmlab import data, mlp_lm
from lmlab.mlp_lm import (
    MLPLanguageModel,
    build_dataset,
    char_vocabulary,
    context_windows,
    evaluate,
    sample_words,
    session_end,
    session_start,
    session_state,
    session_train,
    spread,
    train,
)
from lmlab.nn import ReLU, Tanh, numerical_gradient
from lmlab.optim import SGD, train_step

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


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 8])
def test_build_dataset_holds_every_context_window_in_order(block_size):
    words = [*NAMES, "", "x", "bob"]  # an empty word still ends: one example, all '.'
    vocab = char_vocabulary(words)
    X, Y = build_dataset(words, vocab, block_size)
    pairs = [pair for word in words for pair in context_windows(word, block_size)]
    assert ["".join(vocab[i] for i in row) for row in X] == [context for context, _ in pairs]
    assert [vocab[i] for i in Y] == [char for _, char in pairs]
    assert X.dtype == Y.dtype == np.int64 and X.shape == (len(pairs), block_size)
    X0, Y0 = build_dataset([], vocab, block_size)
    assert X0.shape == (0, block_size) and Y0.shape == (0,)
    with pytest.raises(ValueError, match="has no '.'"):
        build_dataset(["ab"], ["a", "b"], block_size)


def test_parameter_count_formula():
    model = MLPLanguageModel(27, block_size=3, n_embd=10, n_hidden=200, rng=0)
    assert model.num_parameters() == 27 * 10 + (30 + 1) * 200 + (200 + 1) * 27 == 11897


def test_initial_loss_is_close_to_a_uniform_guess():
    vocab = char_vocabulary(NAMES)
    X, Y = build_dataset(NAMES, vocab)
    logits, loss = MLPLanguageModel(len(vocab), rng=0)(X, Y)
    assert logits.shape == (len(X), len(vocab))
    assert abs(loss - math.log(len(vocab))) < 0.05


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gradients_match_finite_differences(activation):
    rng = np.random.default_rng(1)
    model = MLPLanguageModel(7, block_size=3, n_embd=2, n_hidden=5, rng=rng, dtype=np.float64,
                             activation=activation)
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


def test_activation_choice_keeps_the_default_and_rescales_the_hidden_init():
    tanh = MLPLanguageModel(9, block_size=3, n_embd=4, n_hidden=16, rng=5)
    relu = MLPLanguageModel(9, block_size=3, n_embd=4, n_hidden=16, rng=5, activation="relu")
    assert isinstance(tanh.activation, Tanh) and isinstance(relu.activation, ReLU)
    explicit = MLPLanguageModel(9, block_size=3, n_embd=4, n_hidden=16, rng=5, activation="tanh")
    for (name, a, _), (_, b, _), (_, c, _) in zip(tanh.named_parameters(),
                                                  explicit.named_parameters(),
                                                  relu.named_parameters(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
        # Same random draws; only the hidden weights' scale differs: gain sqrt(2) against 5/3.
        ratio = 2**0.5 / (5 / 3) if name == "hidden.weight" else 1.0
        np.testing.assert_allclose(c, a * ratio, rtol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLPLanguageModel(9, activation="sigmoid")


@pytest.mark.reference
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_matches_torch(activation):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(4)
    model = MLPLanguageModel(11, block_size=4, n_embd=3, n_hidden=8, rng=rng, dtype=np.float64,
                             activation=activation)
    X = rng.integers(0, 11, size=(16, 4))
    Y = rng.integers(0, 11, size=16)
    model.zero_grad()
    logits, loss = model(X, Y)
    model.backward()

    p = {name: torch.tensor(w, requires_grad=True) for name, w, _ in model.named_parameters()}
    emb = F.embedding(torch.tensor(X), p["emb.weight"]).view(16, -1)
    act = torch.tanh if activation == "tanh" else torch.relu
    hidden = act(emb @ p["hidden.weight"] + p["hidden.bias"])
    logits_t = hidden @ p["out.weight"] + p["out.bias"]
    loss_t = F.cross_entropy(logits_t, torch.tensor(Y))
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-12)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, _, grad in model.named_parameters():
        np.testing.assert_allclose(grad, p[name].grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


# The trainer widget's session: a model kept in lmlab between calls, trained a chunk at a time.
SESSION = {"block_size": 3, "n_embd": 2, "n_hidden": 16, "lr": 0.3, "seed": 7, "batch_size": 8,
           "eval_every": 50, "eval_examples": 20}


def test_spread_takes_evenly_spaced_examples_first_and_last_included():
    X, Y = np.arange(20).reshape(10, 2), np.arange(10) * 10
    Xs, Ys = spread((X, Y), 4)
    np.testing.assert_array_equal(Ys, [0, 30, 60, 90])
    np.testing.assert_array_equal(Xs, X[[0, 3, 6, 9]])
    assert len(set(spread((X, Y), 9)[1].tolist())) == 9  # no example twice
    assert spread((X, Y), 10)[1] is Y and spread((X, Y), 50)[1] is Y
    with pytest.raises(ValueError, match="at least one"):
        spread((X, Y), 0)


def plain_loop(words, steps, lr_changes):
    """The same run written out as one loop: the split session_start documents, the model and
    the batches from the seed, SGD, and the learning rate changed at the given steps.
    -> (minibatch losses (steps,), {step: (training probe loss, held-out loss)}, the model)."""
    train_words, held_words = data.split(words, held_out=0.1, seed=0)
    vocab = char_vocabulary(words)
    X, Y = build_dataset(train_words, vocab, SESSION["block_size"])
    Xh, Yh = build_dataset(held_words, vocab, SESSION["block_size"])
    probes = [spread(split, SESSION["eval_examples"]) for split in ((X, Y), (Xh, Yh))]
    model = MLPLanguageModel(len(vocab), SESSION["block_size"], SESSION["n_embd"],
                             SESSION["n_hidden"], rng=SESSION["seed"])
    optimizer = SGD(model, lr=SESSION["lr"])
    batches = np.random.default_rng(SESSION["seed"])
    losses, evals = [], {}
    for step in range(steps + 1):
        if step % SESSION["eval_every"] == 0:
            evals[step] = tuple(evaluate(model, *probe) for probe in probes)
        if step == steps:
            break
        optimizer.lr = lr_changes.get(step, optimizer.lr)
        batch = batches.integers(0, len(X), size=SESSION["batch_size"])
        losses.append(train_step(model, optimizer, X[batch], Y[batch]))
    return losses, evals, model


def test_a_session_trained_in_chunks_takes_the_steps_of_one_plain_loop():
    state = session_start(NAMES, **SESSION)
    chunks = [(7, None), (0, None), (58, 0.1), (1, None), (84, None)]  # (steps, new lr)
    results = [session_train(state["id"], steps, lr=lr) for steps, lr in chunks]
    losses, evals, model = plain_loop(NAMES, 150, lr_changes={7: 0.1})

    assert [r["step"] for r in results] == [7, 7, 65, 66, 150]
    assert sum((r["losses"] for r in results), []) == losses  # same machine, same operations
    measured = [state["evals"][0], *(e for r in results for e in r["evals"])]
    assert [e["step"] for e in measured] == [0, 50, 100, 150]
    assert [(e["train"], e["held_out"]) for e in measured] == [evals[s] for s in (0, 50, 100, 150)]
    final = session_state(state["id"])
    assert final["losses"] == losses and final["evals"] == measured
    np.testing.assert_array_equal(final["embeddings"], model.emb.params["weight"])
    assert final["parameters"] == model.num_parameters()
    lighter = session_state(state["id"], with_losses=False)
    assert lighter["losses"] is None and lighter["evals"] == measured
    session_end(state["id"])


def test_a_session_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        state = session_start(NAMES, **SESSION)
        session_train(state["id"], 120)
        runs.append(session_state(state["id"], samples=5, temperature=0.8, sample_seed=3))
    assert runs[0] == {**runs[1], "embeddings": runs[0]["embeddings"]}
    np.testing.assert_array_equal(runs[0]["embeddings"], runs[1]["embeddings"])
    other = session_start(NAMES, **{**SESSION, "seed": 8})
    assert session_train(other["id"], 5)["losses"] != runs[0]["losses"][:5]


def test_samples_say_which_are_names_the_model_learned_or_never_saw():
    words = NAMES[:12]
    train_words, held_words = data.split(words, held_out=0.1, seed=0)
    assert held_words and train_words  # the run below tells the two apart
    state = session_start(words, **{**SESSION, "n_hidden": 32})  # lr 0.3: learns them by heart
    session_train(state["id"], 1500)
    samples = session_state(state["id"], samples=30, temperature=0.5)["samples"]
    expected = {**dict.fromkeys(train_words, "train"), **dict.fromkeys(held_words, "held_out")}
    assert [s["origin"] for s in samples] == [expected.get(s["word"]) for s in samples]
    assert "train" in {s["origin"] for s in samples}  # twelve names, learned by heart
    vocab = char_vocabulary(words)
    assert all(set(s["word"]) <= set(vocab[1:]) for s in samples)


def test_embeddings_are_sent_only_when_they_are_two_dimensional():
    state = session_start(NAMES, **{**SESSION, "n_embd": 3})
    assert state["embeddings"] is None and state["step"] == 0 and state["losses"] == []
    flat = session_start(NAMES, **SESSION)
    assert np.shape(flat["embeddings"]) == (len(flat["vocab"]), 2)
    assert flat["vocab"] == char_vocabulary(NAMES)


def test_old_sessions_are_dropped_not_piled_up():
    starts = mlp_lm.KEEP_SESSIONS + 2
    ids = [session_start(NAMES, **SESSION, samples=0)["id"] for _ in range(starts)]
    assert len(set(ids)) == len(ids)
    assert list(mlp_lm._sessions) == ids[-mlp_lm.KEEP_SESSIONS :]
    with pytest.raises(LookupError, match="has ended"):
        session_train(ids[0], 1)
    session_end(ids[-1])
    session_end(ids[-1])  # twice is harmless
    with pytest.raises(LookupError):
        session_state(ids[-1])
    assert session_train(ids[-2], 2)["step"] == 2


def test_a_session_on_the_books_names():
    names = data.names()
    state = session_start(n_hidden=8, samples=3)
    train_words, held_words = data.split(names, held_out=0.1, seed=0)
    assert state["vocab"] == [".", *"abcdefghijklmnopqrstuvwxyz"]
    session = mlp_lm._sessions[state["id"]]
    assert len(session.train[1]) == sum(len(w) + 1 for w in train_words)
    assert len(session.held_out[1]) == sum(len(w) + 1 for w in held_words)
    # Untrained, every character is about as likely: the loss starts near ln 27.
    assert abs(state["evals"][0]["held_out"] - math.log(27)) < 0.1
    result = session_train(state["id"], 200)
    assert result["evals"][-1]["held_out"] < state["evals"][0]["held_out"] - 0.4
    session_end(state["id"])


def test_session_misuse_is_reported():
    with pytest.raises(ValueError, match="must be >= 1"):
        session_start(NAMES, n_hidden=0)
    with pytest.raises(ValueError, match="activation"):
        session_start(NAMES, activation="sigmoid")
    state = session_start(NAMES, **SESSION)
    with pytest.raises(ValueError, match="steps"):
        session_train(state["id"], -1)
    with pytest.raises(ValueError, match="lr"):
        session_train(state["id"], 1, lr=0)
    with pytest.raises(ValueError, match="no words to train on"):
        session_start([], **SESSION)


def test_with_nothing_held_out_the_held_out_loss_is_the_training_words():
    words = ["ab", "ba", "abba"]
    assert data.split(words, held_out=0.1, seed=0)[1] == []  # round(0.3) = 0 words held out
    state = session_start(words, **SESSION)
    assert state["evals"][0]["held_out"] == state["evals"][0]["train"]
    session_train(state["id"], 300)
    samples = session_state(state["id"], samples=20, temperature=0.5)["samples"]
    assert {s["origin"] for s in samples} <= {"train", None}
    assert "train" in {s["origin"] for s in samples}


def test_trained_on_the_names_the_vowels_gather_in_the_2d_embedding():
    def vowel_distances(state):
        """Mean distance vowel to vowel, and vowel to consonant, in the 2-D embedding."""
        E, vocab = np.asarray(state["embeddings"]), state["vocab"]
        vowels = [vocab.index(c) for c in "aeiou"]
        consonants = [vocab.index(c) for c in "bcdfghjklmnpqrstvwxyz"]
        d = np.linalg.norm(E[:, None] - E[None], axis=-1)
        return d[np.ix_(vowels, vowels)][np.triu_indices(5, 1)].mean(), \
            d[np.ix_(vowels, consonants)].mean()

    state = session_start(samples=0)  # the widget's defaults: 2-D embeddings, tanh, seed 0
    within, between = vowel_distances(state)
    assert within > 0.8 * between  # random at the start: no vowel is nearer another vowel
    session_train(state["id"], 2000)
    within, between = vowel_distances(session_state(state["id"], samples=0))
    assert within < 0.5 * between
    session_end(state["id"])
