import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab.ngram import NGramModel, build_alphabet, table_growth, table_size

NAMES = ["emma", "ava", "eve", "anna", "bob"]
word_lists = st.lists(st.text("abcde", min_size=1, max_size=8), min_size=1, max_size=12)


def naive_ngrams(words, n):
    """The windows written out the obvious way, to check the vectorised version against."""
    out = []
    for word in words:
        padded = "." * (n - 1) + word + "."
        out += [padded[i : i + n] for i in range(len(word) + 1)]
    return out


def test_alphabet_puts_the_boundary_first():
    assert build_alphabet(NAMES) == [".", "a", "b", "e", "m", "n", "o", "v"]
    with pytest.raises(ValueError, match="boundary"):
        build_alphabet(["a.b"])


def test_bigram_counts_by_hand():
    model = NGramModel(NAMES)
    c = model.index
    # Names start with e (emma, eve), a (ava, anna) or b (bob).
    assert model.counts[c["."]].tolist() == [0, 2, 1, 2, 0, 0, 0, 0]
    # After "a": the end three times (emma, ava, anna), then v once and n once.
    assert model.counts[c["a"], c["."]] == 3
    assert model.counts[c["a"], c["v"]] == 1 and model.counts[c["a"], c["n"]] == 1
    assert model.counts.sum() == sum(len(w) + 1 for w in NAMES)
    assert model.probs[c["."], c["e"]] == pytest.approx(2 / 5)
    np.testing.assert_allclose(model.probs[model.counts.sum(1) > 0].sum(1), 1.0)


def test_average_nll_by_hand():
    model = NGramModel(NAMES)
    # "ava": P(a|.) = 2/5, P(v|a) = 1/5, P(a|v) = 1/2, P(.|a) = 3/5.
    expected = -(math.log(2 / 5) + math.log(1 / 5) + math.log(1 / 2) + math.log(3 / 5)) / 4
    assert model.nll(["ava"]) == pytest.approx(expected, rel=1e-12)
    steps = model.score_word("ava")
    assert [(s["context"], s["char"]) for s in steps] == [(".", "a"), ("a", "v"), ("v", "a"),
                                                         ("a", ".")]
    assert [s["prob"] for s in steps] == pytest.approx([2 / 5, 1 / 5, 1 / 2, 3 / 5])
    assert np.mean([s["nll"] for s in steps]) == pytest.approx(expected)
    both = model.nll(["ava", "bob"])
    assert both == pytest.approx(np.mean([s["nll"] for w in ["ava", "bob"]
                                          for s in model.score_word(w)]))


def test_unseen_pairs_need_smoothing():
    raw = NGramModel(NAMES)
    assert raw.nll(["eb"]) == math.inf  # "e" is never followed by "b"
    assert raw.score_word("eb")[1]["nll"] == math.inf
    smooth = NGramModel(NAMES, k=1.0)
    assert math.isfinite(smooth.nll(["eb"]))
    c = smooth.index
    row = smooth.counts[c["e"]]
    assert smooth.probs[c["e"], c["b"]] == pytest.approx(1 / (row.sum() + smooth.vocab_size))
    # A huge k washes the counts out: every prediction approaches a uniform guess.
    flat = NGramModel(NAMES, k=1e9)
    assert flat.nll(NAMES) == pytest.approx(math.log(flat.vocab_size), rel=1e-6)
    # Certain steps cost exactly nothing.
    assert NGramModel(["abc"], n=3).score_word("abc")[1]["nll"] == 0.0


def test_trigram_windows_and_contexts():
    model = NGramModel(["emma", "eve"], n=3)
    windows = ["".join(model.chars[i] for i in g) for g in model.ngrams(["emma"])]
    assert windows == ["..e", ".em", "emm", "mma", "ma."]
    assert model.context("") == ".." and model.context("e") == ".e"
    assert model.context("emm") == "mm"
    np.testing.assert_allclose(model.next_probs("e"), model.probs[0, model.index["e"]])
    assert model.next_probs("")[model.index["e"]] == 1.0


def test_unigram_ignores_context():
    model = NGramModel(["ab", "a"], n=1)
    assert model.context("ab") == ""
    np.testing.assert_allclose(model.probs, [2 / 5, 2 / 5, 1 / 5])
    np.testing.assert_allclose(model.next_probs("b"), model.probs)


@settings(max_examples=40, deadline=None)
@given(word_lists, st.integers(1, 4))
def test_vectorised_windows_match_the_obvious_loop(words, n):
    model = NGramModel(words, n=n, alphabet=[".", "a", "b", "c", "d", "e"])
    windows = ["".join(model.chars[i] for i in g) for g in model.ngrams(words)]
    assert windows == naive_ngrams(words, n)
    assert model.counts.sum() == sum(len(w) + 1 for w in words)
    # Every name ends exactly once.
    assert model.counts[..., 0].sum() == len(words)


def test_samples_follow_the_table():
    model = NGramModel(NAMES)
    names = model.sample_names(300, seed=0)
    assert names == model.sample_names(300, seed=0)
    assert all(set(name) <= set("abemnov") for name in names)
    first = np.array([name[0] for name in names])
    # P(first = e) = P(first = a) = 2/5, P(b) = 1/5.
    assert np.mean(first == "b") == pytest.approx(0.2, abs=0.07)
    assert np.mean(first == "e") == pytest.approx(0.4, abs=0.08)


def test_a_long_enough_context_only_recites_the_training_names():
    names = ["emma", "ava", "olivia", "mia"]
    model = NGramModel(names, n=4)
    assert set(model.sample_names(50, seed=1)) == set(names)


def test_sample_trace_records_every_choice():
    model = NGramModel(NAMES, n=2)
    steps = model.sample_trace(seed=4, top=3)
    assert steps == model.sample_trace(seed=4, top=3)
    assert steps[-1]["chosen"] == "."
    assert all(step["chosen"] != "." for step in steps[:-1])
    name = "".join(step["chosen"] for step in steps[:-1])
    assert model.sample(seed=4) == name
    for i, step in enumerate(steps):
        probs = model.next_probs(name[:i])
        assert step["context"] == model.context(name[:i])
        assert step["prob"] == probs[model.index[step["chosen"]]] > 0
        # The roll lands in the chosen character's slice of the cumulative distribution.
        cumulative = np.cumsum(probs)
        chosen = model.index[step["chosen"]]
        assert cumulative[chosen] - probs[chosen] <= step["roll"] < cumulative[chosen] + 1e-12
        shown = [c["prob"] for c in step["candidates"]]
        assert len(shown) == 3 and shown == sorted(shown, reverse=True)
        assert shown[0] == probs.max()


def test_max_length_stops_runaway_names():
    model = NGramModel(["aaaaaaaaaa"], n=2)  # "a" is followed by "a" nine times in ten
    steps = model.sample_trace(seed=0, max_length=3)
    assert len(steps) <= 4
    assert len(model.sample(seed=0, max_length=3)) <= 3


def test_table_growth_explodes():
    assert [row["entries"] for row in table_growth(27, 5)] == [27, 729, 19_683, 531_441,
                                                               14_348_907]
    assert [row["contexts"] for row in table_growth(27, 3)] == [1, 27, 729]
    assert table_size(10) == 205_891_132_094_649  # about 205 trillion
    assert table_size(2, 50_000) == 2_500_000_000
    assert table_size(3, 50_000) == 125_000_000_000_000
    letters = [chr(ord("a") + i) * 2 for i in range(26)]
    with pytest.raises(ValueError, match="14,348,907 entries"):
        NGramModel(letters, n=5)


def test_longer_contexts_leave_most_of_the_table_empty():
    words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"]
    filled = [NGramModel(words, n=n).nonzero_fraction() for n in (1, 2, 3, 4)]
    assert filled == sorted(filled, reverse=True)
    assert filled[3] < 0.01  # under 1% of the 4-gram table is ever seen


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n": 0}, "n must"), ({"n": 2.0}, "n must"), ({"k": -1.0}, "smoothing"),
     ({"alphabet": ["a", "."]}, "boundary")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NGramModel(["ab"], **kwargs)


def test_bad_words():
    with pytest.raises(ValueError, match="non-empty"):
        NGramModel([])
    with pytest.raises(ValueError, match="non-empty"):
        NGramModel(["ab", ""])
    with pytest.raises(ValueError, match="not in the model's alphabet"):
        NGramModel(NAMES).nll(["zoe"])


def test_temperature_reshapes_each_row_and_keeps_zeros():
    model = NGramModel(NAMES)
    cold = model.sample_trace(seed=1, temperature=0.25)
    for step in cold:
        row = model.next_probs(step["context"].lstrip(".") if model.n == 2 else step["context"])
        expected = row**4 / (row**4).sum()
        np.testing.assert_allclose(step["probs"], expected, rtol=1e-12)
    hot = model.sample_trace(seed=1, temperature=1.0)
    np.testing.assert_allclose(hot[0]["probs"], model.next_probs(""))
    assert model.sample_names(5, seed=2, temperature=1.0) == model.sample_names(5, seed=2)


def test_the_roll_lands_in_the_chosen_stretch_walked_in_alphabet_order():
    model = NGramModel(NAMES)
    for step in model.sample_trace(seed=7):
        cumulative = np.cumsum(step["probs"])
        chosen = model.index[step["chosen"]]
        low = cumulative[chosen - 1] if chosen else 0.0
        assert low <= step["roll"] < cumulative[chosen]


def test_the_names_widgets_answers():
    from lmlab import ngram

    table = ngram.bigram_table()
    assert len(table["chars"]) == 27 and table["chars"][0] == "."
    assert sum(map(sum, table["counts"])) == sum(table["row_totals"])
    assert table["counts"][0][0] == 0  # no name is empty
    draw = ngram.draw_next("q", seed=5)
    assert draw["chosen"] in ("u", "r") and draw["chosen"] == table["chars"][draw["index"]]
    trace = ngram.name_trace(seed=21)
    assert trace["name"] == "".join(s["chosen"] for s in trace["steps"][:-1])
    assert trace["steps"][-1]["chosen"] == "."
    assert ngram.name_trace(seed=21) == trace


def test_the_table_can_come_from_the_readers_counter():
    from lmlab import ngram

    mine = ngram.bigram_table(counter=lambda words, chars: ngram.NGramModel(words).counts)
    assert mine == ngram.bigram_table()
    assert mine["differs"] == 0
    no_end = ngram.bigram_table(
        counter=lambda words, chars: np.where(np.arange(27) == 0, 0, ngram.NGramModel(words).counts)
    )
    ends = ngram.names_model().counts[:, 0]
    assert no_end["differs"] == np.count_nonzero(ends)  # every name's end is missing
    assert no_end["probs"][1][0] == 0
    with pytest.raises(ValueError, match="shape"):
        ngram.bigram_table(counter=lambda words, chars: np.zeros(3))


def test_a_draw_from_a_row_is_a_draw_from_that_row():
    from lmlab import ngram

    row = ngram.names_model().next_probs("q")
    drawn = ngram.draw_from_row(row.tolist(), seed=5)
    assert drawn["index"] == ngram.draw_next("q", seed=5)["index"]
    assert drawn["roll"] == ngram.draw_next("q", seed=5)["roll"]


def test_the_name_generator_can_draw_from_the_readers_counts():
    from lmlab import ngram

    def exact(words, chars):
        return ngram.NGramModel(words, alphabet=chars).counts

    assert ngram.name_trace(seed=21, counter=exact) == {**ngram.name_trace(seed=21), "differs": 0}

    # Counts that put "z" after every start: every name they write begins with "z", whatever the
    # seed, and lmlab's own cached model is left as it was.
    def z_first(words, chars):
        counts = exact(words, chars).copy()
        counts[0] = 0
        counts[0, chars.index("z")] = 5
        return counts

    for seed in range(5):
        assert ngram.name_trace(seed=seed, counter=z_first)["steps"][0]["chosen"] == "z"
    assert ngram.name_trace(seed=21) == ngram.name_trace(seed=21, counter=exact)
    starts = ngram.names_model().counts[0]
    # Row "." differs wherever lmlab counted a first letter, and at "z" unless it counted 5 there.
    expected = np.count_nonzero(starts[:26]) + int(starts[26] != 5)
    assert ngram.name_trace(seed=0, counter=z_first)["differs"] == expected

    # No end marker: the name runs to the length limit instead of ending.
    def no_end(words, chars):
        counts = exact(words, chars).copy()
        counts[:, 0] = 0
        return counts

    endless = ngram.name_trace(seed=3, counter=no_end)
    assert len(endless["name"]) == 50 and all(s["chosen"] != "." for s in endless["steps"])

    # A row with no counts at all: the name cannot go on, and the error says where.
    with pytest.raises(ValueError, match="no counts after '.'"):
        ngram.name_trace(seed=0, counter=lambda words, chars: np.zeros((27, 27), dtype=int))
    with pytest.raises(ValueError, match="shape"):
        ngram.name_trace(seed=0, counter=lambda words, chars: np.zeros((26, 27)))


def test_the_readers_counter_runs_once_per_definition():
    from lmlab import ngram

    calls = []

    def counter(words, chars):
        calls.append(1)
        return ngram.NGramModel(words, alphabet=chars).counts

    for seed in range(3):
        ngram.name_trace(seed=seed, counter=counter)
    assert len(calls) == 1
    again = lambda words, chars: counter(words, chars)  # noqa: E731 - the cell run again
    ngram.name_trace(seed=0, counter=again)
    assert len(calls) == 2
