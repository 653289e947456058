"""Every number in chapter 4's prose, recomputed with lmlab from the chapter's own cells."""

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import data, embeddings
from lmlab.gpt import GPT2_SMALL, parameter_counts
from lmlab.word2vec import TOY_CORPUS, cooccurrence_counts, pmi, train_word2vec
from printed import fixed

PATH = REPO / "web/chapters/04-embeddings.md"
CHAPTER = load(PATH)

GIVENS = [
    "(90-talk-to-a-real-model.html#one-word-three-meanings)",
    'as 12 and "cat" as 5847',  # an imagined numbering, the point being that it is arbitrary
    "In 2013, Mikolov", "Levy and Goldberg (2014)", "(Press and Wolf, 2017)", "Llama 2 among them",
    "(chapter 7)",
    "(400,000 words, cut here",  # GloVe 6B's vocabulary (DATA.md: the wheel has 400,000 rows)
    "$\\mathcal{N}(0, 0.02^2)$",  # Embedding's initial scale, lmlab.embeddings.Embedding
    "raised to the power 0.75",  # lmlab.word2vec.noise_distribution's default, checked below
    "a single 1 in the token's own slot", "\\{0, 1\\}^{|V|}", "multiplied by 0",
    "word2vec", "GPT-2", "about 2% of it",  # 1,024 / 50,000, checked in test_statements_in_words
    "label 1 (the true word) or 0 (a negative)", "(sigmoid(v_true @ h) - 1) * h",
    "$\\sqrt{2}$", "cosine of the angle between them is 0",
    "$k + 1$", "\\sum_{i=1}^{k}", "$-\\infty$",
    "and gets 2 in each place; row 0 gets 1",  # checked in test_statements_in_words
    "vocabulary of 50,000 tokens a one-hot", "for 50,000 words is 50,000 dot products",
    "Row 3 was used twice", "two writes to row 3",
    "with 10-dimensional vectors, a window of 2 and 5 negatives per pair, for 100 passes",
    "A batch of 1,024 tokens touches at most 1,024 rows of a 50,000-row",
    "in all 50 dimensions", "With 50 dimensions", "sum_j \\log",
    "context`, of shape (m, d)", "`v_true` (d,)", "`v_negs` (k, d)",
    "h \\cdot E[i, :]", "E[i, :].$$", "$|V| \\times d$",
    "PMI} - \\log 5$", "\\log k$", "$\\log k$",
    "(the text of chapter 3,",
    "Bolukbasi and colleagues (2016)",
    "each pair's cosine is 0",  # checked in test_the_gender_cell_prints_the_independent_projection
    "scales the mean to length 1",  # lmlab.embeddings.direction, tests/unit/test_embeddings.py
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def claims(page: dict) -> list[str]:
    glove, toy, toy_cbow = page["glove"], page["toy"], page["toy_cbow"]
    sg = page["sg"]
    counts, noise, words = page["counts"], page["noise"], page["words"]
    the = words.index("the")
    V = 50_000
    analogy = {q: glove.analogy(*q, k=1)[0][1] for q in page["tests"]}
    tied, untied = parameter_counts(GPT2_SMALL), parameter_counts(GPT2_SMALL, tie_weights=False)
    table = GPT2_SMALL.vocab_size * GPT2_SMALL.n_embd
    pieces = page["pieces"]
    unit = page["bard_vectors"].unit
    pairs = (unit.sum(axis=0) @ unit.sum(axis=0) - len(unit)) / (len(unit) * (len(unit) - 1))
    gender = _gender_projection(page)
    return [
        f"Each side is {fixed(page['distances'][0, 1], 3)} long, the square root of 2",
        f"king at {_signed(gender['king'])} and queen at {_signed(gender['queen'])}, "
        f"uncle at {_signed(gender['uncle'])} and aunt at {_signed(gender['aunt'])}",
        f"yet nurse scores {_signed(gender['nurse'])}, while engineer scores\n"
        f"{_signed(gender['engineer'])} and captain {_signed(gender['captain'])}",
        f'"secretary" ({_signed(gender["secretary"])})',
        f"the mean over all words is {_signed(gender['mean over all'])}",
        f"Uncle to aunt has cosine {fixed(gender['uncle->aunt'], 3)} with the direction, "
        f"brother to sister {fixed(gender['brother->sister'], 3)}, king to queen "
        f"{fixed(gender['king->queen'], 3)},\nwhile cat to dog ({_signed(gender['cat->dog'])}) and "
        f"paris to france ({_signed(gender['paris->france'])})",
        f"GPT-2 gives each of its {GPT2_SMALL.vocab_size:,} tokens {GPT2_SMALL.n_embd} numbers, "
        f"{fixed(GPT2_SMALL.vocab_size / GPT2_SMALL.n_embd, 0)} times fewer",
        f"Without its rare words the text is {sum(len(p.split()) for p in pieces):,} words long",
        f"two different words have a mean cosine of {fixed(pairs, 2)}",
        f"over\na vocabulary of {V:,} tokens a one-hot vector is {fixed(100 * (V - 1) / V, 3)}% "
        "zeros",
        f"The book's copy keeps {len(glove):,} words (the {_book_data().GLOVE_TOP:,} most frequent "
        f"and {len(glove) - _book_data().GLOVE_TOP} that",
        f"{glove.vectors.shape[1]} numbers each. Now",
        f'"cat" and "dog" have cosine {fixed(glove.similarity("cat", "dog"), 3)}, "cat" and "car" '
        f'only {fixed(glove.similarity("cat", "car"), 3)}',
        f"The product spends {V * 768:,}\nmultiplications (almost all by zero) to copy 768 numbers",
        f"This toy corpus has {len(TOY_CORPUS)} sentences, {counts.sum()} words of text and "
        f"{len(words)} different words",
        f'"the" makes up {fixed(counts[the] / counts.sum(), 3)} of the text but only '
        f"{fixed(noise[the], 3)} of the negatives",
        f"The loss falls from {fixed(sg['loss'][0], 3)} to {fixed(sg['loss'][-1], 3)}",
        f"end with cosine {fixed(toy.similarity('cat', 'dog'), 3)}",
        f"stay at {fixed(toy.similarity('cat', 'rug'), 3)}",
        f'CBOW also puts "cat" next to "dog" ({fixed(toy_cbow.similarity("cat", "dog"), 3)})',
        f"(cat and rug: {fixed(toy_cbow.similarity('cat', 'rug'), 3)})",
        f"Queen ({fixed(analogy[('man', 'king', 'woman')], 3)}), "
        f"Rome ({fixed(analogy[('france', 'paris', 'italy')], 3)}), "
        f"swam ({fixed(analogy[('walk', 'walked', 'swim')], 3)}), "
        f"Tokyo ({fixed(analogy[('france', 'paris', 'japan')], 3)}) and "
        f"worse ({fixed(analogy[('good', 'better', 'bad')], 3)})",
        f"a {len(glove):,}-word vocabulary",
        f"On the {page['seen'].sum()} pairs that occur together",
        f"correlation {fixed(page['r'], 2)}",
        f"vocabulary of {GPT2_SMALL.vocab_size:,} tokens and {GPT2_SMALL.n_embd} numbers per token",
        f"saves {tied['token_embedding']:,} parameters, since the untied model would have "
        f"{untied['total']:,} instead of\n{tied['total']:,}",
        f"The table is {fixed(100 * table / tied['total'], 1)}% of GPT-2 small",
    ]


def _signed(value: float) -> str:
    """As the gender cell prints: f"{value:+.3f}", checked by printed.fixed."""
    return ("+" if value > 0 else "") + fixed(value, 3)


def _gender_projection(page: dict) -> dict[str, float]:
    """The gender cell's figures recomputed with plain numpy from the raw GloVe rows: the unit
    mean of the pairs' differences of unit vectors, and each word's cosine with it."""
    glove = page["glove"]
    vectors = glove.vectors.astype(np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    row = lambda w: unit[glove.words.index(w)]  # noqa: E731
    mean = np.mean([row(b) - row(a) for a, b in page["pairs"]], axis=0)
    axis = mean / np.linalg.norm(mean)
    found = {w: float(row(w) @ axis) for w in page["probe"]}
    found["mean over all"] = float((unit @ axis).mean())
    for a, b in OFFSETS:
        offset = row(b) - row(a)
        found[f"{a}->{b}"] = float(offset @ axis / np.linalg.norm(offset))
    return found


OFFSETS = [("uncle", "aunt"), ("brother", "sister"), ("king", "queen"), ("actor", "actress"),
           ("cat", "dog"), ("paris", "france")]


def test_the_gender_cell_prints_the_independent_projection(page):
    gender = _gender_projection(page)
    lmlab_values = embeddings.project(page["glove"], page["probe"], page["gender"])
    assert np.allclose(lmlab_values, [gender[w] for w in page["probe"]], atol=1e-6)
    # "None of king, queen, actor, actress, uncle, aunt, prince and princess is in the pairs,
    # and each lands on its side"
    in_pairs = {w for pair in page["pairs"] for w in pair}
    held_out = [("king", "queen"), ("actor", "actress"), ("uncle", "aunt"), ("prince", "princess")]
    for he, she in held_out:
        assert he not in in_pairs and she not in in_pairs
        assert gender[he] < 0 < gender[she]
    # "doctor and teacher sit near zero"; "the average word already leans slightly to the men's"
    assert abs(gender["doctor"]) < 0.01 and abs(gender["teacher"]) < 0.01
    assert -0.1 < gender["mean over all"] < 0
    # "its nearest words here are deputy, vice, affairs and general"
    top = [w for w, _ in page["glove"].nearest_neighbours("secretary", 4)]
    assert top == ["deputy", "vice", "affairs", "general"]
    # the offsets cell: "points mostly along it" for the pairs, "nearly at right angles" otherwise
    assert fixed(page["cos"], 3) == fixed(gender["paris->france"], 3)  # the cell's last line
    for a, b in OFFSETS[:4]:
        assert gender[f"{a}->{b}"] > 0.7
    for a, b in OFFSETS[4:]:
        assert abs(gender[f"{a}->{b}"]) < 0.1
    # the triangle: every side the same, sqrt(2), every cosine 0
    distances, cosines = page["distances"], page["cosines"]
    off = ~np.eye(3, dtype=bool)
    assert np.allclose(distances[off], np.sqrt(2)) and not cosines[off].any()


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_in_the_prose_goes_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def _book_data():
    """build/data.py (GLOVE_TOP: how many of GloVe's most frequent words the book ships)."""
    import sys

    sys.path.insert(0, str(REPO / "build"))
    import data as book_data

    return book_data


def test_givens_that_are_lmlab_settings():
    counts = np.array([8.0, 1.0])
    from lmlab.word2vec import noise_distribution

    assert np.allclose(noise_distribution(counts), counts**0.75 / (counts**0.75).sum())
    weight = embeddings.Embedding(2000, 50, rng=0).weight
    assert abs(weight.std() - 0.02) < 0.001


def test_statements_in_words(page):
    glove = page["glove"]
    # one-hot: every pair sqrt(2) apart, cosine 0
    onehots = page["onehots"]
    for i in range(5):
        for j in range(i + 1, 5):
            assert np.linalg.norm(onehots[i] - onehots[j]) == np.sqrt(2)
            assert embeddings.cosine_similarity(onehots[i], onehots[j]) == 0
    # "bit for bit"; the gradient rows
    assert np.array_equal(page["by_index"], page["by_product"])
    grad = page["grad"]
    assert (grad[3] == 2).all() and (grad[0] == 1).all() and not grad[[1, 2, 4]].any()
    assert (page["wrong"][3] == 1).all() and (page["right"][3] == 2).all()
    # "about 2% of it"
    assert round(100 * 1024 / 50_000) == 2
    # "the rarest words more often": milk's share of the negatives exceeds its share of the text
    words, counts, noise = page["words"], page["counts"], page["noise"]
    milk = words.index("milk")
    assert noise[milk] > counts[milk] / counts.sum()
    # "skip-gram ... separates the animals from the things they sit on" better than CBOW
    assert page["toy"].similarity("cat", "rug") < page["toy_cbow"].similarity("cat", "rug")
    # the failures, as the prose tells them
    assert glove.analogy("walking", "walked", "swimming")[0][0] == "athletics"
    top = [w for w, _ in glove.analogy("einstein", "physicist", "picasso", k=2)]
    assert top == ["sculptor", "painter"]
    top = [w for w, _ in glove.analogy("uncle", "aunt", "brother", k=4)]
    assert top[0] == "wife" and top[3] == "sister"
    # "without it, the nearest word to king - man + woman is 'king' itself"
    inputs = embeddings.explorer_analogy("man", "king", "woman")["inputs"]
    assert [w for w, _, rank in inputs if rank == 1] == ["king"]
    # "Among GloVe's neighbours of 'bank', money wins"
    top = [w for w, _ in glove.nearest_neighbours("bank", 5)]
    assert top[:3] == ["banks", "securities", "banking"]
    # the explorer's words are all in the shipped vectors; "about a hundred and twenty words"
    words_shown, _ = embeddings.explorer_words()
    assert all(w in glove for w in words_shown) and 110 <= len(words_shown) <= 130
    # "In larger models the share shrinks": GPT-2 medium and large
    from lmlab.gpt import GPTConfig

    shares = [parameter_counts(GPTConfig(50257, 1024, n, h, d))
              for n, h, d in ((24, 16, 1024), (36, 20, 1280))]
    small = parameter_counts(GPT2_SMALL)
    fractions = [s["token_embedding"] / s["total"] for s in (small, *shares)]
    assert fractions == sorted(fractions, reverse=True)


def test_statements_about_word2vec_on_shakespeare(page):
    bard = page["bard_vectors"]
    top = lambda word, k: [w for w, _ in bard.nearest_neighbours(word, k)]  # noqa: E731
    # "father lands among family: daughter, son, husband"
    assert top("father", 3) == ["daughter", "son", "husband"]
    # "he has she as its nearest word by far"
    (first, c1), (_, c2) = bard.nearest_neighbours("he", 2)
    assert first == "she" and c1 - c2 > 0.15
    # "king sits with prince and crown"
    assert {"prince", "crown"} <= set(top("king", 5))
    # "every word seen at least ten times, one pass over the text, in pieces of a hundred words"
    from collections import Counter

    counts = Counter(w for p in page["pieces"] for w in p.split())
    assert min(counts.values()) >= 10 and len(page["bard"]["loss"]) == 1
    assert {len(p.split()) for p in page["pieces"][:-1]} == {100}


def test_statements_about_the_skipgram_dynamics_widget():
    import inspect

    from lmlab.word2vec import sgns_step_parts, sgns_trace, skipgram_dynamics

    parameters = inspect.signature(skipgram_dynamics).parameters
    defaults = {name: p.default for name, p in parameters.items()}
    cell = inspect.signature(train_word2vec).parameters
    # "a learning rate twenty times larger than the cell above and fewer passes over the text"
    assert defaults["lr"] == pytest.approx(20 * cell["lr"].default)
    assert defaults["epochs"] < 100  # the cell's epochs=100
    # "the first step moves no dot at all, and the next few barely"
    settings = {"negatives": defaults.pop("k"), **defaults}
    trace = sgns_trace(TOY_CORPUS, **settings)
    moves = np.linalg.norm(np.diff(trace["vectors"], axis=0), axis=2).max(axis=1)
    assert moves[0] == 0 and moves[1:4].max() < 0.2 * np.median(moves)
    assert sgns_step_parts(trace)["pull"][0].tolist() == [0, 0]
    # "within a few thousand steps"
    assert 1000 < len(trace["centre"]) < 5000


def test_the_pmi_figures_are_the_cells(page):
    """The PMI cell's figures, recomputed from scratch."""
    long = train_word2vec(TOY_CORPUS, dim=20, window=2, negatives=5, epochs=300, seed=0)
    N = cooccurrence_counts(page["corpus"], len(page["words"]), window=2)
    seen = N > 0
    dots = long["vectors"] @ long["context_vectors"].T
    r = np.corrcoef(dots[seen], pmi(N, k=5)[seen])[0, 1]
    assert fixed(r, 2) == fixed(page["r"], 2)


def test_the_data_front_matter():
    front = PATH.read_text().split("---\n")[1].splitlines()
    assert "data: [glove, shakespeare]" in front  # GloVe; tiny-shakespeare for word2vec
    assert len(data.glove()) == 10_020
