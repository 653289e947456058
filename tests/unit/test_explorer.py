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
