"""Every number in chapter 5's prose, recomputed with lmlab from the chapter's own cells."""

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab.attention import causal_mask, scaled_dot_product_attention
from lmlab.position import alibi_slopes, apply_rope, sinusoidal_encoding
from printed import fixed

PATH = REPO / "web/chapters/05-position.md"
CHAPTER = load(PATH)

GIVENS = [
    "GPT-2's tokenizer from chapter 3", "the token table of chapter 4",
    "$0, 1, \\ldots, T-1$",
    "(chapter 7)", "(chapter 6)", "(Vaswani et al., 2017)", "(Press et al., 2022)",
    "most open models since 2023",
    "PE(p, 2i) = \\sin\\!\\left(\\frac{p}{10000^{2i/d}}\\right)",
    "PE(p, 2i+1) = \\cos\\!\\left(\\frac{p}{10000^{2i/d}}\\right)",
    "The heatmap below is the table for 20\npositions and 64 dimensions",  # the widget's size
    "Column 0 swings", "between −1 and 1",
    "GPT-2", "GPT-3", "$PE(p + k)$", "$PE(p)$",
    "the pair $(x_0, x_1)$", "$(x_0 \\cos a - x_1 \\sin a,\\; x_0 \\sin a + x_1 \\cos a)$",
    "the sines go to", "`pe[:, 0::2]`", "`pe[:, 1::2]`",
    "`p = np.arange(T)[:, None]`", "`f = 10000 ** (-np.arange(0, d, 2) / d)`",
    "Work on `x[0::2]` and `x[1::2]` at once", "a (T, d/2) table",
    "(shape `(n_heads, 1, 1)`)", "`np.where(distance >= 0, ..., -np.inf)`",
    "`distance = np.arange(T)[:, None] - np.arange(T)[None, :]`",
    "$2^{-1}, 2^{-2}, \\ldots, 2^{-8}$",  # alibi_slopes(8), checked below
    "though not steadily (it rises again by 6)",  # checked in test_statements_in_words
    "A sinusoidal table can be computed for position 5,000 even if training never went past 1,000",
    "query 16 has no position vector",  # = the trained length, checked below
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def claims(page: dict) -> list[str]:
    pe, table, bias = page["pe"], page["table"], page["bias"]
    slopes = alibi_slopes(8)
    lab, lab_kwargs = page["lab"], _lab_defaults()
    T, trained, head = lab_kwargs["T"], lab_kwargs["trained"], lab_kwargs["alibi_head"]
    return [
        f"It opens with one token repeated {T} times",
        f"every score of every row is the same number, {_minus(lab['none'][0, 0], 3)}",
        f"The learned panel has rows for the first {trained} positions",
        f"three positions back scores {_minus(lab['rope'][10, 7])} from query 10\nand from "
        "query 20",
        f"(three back is {_minus(lab['sinusoidal'][10, 7])} from query 10 and "
        f"{_minus(lab['sinusoidal'][20, 17])} from\nquery 20)",
        f"(for head {head}, {slopes[head]:g} a step)",
        "column 62 changes by only "
        f"{fixed(np.ptp(pe[:, 62]), 4)}\nover all {pe.shape[0]}",
        f"both dot products are {fixed(table[5] @ table[8], 4)}",
        f"The dot\nproduct is largest, {fixed(table[0] @ table[0], 1)} (half of {table.shape[1]})",
        f"GPT-2 small has {1024:,}; position {1024:,} has no vector at all",
        f"The pairs (3, 1), (10, 8) and (100, 98) all score {_minus(page['score'](3, 1))}",
        f"scores {_minus(page['score'](3, 3))}, the plain",
        f"With {len(slopes)} heads the slopes are",
        f"Head 0 takes {slopes[0]:g} off per position of distance, head {len(slopes) - 1}\n"
        f"only {fixed(-bias[7, 5, 4], 4)}",
        *input_claims(page),
        *dna_claims(),
    ]


def input_claims(page: dict) -> list[str]:
    """The bag of ids, the path to the first block and the same token at two positions."""
    from lmlab.embeddings import cosine_similarity
    from lmlab.gpt import GPT2_SMALL, parameter_counts

    gpt2, inputs, ids = page["gpt2"], page["inputs"], page["ids"]
    bag = ", ".join(str(i) for i in sorted(gpt2.encode(" dog bites man")))
    first, second = np.flatnonzero(ids == gpt2.encode(" cat")[0])
    sines, with_sines = page["sines"], page["with_sines"]
    return [
        f"the same three ids, {{{bag}}}, in another order",
        f"a {len(ids)} × {inputs.shape[1]} array",
        f"GPT-2 small follows the same path {GPT2_SMALL.n_embd} numbers\nwide; its position "
        f"table holds {parameter_counts(GPT2_SMALL)['position_embedding']:,} numbers",
        f"have a cosine of {fixed(cosine_similarity(inputs[first], inputs[second]), 3)}",
        f"the cosine is {fixed(cosine_similarity(with_sines[first], with_sines[second]), 3)}, "
        f"which is the cosine of $PE({first})$ and $PE({second})$ on\ntheir own",
        f"is {fixed(np.linalg.norm(sines[first]), 2)} long and the untrained token row only\n"
        f"{fixed(np.linalg.norm(page['tokens'][first]), 2)}",
    ]


DNA_TRAINED, DNA_READ = 1000, 5000


def dna_claims() -> list[str]:
    return [
        f"trained on sequences of {DNA_TRAINED:,} and must now\nread one of {DNA_READ:,}",
        f"for\nposition {DNA_READ - 1:,}?",
        f"rows for positions 0 to {DNA_TRAINED - 1} and nothing after",
    ]


def _minus(x: float, digits: int = 4) -> str:
    return ("−" if x < 0 else "") + fixed(abs(x), digits)


def _lab_defaults() -> dict:
    """The position lab's settings, as the chapter's widget directive gives them."""
    import json
    import re

    directive = re.search(r"^::: widget position-lab (.*)$", PATH.read_text(), re.M)
    return json.loads(directive.group(1))["kwargs"]


def test_the_lab_cell_is_the_widgets_setting(page):
    """The cell computes what the widget opens with; the statements the prose makes about it."""
    from lmlab.position import lab_scores

    kwargs = _lab_defaults()
    lab = page["lab"]
    expected = lab_scores(kwargs["T"], trained=kwargs["trained"], dim=kwargs["dim"],
                          content=kwargs["content"], seed=kwargs["seed"],
                          alibi_head=kwargs["alibi_head"])  # fmt: skip
    for name, scores in expected.items():
        np.testing.assert_array_equal(lab[name], scores)
    allowed = np.tril(np.ones((kwargs["T"],) * 2, dtype=bool))
    # "every score of every row is the same number"
    assert np.ptp(lab["none"][allowed]) < 1e-12
    # learned: "query 16 has no position vector, so it has no score"
    assert np.isnan(lab["learned"][kwargs["trained"]:][allowed[kwargs["trained"]:]]).all()
    assert np.isfinite(lab["learned"][: kwargs["trained"]][allowed[: kwargs["trained"]]]).all()
    # RoPE "the same along every diagonal, past the trained length too"
    for offset in range(kwargs["T"]):
        diagonal = np.diagonal(lab["rope"], offset=-offset)
        assert np.allclose(diagonal, diagonal[0], rtol=1e-10, atol=1e-12)
    # ALiBi: "the no-position score minus the same penalty per step back"
    slope = alibi_slopes(8)[kwargs["alibi_head"]]
    m, n = np.nonzero(allowed)
    assert np.allclose(lab["alibi"][m, n], lab["none"][m, n] - slope * (m - n))


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_in_the_prose_goes_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_statements_in_words(page):
    # shuffling the input shuffles the output
    attend, x, order = page["attend"], page["x"], page["order"]
    assert np.allclose(attend(x[order]), attend(x)[order])
    # "A causal mask ... breaks the symmetry": with the mask, a shuffle is no longer a shuffle
    q = k = v = x
    order = np.array([4, 3, 2, 1, 0])
    mask = causal_mask(len(x))
    masked = scaled_dot_product_attention(q[order], k[order], v[order], mask=mask)[0]
    assert not np.allclose(masked, scaled_dot_product_attention(q, k, v, mask=mask)[0][order])
    pe = page["pe"]
    assert pe[:, 0].min() == -1.0 or np.isclose(pe[:, 0].min(), -1.0, atol=1e-3)  # whole range
    assert len({tuple(row) for row in pe.round(6)}) == 20  # every row different
    big = sinusoidal_encoding(5000, 64)
    assert np.abs(big).max() <= 1.0  # "stay between -1 and 1 however long the text"
    # the dot products: largest with itself, not monotone, not zero
    table = page["table"]
    row = table[0] @ table[:7].T
    assert row.argmax() == 0 and row[6] > row[5] and row.min() > 0
    assert all(np.isclose(table[p] @ table[p + 3], table[5] @ table[8]) for p in range(100))
    # RoPE: same score for the same offset; the self-score is the plain q.k
    score, q, k = page["score"], page["q"], page["k"]
    assert np.isclose(score(3, 3), q @ k) and np.isclose(score(12, 12), q @ k)
    assert np.isclose(score(10, 8), score(3, 1)) and np.isclose(score(100, 98), score(3, 1))
    assert np.isclose(np.linalg.norm(apply_rope(np.tile(q, (50, 1)))[49]), np.linalg.norm(q))
    # ALiBi: the slopes halve from 2^-1 to 2^-8; the bias masks the future
    assert np.allclose(alibi_slopes(8), 2.0 ** -np.arange(1, 9))
    assert np.isneginf(page["bias"][:, 0, 1:]).all()


def test_gpt2_cuts_the_two_sentences_into_different_tokens():
    from lmlab import data
    from lmlab.gpt2 import GPT2Tokenizer

    files = data.gpt2_files()
    gpt2 = GPT2Tokenizer.from_files(files["encoder.json"], files["vocab.bpe"])
    a, b = gpt2.encode("dog bites man"), gpt2.encode("man bites dog")
    assert sorted(a) != sorted(b)  # not the same tokens in another order
    assert gpt2.encode("man") != gpt2.encode(" man")


def test_the_models_input_in_words(page):
    from lmlab.embeddings import cosine_similarity

    gpt2, ids, inputs, tokens = page["gpt2"], page["ids"], page["inputs"], page["tokens"]
    # "the first two lines share only ' bites'"
    a, b = gpt2.encode("dog bites man"), gpt2.encode("man bites dog")
    assert set(a) & set(b) == set(gpt2.encode(" bites"))
    assert sorted(gpt2.encode(" dog bites man")) == sorted(gpt2.encode(" man bites dog"))
    # the convolution, unlike attention, does not just shuffle its output
    convolve, x, order = page["convolve"], page["x"], page["order"]
    assert not np.allclose(convolve(x[order]), convolve(x)[order])
    # the forward pass and the block by hand agree: inputs is what the first block sees
    assert np.allclose(page["logits"], page["by_hand"], atol=1e-5)
    # " cat" twice, the same token row, two different inputs
    first, second = np.flatnonzero(ids == gpt2.encode(" cat")[0])
    assert np.array_equal(tokens[first], tokens[second])
    assert not np.allclose(inputs[first], inputs[second])
    # "about equally long and nearly at right angles ... the cosine lands near one half"
    pos_rows = page["pos_rows"]
    for t in (first, second):
        assert 0.8 < np.linalg.norm(pos_rows[t]) / np.linalg.norm(tokens[t]) < 1.25
        assert abs(cosine_similarity(pos_rows[t], tokens[t])) < 0.25
    assert abs(cosine_similarity(pos_rows[first], pos_rows[second])) < 0.25
    assert abs(cosine_similarity(inputs[first], inputs[second]) - 0.5) < 0.1
    # sinusoidal: the cosine is that of PE(3) and PE(10) to the 3 decimals shown
    sines, with_sines = page["sines"], page["with_sines"]
    assert fixed(cosine_similarity(with_sines[first], with_sines[second]), 3) == fixed(
        cosine_similarity(sines[first], sines[second]), 3)


def test_the_dna_answer():
    """A learned table of 1,000 rows has nothing for position 4,999; the rules do."""
    from lmlab.position import LearnedPositionEmbedding

    with pytest.raises(ValueError, match="cannot extrapolate"):
        LearnedPositionEmbedding(DNA_TRAINED, 4, rng=0)(np.array([DNA_READ - 1]))
    LearnedPositionEmbedding(DNA_TRAINED, 4, rng=0)(np.array([DNA_TRAINED - 1]))
    assert np.isfinite(sinusoidal_encoding(DNA_READ, 4)[DNA_READ - 1]).all()
    q = np.ones((1, 4))
    assert np.isfinite(apply_rope(q, [DNA_READ - 1])).all()


EXERCISES = ["sinusoidal", "rope", "alibi", "model_input"]


def test_each_exercise_fails_as_given_and_passes_with_its_solution(page):
    """The starters as the page gives them fail their checks; the chapter's solutions, run as a
    reader would paste them, pass."""
    import re

    from lmlab import exercises

    text = PATH.read_text()
    namespace: dict = {"np": np}
    for name in EXERCISES:
        starter = exercises.CHECKS[name](page[name])
        assert not starter["passed"] and starter["input"] and starter["hint"], name
        block = text[text.index(f":::: exercise {name}\n"):]
        solution = re.search(r"::: solution\n```\n(.*?)```", block, re.S).group(1)
        exec(solution, namespace)  # noqa: S102 - the book's own solution
        assert exercises.CHECKS[name](namespace[name])["passed"], name
    # "Try yours on the sentence above ... should equal inputs"
    model = page["model"]
    assert np.array_equal(namespace["model_input"](page["ids"], model.wte.weight,
                                                   model.wpe.weight), page["inputs"])  # fmt: skip
