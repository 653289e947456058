"""Every number in chapter 2's prose, recomputed with lmlab from the chapter's own cells."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import data, neural_bigram
from lmlab.losses import log_softmax
from lmlab.ngram import NGramModel, table_size

PATH = REPO / "web/chapters/02-counting.md"
CHAPTER = load(PATH)

GIVENS = [
    "Chapter 1 drew", "the loop of chapter 1", "The temperature of chapter 1",
    "from chapter 6 on", "(chapter 4)",
    "between 0 and 1", "from 0 to 1",
    "$p_i^{1/T}$",
    "\\frac{1}{N} \\sum_{t=1}^{N} \\ln P(x_t \\mid x_{t-1})",
    "\\frac{1}{N}\\, X^\\top",
    "$-\\ln 0 = \\infty$",
    "$n - 1$", "$27^{n-1}$", "$27^n$",
    "\\big) / 2\\epsilon$",
    "`zip(padded, padded[1:])`",
    "$k = 0.1$", "$k = 10$",  # smoothing strengths the cell tries
    "the first 500 bigrams",  # the gradient check's size, chosen
    "says 2/4 here",  # the seed deck's number, quoted as wrong
    "probability 1/27",  # 1/V with V = 27, checked below as V
    "at $W = 0$ with",  # where the descent starts (the uniform model), by choice
    "subtract 1 at",  # the one of the one-hot row
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def first_step_within(losses: list[float], goal: float, gap: float) -> int:
    return next(i for i, loss in enumerate(losses) if loss - goal < gap)


def claims(page: dict) -> list[str]:
    names = page["names"]
    raw = sum(len(n) for n in names)
    model, counts, chars, i = page["model"], page["counts"], page["chars"], page["i"]
    V = len(chars)
    order = np.argsort(counts, axis=None)[::-1]
    a, b = np.unravel_index(order[0], counts.shape)
    firsts = np.argsort(-counts[0], kind="stable")[:3]
    q = counts[i["q"]]
    train, held_out, counted = page["train"], page["held_out"], page["counted"]
    smooth = NGramModel(train, k=0.1, alphabet=chars)
    five = table_size(5, V)
    sparsity = {n: NGramModel(names, n=n).nonzero_fraction() for n in (2, 3, 4)}
    zero_names = [w for w in held_out if counted.nll([w]) == math.inf]
    first_zero = next(s for s in counted.score_word(zero_names[0]) if s["prob"] == 0)
    _, losses = neural_bigram.train_counts(counted.counts, 1001, 50.0)
    goal = counted.nll(train)
    held = counted.ngrams(held_out)
    learned = -log_softmax(page["W"])[held[:, 0], held[:, 1]].mean()
    hyphenated = len({n.lower() for n in _source_names()}) - len(names)
    assert raw > 0
    return [
        f"There are {len(names):,} of them",
        f"made of the {V - 1} letters only (the list's {hyphenated} names with a hyphen",
        f"$P(\\texttt{{a}} \\mid \\texttt{{.}}) =\n{_toy_fraction(page)}$",
        f"there are {V} characters ({V - 1} letters and the dot)",
        f"$27^{{n-1}}$ contexts with {V} entries each",
        f"{V} × {V} = {V * V} cells",
        f"The most common bigram is `{chars[a]}{chars[b]}`: {counts[a, b]:,} names end in "
        f'"{chars[a]}"',
        f'"{chars[firsts[0]]}" starts {counts[0, firsts[0]]} names, "{chars[firsts[1]]}" '
        f'{counts[0, firsts[1]]} and "{chars[firsts[2]]}" {counts[0, firsts[2]]}',
        f'"q" is followed by "u" {q[i["u"]]} times and by "r" '
        f'{"once" if q[i["r"]] == 1 else q[i["r"]]}',
        f'the model says "u" with probability {model.probs[i["q"], i["u"]]:.3f}',
        f"This table of {V * V} probabilities",
        f"It remembers {V * V} numbers",
        f"$\\ln {V} = {math.log(V):.4f}$",
        f"Counting brings it down to {model.nll(names):.4f}",
        f"{['No', 'One', 'Two', 'Three', 'Four'][len(zero_names)]} held-out names contain a bigram",
        f'("{zero_names[0]}" has `{first_zero["context"]}{first_zero["char"]}`)',
        f"the held-out NLL is {smooth.nll(held_out):.4f}",
        f"At $n = 5$ the table has {five:,} cells",
        f"the names contain only {counts.sum():,} bigrams",
        f"Already {sparsity[2]:.1%} of the bigram cells are seen, but only {sparsity[3]:.1%} of "
        f"the trigram cells and {sparsity[4]:.1%} of the four-character ones",
        f"a vocabulary of {50_000:,} words a bigram table has {table_size(2, 50_000):,} cells and "
        f"a trigram table {table_size(3, 50_000):,}",
        f"vector $x$ of length {V}",
        f"multiply it by a {V} × {V} matrix",
        f"to get {V} logits",
        f"with a {V} × {V} table instead",
        f"From {losses[0]:.4f} the loss falls fast, is within 0.01 of counting after "
        f"{first_step_within(losses, goal, 0.01)} steps",
        f"The learned model scores {learned:.4f} on the held-out names",
        f"the bigrams of the first {neural_bigram.READER_NAMES} training names",
        f"has a row of {V} numbers for every bigram",
    ]


def _toy_fraction(page: dict) -> str:
    """P(a | .) in the four toy names, as the fraction the prose writes: 1/4."""
    starts = {pair: n for pair, n in page["pairs"].items() if pair[0] == "."}
    return f"{starts.get('.a', 0)}/{sum(starts.values())}"


def _source_names() -> list[str]:
    """Both raw name lists (hyphenated names included), from the packages build/data.py uses."""
    import sys

    sys.path.insert(0, str(REPO / "build"))
    import data as book_data

    names = []
    for source in book_data.DATASETS["names"].sources:
        names += book_data.source_bytes(source).decode().split()
    return names


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_in_the_prose_goes_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_the_summary_counts_the_names():
    front = PATH.read_text().split("---\n")[1].splitlines()  # (no yaml inside Pyodide)
    summary = next(line for line in front if line.startswith("summary: "))
    assert summary.startswith(f"summary: A real language model built by counting which letter "
                              f"follows which in {len(data.names()):,} names")
    assert "data: [names]" in front


def test_statements_in_words(page):
    names, counts, chars = page["names"], page["counts"], page["chars"]
    i = page["i"]
    assert max(names, key=len) == "christophorus"  # "The longest is"
    assert sorted(map(len, names))[-2] < len("christophorus")  # the only longest one
    q = counts[i["q"]]
    assert set(np.flatnonzero(q)) == {i["u"], i["r"]}  # "and by nothing else"
    toy = NGramModel(["aabid", "zeel", "priya", "nipun"])
    assert toy.counts[0].tolist().count(1) == 4  # "Each of the four names starts differently"
    assert toy.probs[0, toy.index["a"]] == 0.25
    counted, train, held_out = page["counted"], page["train"], page["held_out"]
    assert counted.nll(held_out) == math.inf  # "The held-out NLL is infinite"
    smooth = NGramModel(train, k=0.1, alphabet=chars)
    assert smooth.nll(held_out) < smooth.nll(train)  # "a little lower than the training NLL"
    ten = NGramModel(train, k=10.0, alphabet=chars)
    assert ten.nll(held_out) > smooth.nll(held_out) and ten.nll(train) > smooth.nll(train)
    # "within a hundred-millionth": the finite-difference check the cell prints as True
    assert page["difference"] < 1e-8
    # "and then creeps closer without ever getting there"
    _, losses = neural_bigram.train_counts(counted.counts, 1001, 50.0)
    goal = counted.nll(train)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] > goal
    # "about as well as counting with the best smoothing above"
    held = counted.ngrams(held_out)
    learned = -log_softmax(page["W"])[held[:, 0], held[:, 1]].mean()
    best = min(NGramModel(train, k=k, alphabet=chars).nll(held_out) for k in (0.01, 0.1, 1.0, 10.0))
    assert abs(learned - best) < 0.001


def test_the_readers_widgets_do_what_the_prose_says(page):
    """The NameGenerator on the reader's counts and the LearningCurve on their gradient."""
    import inspect
    import re

    from lmlab import ngram

    # "Counts without the end marker give names that never stop (the generator cuts them off
    # after fifty letters)"
    assert inspect.signature(NGramModel.sample_trace).parameters["max_length"].default == 50

    def no_end(words, chars):
        counts = NGramModel(words, alphabet=chars).counts.copy()
        counts[:, 0] = 0
        return counts

    assert len(ngram.name_trace(seed=21, counter=no_end)["name"]) == 50
    # The widgets are placed with the reader's functions the chapter defines.
    text = PATH.read_text()
    for widget, name in [("name-generator", "bigram_counts"), ("learning-curve", "loss_and_grad")]:
        config = json.loads(re.search(rf"^::: widget {widget} (.*)$", text, re.M).group(1))
        assert config["reader"]["fn"] == name and callable(page[name])
        assert f"```python id={config['reader']['cell']}\n" in text
    # "the one written out above, or yours from the exercise": the two have one signature, and
    # "Break the gradient (drop the `/ len(ys)`) ... the widget says which entries differ".
    gradient_cell = next(k for k, (code, _) in enumerate(CHAPTER.cells)
                         if code.startswith("def loss_and_grad(W, xs, ys):\n    \"\"\"W (27, 27)"))
    up_to_it = replace(CHAPTER, cells=CHAPTER.cells[: gradient_cell + 1])
    written_out = run_cells(up_to_it)["loss_and_grad"]
    curve = neural_bigram.reader_learning_curve(written_out, steps=10)
    assert curve["first_step"]["same"]
    assert "/ len(ys)" in text.split("```python id=gradient\n", 1)[1].split("```", 1)[0]

    def broken(W, xs, ys):
        loss, dW = written_out(W, xs, ys)
        return loss, dW * len(ys)

    broken_curve = neural_bigram.reader_learning_curve(broken, steps=300)
    assert broken_curve["first_step"]["differing"] > 0
    # "A wrong gradient still moves the weights, just not to the counting model."
    assert broken_curve["losses"][-1] != broken_curve["losses"][0]
    assert min(broken_curve["losses"]) - broken_curve["counting_loss"] > 0.1


def test_printed_values_sit_away_from_rounding_edges(page):
    """Outputs printed to 4 decimals must round the same in the browser (no SIMD kernels) as on
    the build machine: their fifth and later digits stay clear of ...5 by a margin."""
    counted, train, held_out = page["counted"], page["train"], page["held_out"]
    held = counted.ngrams(held_out)
    values = [
        page["model"].nll(page["names"]), counted.nll(train), page["loss_c"],
        -log_softmax(page["W"])[held[:, 0], held[:, 1]].mean(),
        *(NGramModel(train, k=k, alphabet=page["chars"]).nll(s)
          for k in (0.01, 0.1, 1.0, 10.0) for s in (train, held_out)),
    ]
    _, losses = neural_bigram.train_counts(counted.counts, 1001, 50.0)
    values += losses[::200]
    for value in values:
        scaled = value * 1e4
        assert abs(scaled - math.floor(scaled) - 0.5) > 1e-6, value
