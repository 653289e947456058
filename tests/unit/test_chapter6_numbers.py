"""Every number in chapter 6's prose, recomputed with lmlab from the chapter's own cells."""

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import mlp_lm, rnn_lm
from lmlab.ngram import NGramModel, table_size
from lmlab.optim import descent_trace, landscape
from lmlab.rnn import gradient_through_time, repeated_multiplication, through_time_setup
from printed import fixed

PATH = REPO / "web/chapters/06-neural-next-token-prediction.md"
CHAPTER = load(PATH)

GIVENS = [
    "with 2 numbers per character, where each character sits",
    "Chapter 2 predicted", "chapter 2's counting models", "chapter 2 sampled", "(chapter 4)",
    "chapter 2 used", "Chapter 2 worked", "the sparse update of chapter 4",
    "(attention, chapter 7, which the transformers of chapter 8 are built on)",
    "proposed for words in 2003",
    # the model's and the training's settings: the author's choices, read by the cells
    "with 2 numbers per character and\n26 hidden units",
    "Each step takes 32 random examples", "It holds 26 numbers per context",
    "better than the window of 3", "(the dot is 0, then a to z)", "$\\max(0, x)$",
    "the negative log-likelihood of chapter 2",
    "`logits - logits.max(axis=1, keepdims=True)`", "`mean_nll(model(X_held)[0], Y_held)`",
    "`reshape(len(idx), -1)`", "learning rate** 0.1 for 6,000 steps, then 0.01 for 2,000",
    "10 numbers per character and 100 hidden units", "the mean over\n500 steps",
    "with a window of 8", "A character eight places back",
    "$h = \\tanh(x W_1 + b_1)$", "$z = h W_2 + b_2$", "$W_2$", "$W_1$", "$b_1$", "$b_2$",
    "a table $C$", "length $3d$", "$x W_1 W_2$",
    "32 whole names per step", "$h_1$", "$h_2$", "$h_3$", "tanh's slope, at most 1",
    "A weight a little below 1", "Above 1 tanh", "wherever the state is not 0",
    "(long short-term memory, Hochreiter and Schmidhuber, 1997)", "a sigmoid between 0 and 1",
    "When $f$\nstays near 1", "forget gate starts near 1", "with the gate near 1",
    "hold its forget gates near\n1", "$h_{t-1}$", "(chapter 7)", "(its bias is 3,",
    "since\ntanh's slope is below 1",
    "With a learning rate\nof 0.1", "at 0.19 its first steps", "at 0.45 every step",
    # the check-yourself questions on recurrent networks: the author's examples
    "set the weight scale to 0.9", "something 50 characters back",
    "where\ntanh's slope is below 1)",
    "After\n50 steps", "to the 50th power", "something 50 steps back",
    "$c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$", "gate staying near 1", "that gate stays near 1",
    "$$h_t = \\tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$$",
    "$$c_t = f_t \\odot c_{t-1} + i_t \\odot g_t, \\qquad h_t = o_t \\odot \\tanh(c_t)$$",
    # the check-yourself question's probabilities (its answers are claims below)
    "a probability of 0.5 on one example and 0.01 on\nanother",
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def claims(page: dict) -> list[str]:
    train, held_out = page["train"], page["held_out"]
    nll = [NGramModel(train, n=n, k=0.1).nll(held_out) for n in (2, 3, 4)]
    X, model, wide, tiny = page["X"], page["model"], page["wide"], page["tiny"]
    vocab = len(page["vocab"])
    contexts = len(np.unique(X, axis=0))
    held = mlp_lm.evaluate(model, page["X_held"], page["Y_held"])
    per_char = (wide.num_parameters() - model.num_parameters()) // (8 - 3)
    return [
        f"from {fixed(nll[0], 4)} to {fixed(nll[2], 4)}",
        f"has\n{table_size(4):,} cells for {len(train):,} training names",
        f"contain {contexts:,} of the {vocab ** 3:,} possible three-character contexts",
        f"So the training names give {len(X):,} examples",
        f"of shape\n({vocab}, $d$)",
        f"The whole model is {tiny.num_parameters()} numbers. Most of them, "
        f"{tiny.out.params['weight'].size}, are in $W_2$, which maps 26 hidden units to {vocab}\n"
        "scores",
        f"The table of three-character contexts\nhas a row for each of {vocab ** 3:,} contexts",
        f"({-np.log(0.95):.2f}), a coin flip {-np.log(0.5):.2f}",
        f"only a 1 in 100 chance costs {-np.log(0.01):.2f}",
        f"that of a uniform guess, {fixed(np.log(vocab), 4)}",
        f"the tiny model's is\n{fixed(tiny(X, page['Y'])[1], 4)}",
        f"scores {fixed(held, 4)} on names it never saw, from {fixed(page['before'], 4)} before",
        f"two characters of context ({fixed(nll[1], 4)})",
        f"three ({fixed(nll[2], 4)})",
        f"{model.num_parameters():,} numbers against the table's {table_size(4):,}",
        f"The training loss, {fixed(mlp_lm.evaluate(model, X, page['Y']), 4)}",
        f"$27^9$ cells, about {vocab ** 9 / 1e12:.1f} trillion",
        f"eight characters of 10 numbers are\n{8 * 10} inputs instead of {3 * 10}",
        f"With {wide.num_parameters():,} numbers it scores "
        f"{fixed(mlp_lm.evaluate(wide, page['X8_held'], page['Y8_held']), 4)}",
        f"for {per_char:,} more weights per character (10 inputs more, each feeding 100\n"
        "hidden units)",
        f"$-\\ln 0.5 \\approx {-np.log(0.5):.2f}$ and $-\\ln 0.01 \\approx {-np.log(0.01):.2f}$",
        f"a factor of {vocab} per character", f"multiplies the table by {vocab}",
        *recurrent_claims(page),
        *descent_claims(),
        f"**Scores** for the {vocab} characters",
    ]


def descent_claims() -> list[str]:
    """The widget's curve: the start, and what three learning rates do from it."""
    (start,) = landscape("two_minima").start[:1]
    settle, cross, fly = (descent_trace("two_minima", lr, 30, dim=1) for lr in (0.1, 0.19, 0.45))
    assert settle["outcome"] == "settled" and not settle["deepest"]  # the shallow valley
    assert start > settle["points"][-1][0]  # below its start
    assert cross["minimum"] is not None and cross["deepest"]  # towards the deeper one
    assert fly["outcome"] == "diverged"
    return [f"from $x$ = {start}", f"it\nflies off after {len(fly['points']) - 1} steps"]


def recurrent_claims(page: dict) -> list[str]:
    """The recurrent network on the names, the vanishing gradient and the LSTM's gates."""
    rnn_model, wide = page["rnn_model"], page["wide"]
    below, above = (repeated_multiplication(w)[2] for w in (0.9, 1.1))
    assert below["steps"] == above["steps"] == 100
    g = {scale: page["vanishing_gradients"](steps=100, weight_scale=scale)
         for scale in (0.9, 1.0, 1.1, 1.5)}
    units = through_time_setup("rnn")[0].params["weight_hh"].shape[0]
    forget = {bias: gradient_through_time("lstm", 100, 1.0, forget_bias=bias)
              for bias in (3.0, 1.0)}
    return [
        f"With {rnn_model.num_parameters():,} weights it scores "
        f"{fixed(rnn_lm.evaluate(rnn_model, page['X_seq_held'], page['Y_seq_held']), 4)}",
        f"window of 8 ({fixed(mlp_lm.evaluate(wide, page['X8_held'], page['Y8_held']), 4)})",
        f"leaves {below['value']:.2g} of the gradient after {below['steps']} steps",
        f"it\nhas grown to {above['value']:.2g}",
        f"an RNN of {units} units",
        f"At scale 1.0 the RNN's first state gets only {g[1.0]['rnn'][0]:.2g} of the gradient "
        f"after {len(g[1.0]['t']) - 1} steps back",
        f"at 0.9, {g[0.9]['rnn'][0]:.2g}",
        f"at 1.5 the first state still gets {g[1.5]['rnn'][0] / g[1.5]['rnn'][-1]:.0f} times",
        f"so the gate averages "
        f"{forget[3.0]['mean_forget']:.2f}) and at scale 1.0 its first state gets "
        f"{g[1.0]['lstm'][0]:.2g} of the gradient where the RNN's gets {g[1.0]['rnn'][0]:.2g}",
        f"With the bias at 1 the gate averages {forget[1.0]['mean_forget']:.2f}, and the first "
        f"state gets {forget[1.0]['norms'][0]:.2g}",
        f"at scale 1.1 the LSTM's first state gets {g[1.1]['lstm'][0]:.2g}",
    ]


def test_the_recurrent_model_sees_the_whole_name_and_beats_every_window(page):
    probs = page["rnn_next_probs"]
    assert not np.allclose(probs("christopher"), probs("esther"))
    rnn_held = rnn_lm.evaluate(page["rnn_model"], page["X_seq_held"], page["Y_seq_held"])
    assert rnn_held < mlp_lm.evaluate(page["wide"], page["X8_held"], page["Y8_held"])


def test_the_steps_of_the_tiny_model_are_the_models_forward(page):
    assert np.allclose(page["scores"], page["tiny"](page["context"])[0])


def test_the_windows_model_sees_only_its_window(page):
    probs = page["next_char_probs"]
    model = page["model"]
    assert np.array_equal(probs(model, "christopher"), probs(model, "esther"))
    assert not np.array_equal(probs(model, "christopher"), probs(model, "christophe"))


def test_the_network_beats_the_smaller_table_not_the_same_window(page):
    """What the prose says in words: between the tables of two and three characters of context,
    and the window of 8 better than the window of 3."""
    train, held_out = page["train"], page["held_out"]
    held = mlp_lm.evaluate(page["model"], page["X_held"], page["Y_held"])
    wide = mlp_lm.evaluate(page["wide"], page["X8_held"], page["Y8_held"])
    table3, table4 = (NGramModel(train, n=n, k=0.1).nll(held_out) for n in (3, 4))
    assert table4 < held < table3
    assert wide < held
    assert mlp_lm.evaluate(page["model"], page["X"], page["Y"]) < held  # training below held-out


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_is_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_more_hidden_units_and_longer_training_close_the_gap(page):
    """The prose says so in words: a bigger network (16 numbers per character, 200 hidden units,
    minibatches of 64, 10,000 steps) passes the table with the same three characters of context."""
    train, held_out, vocab = page["train"], page["held_out"], page["vocab"]
    bigger = mlp_lm.MLPLanguageModel(len(vocab), block_size=3, n_embd=16, n_hidden=200, rng=0,
                                     dtype=np.float64)
    mlp_lm.train(bigger, page["X"], page["Y"], steps=7500, batch_size=64, lr=0.1, seed=0)
    mlp_lm.train(bigger, page["X"], page["Y"], steps=2500, batch_size=64, lr=0.01, seed=1)
    held = mlp_lm.evaluate(bigger, page["X_held"], page["Y_held"])
    assert held < NGramModel(train, n=4, k=0.1).nll(held_out)


def test_the_trainers_vowels_gather_in_one_part_of_the_plane():
    """The trainer widget's text: with 2 numbers per character, after a few thousand steps the
    vowels sit closer to each other than the consonants do, and apart from them."""
    settings = {"block_size": 3, "n_embd": 2, "n_hidden": 64, "lr": 0.3, "seed": 0}
    session = mlp_lm.session_start(**settings)["id"]
    mlp_lm.session_train(session, 2000)
    state = mlp_lm.session_state(session, samples=0, with_losses=False)
    mlp_lm.session_end(session)
    E, vocab = np.asarray(state["embeddings"]), state["vocab"]
    vowels = [vocab.index(c) for c in "aeiouy"]
    consonants = [i for i, c in enumerate(vocab) if c != "." and i not in vowels]

    def mean_distance(a: list[int], b: list[int]) -> float:
        return np.mean([np.linalg.norm(E[i] - E[j]) for i in a for j in b if i != j])

    among_vowels = mean_distance(vowels, vowels)
    assert among_vowels < 0.6 * mean_distance(consonants, consonants)
    assert among_vowels < 0.6 * mean_distance(vowels, consonants)
