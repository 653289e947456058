"""The EmbeddingSpaceExplorer's numbers (lmlab.embeddings.explorer*) and the GloVe subset
(lmlab.data.glove), checked against independent computations: brute-force cosines, the
covariance matrix's eigenvalues, PyTorch."""

import numpy as np
import pytest
from lmlab import data, embeddings


@pytest.fixture(scope="module")
def small() -> embeddings.WordVectors:
    """A made-up vocabulary that contains every explorer word, plus some others."""
    words, _ = embeddings.explorer_words()
    words = words + [f"extra{i}" for i in range(40)]
    rng = np.random.default_rng(3)
    return embeddings.WordVectors(words, rng.standard_normal((len(words), 12)).astype(np.float32))


def test_the_glove_subset_is_what_the_book_says():
    glove = data.glove()
    assert len(glove) == 10_020 and glove.vectors.shape == (10_020, 50)
    assert glove.vectors.dtype == np.float32
    assert glove.words[:4] == ["the", ",", ".", "of"]  # GloVe's frequency order
    assert data.glove() is glove  # loaded once
    words, _ = embeddings.explorer_words()
    assert all(w in glove for w in words)


def test_explorer_neighbours_are_the_brute_force_ones(small):
    view = embeddings.explorer(True, k=4, vectors=small)
    unit = small.vectors / np.linalg.norm(small.vectors, axis=1, keepdims=True)
    for i in (0, 17, 60, len(view["words"]) - 1):
        word = view["words"][i]
        scores = unit @ unit[small.index[word]]
        scores[small.index[word]] = -np.inf
        best = np.argsort(-scores)[:4]
        assert [w for w, _ in view["neighbours"][i]] == [small.words[j] for j in best]
        assert np.allclose([c for _, c in view["neighbours"][i]], scores[best], atol=1e-6)
    assert view["among"] == len(small)


def test_explorer_positions_are_the_principal_components(small):
    view = embeddings.explorer(True, vectors=small)
    points = np.stack([small.vector(w) for w in view["words"]]).astype(np.float64)
    centred = points - points.mean(axis=0)
    eigenvalues = np.sort(np.linalg.eigvalsh(centred.T @ centred))[::-1]
    coords = np.stack([view["x"], view["y"]], axis=1)
    # the variance along each axis is the covariance's largest eigenvalues, in order
    assert np.allclose((coords**2).sum(axis=0), eigenvalues[:2])
    assert np.allclose(view["variance"], eigenvalues[:2] / eigenvalues.sum())
    assert abs(coords[:, 0] @ coords[:, 1]) < 1e-9 * eigenvalues[0]  # uncorrelated axes


def test_the_random_view_is_seeded_and_small(small):
    a = embeddings.explorer(False, seed=1, vectors=small)
    b = embeddings.explorer(False, seed=1, vectors=small)
    assert a == b and a["trained"] is False
    table = embeddings.random_like(small, seed=1).vectors
    assert table.shape == small.vectors.shape and abs(table.std() - 0.02) < 0.002


def test_explorer_neighbours_with_a_readers_cosine_match_lmlabs():
    views = embeddings.explorer_views(k=5)
    words = views["trained"]["words"]

    def cosine(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    mine = embeddings.explorer_neighbours("cat", cosine, k=5)
    glove = data.glove()
    expected = sorted(((w, glove.similarity("cat", w)) for w in words if w != "cat"),
                      key=lambda p: -p[1])[:5]
    assert [w for w, _ in mine] == [w for w, _ in expected]
    assert np.allclose([c for _, c in mine], [c for _, c in expected], atol=1e-6)
    with pytest.raises(ValueError, match="one number"):
        embeddings.explorer_neighbours("cat", lambda a, b: a * b)
    with pytest.raises(ValueError, match="explorer's words"):
        embeddings.explorer_neighbours("zebra", cosine)


def test_explorer_analogy_answers_and_ranks(small):
    a, b, c = small.words[0], small.words[5], small.words[9]
    result = embeddings.explorer_analogy(a, b, c, k=3, vectors=small)
    assert [w for w, _ in result["answers"]] == [w for w, _ in small.analogy(a, b, c, k=3)]
    target = small.unit[small.index[b]] - small.unit[small.index[a]] + small.unit[small.index[c]]
    everyone = np.argsort(-(small.unit @ target / np.linalg.norm(target)))
    for word, _, rank in result["inputs"]:
        assert small.words[everyone[rank - 1]] == word
    assert set(result["points"]) == {a, b, c, "b - a + c", *(w for w, _ in result["answers"])}
    with pytest.raises(ValueError, match="not among"):
        embeddings.explorer_analogy("nosuchword", b, c, vectors=small)


@pytest.mark.reference
def test_explorer_cosines_match_torch(small):
    import torch

    view = embeddings.explorer(True, k=3, vectors=small)
    word, (first, cos) = view["words"][3], view["neighbours"][3][0]
    expected = torch.nn.functional.cosine_similarity(
        torch.tensor(small.vector(word), dtype=torch.float64),
        torch.tensor(small.vector(first), dtype=torch.float64), dim=0)
    assert abs(cos - float(expected)) < 1e-6


PAIRS = [("king", "queen"), ("man", "woman"), ("boy", "girl")]


def test_the_direction_axis_is_the_pairs_direction_then_the_rest_principal(small):
    layout = embeddings.explorer_direction(PAIRS, vectors=small)
    words, _ = embeddings.explorer_words()
    points = np.stack([small.vector(w) for w in words]).astype(np.float64)
    centred = points - points.mean(axis=0)
    # the direction, written out: unit rows, mean of b - a, unit length
    unit = small.vectors / np.linalg.norm(small.vectors, axis=1, keepdims=True)
    mean = np.mean([unit[small.index[b]] - unit[small.index[a]] for a, b in PAIRS], axis=0)
    along = mean / np.linalg.norm(mean)
    assert np.allclose(layout["x"], centred @ along)
    # the vertical axis: the largest eigenvalue of the covariance with the direction taken out
    flat = np.eye(len(along)) - np.outer(along, along)
    rest = flat @ (centred.T @ centred) @ flat
    y = np.array(layout["y"])
    assert np.isclose(y @ y, np.linalg.eigvalsh(rest)[-1])
    x = centred @ along
    assert np.allclose(layout["variance"], np.array([x @ x, y @ y]) / np.sum(centred**2))
    assert layout["pairs"] == [list(p) for p in PAIRS]
    # pairs the other way round mirror the horizontal axis and keep the vertical one
    mirrored = embeddings.explorer_direction([(b, a) for a, b in PAIRS], vectors=small)
    assert np.allclose(mirrored["x"], -centred @ along) and np.allclose(mirrored["y"], y)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        embeddings.explorer_direction([("king", "zebra")], vectors=small)


def test_analogy_points_follow_the_axes_drawn(small):
    layout = embeddings.explorer_direction(PAIRS, vectors=small)
    words, _ = embeddings.explorer_words()
    solved = embeddings.explorer_analogy("man", "king", "woman", vectors=small, pairs=PAIRS)
    for word in ("man", "king", "woman"):
        i = words.index(word)
        assert np.allclose(solved["points"][word], [layout["x"][i], layout["y"][i]])


def _analogy(a, b, c, vectors):
    """The chapter's exercise, as a reader would solve it."""
    unit = lambda w: vectors.unit[vectors.index[w]]  # noqa: E731
    scores = vectors.unit @ (unit(b) - unit(a) + unit(c))
    for w in (a, b, c):
        scores[vectors.index[w]] = -np.inf
    return vectors.words[int(np.argmax(scores))]


def test_a_readers_analogy_is_placed_and_ranked_against_lmlabs(small):
    for pairs in (None, PAIRS):
        lmlab = embeddings.explorer_analogy("man", "king", "woman", vectors=small, pairs=pairs)
        mine = embeddings.explorer_reader_analogy("man", "king", "woman", _analogy,
                                                  vectors=small, pairs=pairs)
        best, cosine = lmlab["answers"][0]
        assert mine["word"] == best and mine["rank"] == 1
        assert np.isclose(mine["cosine"], cosine, atol=1e-6)
        assert np.allclose(mine["point"], lmlab["points"][best])
    # a worse answer is ranked where lmlab's list puts it; a query word has no rank
    third = lmlab["answers"][2][0]
    found = embeddings.explorer_reader_analogy("man", "king", "woman", lambda *_: third,
                                               vectors=small)
    assert found["rank"] == 3
    cheat = embeddings.explorer_reader_analogy("man", "king", "woman", lambda *_: "king",
                                               vectors=small)
    assert cheat["rank"] is None
    for wrong in (None, "zebra", 3):
        with pytest.raises(ValueError, match="should return a word"):
            embeddings.explorer_reader_analogy("man", "king", "woman", lambda *_, w=wrong: w,
                                               vectors=small)
    # the reader's function gets the vectors the explorer shows: the random table too
    seen = []
    embeddings.explorer_reader_analogy("man", "king", "woman",
                                       lambda a, b, c, v: seen.append(v) or "queen",
                                       trained=False, seed=2, vectors=small)
    assert np.array_equal(seen[0].vectors, embeddings.random_like(small, seed=2).vectors)
