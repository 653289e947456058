import numpy as np
import pytest
from lmlab.embeddings import (
    Embedding,
    WordVectors,
    cosine_matrix,
    cosine_similarity,
    direction,
    lookup_as_matmul,
    one_hot,
    pca,
    project,
)
from lmlab.figures import ISOMETRIC, OneHotTriangle


def test_one_hot_shape_and_values():
    out = one_hot(np.array([[2, 0], [1, 2]]), 3)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 1])
    np.testing.assert_array_equal(out[1, 0], [0, 1, 0])
    assert out.sum() == 4


def test_one_hots_of_different_ids_are_orthogonal_and_sqrt2_apart():
    e = one_hot([0, 1, 2], 3)
    np.testing.assert_array_equal(e @ e.T, np.eye(3))
    assert np.linalg.norm(e[0] - e[2]) == pytest.approx(np.sqrt(2))


@pytest.mark.parametrize("bad", [-1, 3])
def test_one_hot_rejects_out_of_range_ids(bad):
    with pytest.raises(ValueError, match="out of range"):
        one_hot([0, bad], 3)


def test_one_hot_rejects_float_ids():
    with pytest.raises(ValueError, match="integers"):
        one_hot(np.array([0.0, 1.0]), 3)


def test_embedding_init_is_seeded_and_small():
    a, b = Embedding(1000, 64, rng=7), Embedding(1000, 64, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.weight.std() == pytest.approx(0.02, rel=0.02)
    assert abs(a.weight.mean()) < 0.001
    assert not np.array_equal(a.weight, Embedding(1000, 64, rng=8).weight)
    assert a.num_parameters() == 64_000


def test_embedding_dtype():
    assert Embedding(5, 3, rng=0, dtype=np.float32).weight.dtype == np.float32


def test_embedding_forward_is_row_indexing_for_any_shape():
    emb = Embedding(10, 4, rng=0)
    ids = np.array([[1, 9, 1], [0, 3, 3]])
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out[0, 1], emb.weight[9])
    assert emb(5).shape == (4,)


def test_lookup_equals_one_hot_times_matrix():
    emb = Embedding(6, 5, rng=1)
    ids = np.array([[0, 5, 2], [2, 2, 1]])
    np.testing.assert_allclose(lookup_as_matmul(ids, emb.weight), emb(ids), rtol=0, atol=1e-15)


def test_embedding_rejects_ids_outside_the_table():
    emb = Embedding(4, 2, rng=0)
    with pytest.raises(ValueError, match="id 4 is out of range"):
        emb(np.array([0, 4]))
    with pytest.raises(ValueError, match="id -1"):
        emb(np.array([-1]))


def test_embedding_backward_is_sparse_and_accumulates_repeated_ids():
    emb = Embedding(5, 3, rng=0)
    ids = np.array([1, 3, 1, 1])
    emb(ids)
    dout = np.arange(12, dtype=float).reshape(4, 3)
    assert emb.backward(dout) is None
    grad = emb.grads["weight"]
    np.testing.assert_array_equal(grad[1], dout[0] + dout[2] + dout[3])
    np.testing.assert_array_equal(grad[3], dout[1])
    np.testing.assert_array_equal(grad[[0, 2, 4]], 0)
    # a second use adds to the first, as the Module contract says
    emb(np.array([0]))
    emb.backward(np.ones((1, 3)))
    np.testing.assert_array_equal(grad[0], 1)
    np.testing.assert_array_equal(grad[1], dout[0] + dout[2] + dout[3])


def test_embedding_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    emb = Embedding(6, 4, rng=1)
    ids = np.array([[2, 5, 2], [0, 2, 5]])
    target = rng.standard_normal((2, 3, 4))

    def loss() -> float:
        return float(np.sum(np.sin(emb(ids)) * target))

    emb(ids)
    emb.backward(np.cos(emb.weight[ids]) * target)
    numeric = np.zeros_like(emb.weight)
    h = 1e-6
    for index in np.ndindex(emb.weight.shape):
        saved = emb.weight[index]
        emb.weight[index] = saved + h
        up = loss()
        emb.weight[index] = saved - h
        down = loss()
        emb.weight[index] = saved
        numeric[index] = (up - down) / (2 * h)
    np.testing.assert_allclose(emb.grads["weight"], numeric, rtol=1e-7, atol=1e-9)


def test_embedding_backward_needs_matching_shape():
    emb = Embedding(5, 3, rng=0)
    with pytest.raises(ValueError, match="before forward"):
        emb.backward(np.ones((2, 3)))
    emb(np.array([1, 2]))
    with pytest.raises(ValueError, match="expected"):
        emb.backward(np.ones((3, 3)))


@pytest.mark.reference
def test_embedding_matches_torch_forward_and_gradient():
    import torch

    emb = Embedding(7, 5, rng=3)
    ids = np.array([[1, 4, 1, 6], [1, 0, 4, 4]])
    dout = np.random.default_rng(1).standard_normal((2, 4, 5))
    ref = torch.nn.Embedding(7, 5, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(emb.weight))
    ref_out = ref(torch.from_numpy(ids))
    ref_out.backward(torch.from_numpy(dout))
    out = emb(ids)
    emb.backward(dout)
    np.testing.assert_array_equal(out, ref_out.detach().numpy())
    # A row's gradient sums up to three of dout's rows (all below 5 in size); numpy's add.at and
    # torch's kernel may add them in another order, which moves the sum by a few ulps of the
    # terms: 3 terms x eps x 5 < 4e-15.
    bound = 3 * np.finfo(np.float64).eps * 5
    np.testing.assert_allclose(emb.grads["weight"], ref.weight.grad.numpy(), rtol=0, atol=bound)


def test_cosine_similarity_of_vectors():
    assert cosine_similarity([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 1.0], [3.0, 3.0]) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 2.0], [-2.0, -4.0]) == pytest.approx(-1.0)
    assert cosine_similarity([0.0, 0.0], [1.0, 2.0]) == 0.0
    assert isinstance(cosine_similarity([1.0, 2.0], [2.0, 1.0]), float)


def test_cosine_similarity_broadcasts_and_cosine_matrix_is_pairwise():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6))
    matrix = cosine_matrix(a, b)
    assert matrix.shape == (4, 3)
    # Two ways of summing 6 products (a matrix product, an elementwise sum) agree to the rounding
    # bound of a 6-term dot product, relative to the norms: about 6 eps for each of the two.
    bound = 2 * 6 * np.finfo(np.float64).eps
    np.testing.assert_allclose(matrix, cosine_similarity(a[:, None, :], b[None, :, :]), atol=bound)
    np.testing.assert_allclose(np.diag(cosine_matrix(a)), 1.0, atol=bound)


@pytest.mark.reference
def test_cosine_similarity_matches_torch():
    import torch

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 8)), rng.standard_normal((5, 8))
    ref = torch.nn.functional.cosine_similarity(torch.from_numpy(a), torch.from_numpy(b), dim=-1)
    np.testing.assert_allclose(cosine_similarity(a, b), ref.numpy(), rtol=1e-12, atol=1e-15)


def test_pca_finds_the_direction_of_largest_spread():
    rng = np.random.default_rng(0)
    t = rng.standard_normal(200)
    points = np.stack([3 * t, 3 * t, 0.01 * rng.standard_normal(200)], axis=1) + 5.0
    coords = pca(points, 2)
    assert coords.shape == (200, 2)
    np.testing.assert_allclose(
        np.abs(coords[:, 0]), np.abs(3 * np.sqrt(2) * (t - t.mean())), atol=1e-3
    )
    assert coords[:, 1].std() < 0.02
    assert coords[np.argmax(np.abs(coords[:, 0])), 0] > 0


def toy_vectors() -> WordVectors:
    """Hand-made vectors; axes: person, royal, gender, animal, vehicle, young."""
    rows = {
        "king": [1, 1, 0.5, 0, 0, 0],
        "queen": [1, 1, -0.5, 0, 0, 0],
        "man": [1, 0, 0.5, 0, 0, 0],
        "woman": [1, 0, -0.5, 0, 0, 0],
        "prince": [1, 1, 0.5, 0, 0, 0.5],
        "princess": [1, 1, -0.5, 0, 0, 0.5],
        "cat": [0, 0, 0, 1, 0, 0],
        "dog": [0, 0, 0.1, 1, 0, 0],
        "car": [0, 0, 0, 0, 1, 0],
    }
    return WordVectors(list(rows), np.array(list(rows.values()), dtype=float))


def test_word_vectors_validate_their_input():
    with pytest.raises(ValueError, match="one vector per word"):
        WordVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="unique"):
        WordVectors(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        toy_vectors().vector("zebra")


def test_similarity_and_nearest_neighbours():
    wv = toy_vectors()
    assert len(wv) == 9 and "cat" in wv and "zebra" not in wv
    assert wv.similarity("cat", "dog") > wv.similarity("cat", "car")
    neighbours = wv.nearest_neighbours("king", k=3)
    # cosines with king: prince 0.949, queen 0.778, man 0.745, princess 0.738
    assert [w for w, _ in neighbours] == ["prince", "queen", "man"]
    scores = [s for _, s in neighbours]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(wv.similarity("king", "prince"))
    assert "king" not in dict(wv.nearest_neighbours("king", k=8))
    assert "prince" not in dict(wv.nearest_neighbours("king", k=8, exclude=["prince"]))
    assert len(wv.nearest_neighbours("king", k=100)) == 8
    with pytest.raises(ValueError, match="k must be"):
        wv.nearest_neighbours("king", k=0)


def test_nearest_to_each_row_equals_one_search_per_row():
    wv = toy_vectors()
    queries = np.random.default_rng(5).standard_normal((4, wv.vectors.shape[1]))
    together = wv.nearest_to_each(queries, k=3)
    for query, found in zip(queries, together, strict=True):
        alone = wv.nearest_neighbours(query, k=3)
        assert [w for w, _ in found] == [w for w, _ in alone]
        np.testing.assert_allclose([s for _, s in found], [s for _, s in alone], rtol=1e-6)
    with pytest.raises(ValueError, match="k must be"):
        wv.nearest_to_each(queries, k=0)


def test_nearest_neighbours_of_a_vector_include_every_word():
    wv = toy_vectors()
    assert wv.nearest_neighbours(wv.vector("cat"), k=1) == [("cat", pytest.approx(1.0))]


def test_analogy_excludes_the_query_words():
    wv = toy_vectors()
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert wv.analogy("king", "queen", "prince")[0][0] == "princess"
    # without the exclusion, the nearest word to the target is one of the queries
    target = wv.unit[wv.index["king"]] - wv.unit[wv.index["man"]] + wv.unit[wv.index["woman"]]
    assert wv.nearest_neighbours(target, k=1)[0][0] in {"king", "woman", "queen"}
    answers = wv.analogy("man", "king", "woman", k=6)
    assert len(answers) == 6 and not {"man", "king", "woman"} & {w for w, _ in answers}


def test_intruder_has_lowest_mean_similarity():
    wv = toy_vectors()
    result = wv.intruder(["king", "queen", "prince", "cat"])
    assert result["intruder"] == "cat"
    means = result["mean_similarity"]
    assert min(means, key=means.get) == "cat"
    sims = {w: [wv.similarity(w, o) for o in means if o != w] for w in means}
    for word, values in sims.items():
        assert means[word] == pytest.approx(np.mean(values))
    assert wv.intruder(["cat", "dog", "car"])["intruder"] == "car"
    with pytest.raises(ValueError, match="at least 3"):
        wv.intruder(["cat", "dog"])


def test_word_vectors_keep_float32_and_accept_float16():
    wv = toy_vectors()
    for dtype in (np.float32, np.float16):
        small = WordVectors(wv.words, wv.vectors.astype(dtype))
        assert small.unit.dtype == np.float32
        assert small.analogy("man", "king", "woman")[0][0] == "queen"
        assert small.similarity("king", "queen") == pytest.approx(
            wv.similarity("king", "queen"), 1e-3
        )


def _small_space() -> WordVectors:
    words = ["man", "woman", "he", "she", "king", "queen", "table", "zero"]
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(words), 6))
    vectors[-1] = 0.0  # a zero vector stays zero after normalising
    return WordVectors(words, vectors)


def test_direction_is_the_unit_mean_of_the_pair_differences():
    space = _small_space()
    pairs = [("man", "woman"), ("he", "she"), ("king", "queen")]
    # the same thing written out independently: unit rows, differences, mean, unit length
    named = zip(space.words[:6], space.vectors[:6], strict=True)
    raw = {w: v / np.linalg.norm(v) for w, v in named}
    mean = sum(raw[b] - raw[a] for a, b in pairs) / len(pairs)
    expected = mean / np.sqrt(mean @ mean)
    got = direction(space, pairs)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # one pair: the direction from a to b, so b projects higher than a
    one = direction(space, [("man", "woman")])
    assert project(space, ["woman"], one)[0] > project(space, ["man"], one)[0]


def test_project_is_each_words_cosine_with_the_axis():
    space = _small_space()
    axis = direction(space, [("man", "woman"), ("he", "she")])
    words = ["king", "queen", "table", "zero"]
    got = project(space, words, axis)
    for word, value in zip(words, got, strict=True):
        v = space.vectors[space.index[word]]
        expected = 0.0 if not v.any() else v @ axis / np.linalg.norm(v)
        assert value == pytest.approx(expected, abs=1e-12)
    assert got.shape == (4,)


def test_direction_refuses_what_has_no_direction():
    space = _small_space()
    with pytest.raises(ValueError, match="at least one"):
        direction(space, [])
    with pytest.raises(ValueError, match="cancel"):
        direction(space, [("man", "woman"), ("woman", "man")])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        direction(space, [("man", "zebra")])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        project(space, ["zebra"], np.ones(6) / np.sqrt(6))


def test_the_one_hot_triangle_draws_and_describes_the_given_numbers():
    three = one_hot(np.arange(3), 3)
    distances = np.linalg.norm(three[:, None] - three[None], axis=-1)
    figure = OneHotTriangle(three, ["cat", "dog", "car"], distances, cosine_matrix(three))
    svg = figure._repr_svg_()
    text = figure.description()
    assert text.count("distance 1.414, cosine 0.000") == 3
    assert "cat (1, 0, 0)" in text and "car (0, 0, 1)" in text
    assert 'role="img"' in svg and f"<title>{text}</title>" in svg
    assert svg.count("distance 1.414, cos 0") == 3 and svg.count("<circle") == 3
    # the tips are drawn as far from each other as the vectors are: an equilateral triangle
    tips = [ISOMETRIC @ v for v in three]
    sides = [np.linalg.norm(tips[i] - tips[j]) for i, j in ((0, 1), (1, 2), (0, 2))]
    np.testing.assert_allclose(sides, sides[0])
    with pytest.raises(ValueError, match="three 3-D vectors"):
        OneHotTriangle(np.eye(4), ["a", "b", "c", "d"], np.eye(4), np.eye(4))
