"""Embeddings: from discrete token ids to dense vectors, and what the vectors' geometry says.

A token id is a label, not a quantity. ``one_hot`` turns it into a vector without pretending
otherwise; an ``Embedding`` table does the same job with a learned dense row per token, and
``one_hot(ids, V) @ W`` equals ``W[ids]``, which is why the lookup can be trained like any
matrix product. Its gradient is sparse: only the rows that were looked up receive one.

``WordVectors`` pairs a vocabulary with a matrix of vectors (trained here by ``word2vec`` or
loaded from GloVe) and answers the classic questions: which words are closest, which word
completes an analogy, which word in a list does not belong.
"""

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from lmlab.module import Module


def one_hot(ids: np.ndarray | Sequence[int] | int, num_classes: int) -> np.ndarray:
    """ids: (...) integers in [0, num_classes) -> (..., num_classes) float array of 0s and 1s."""
    ids = _check_ids(ids, num_classes)
    return (ids[..., None] == np.arange(num_classes)).astype(np.float64)


class Embedding(Module):
    """A learned table with one row of ``dim`` numbers per id; looking up ids is row indexing.

    ``weight`` has shape (num_embeddings, dim) and starts as N(0, 0.02^2), the scale GPT-2 uses:
    small enough that the first layers are not swamped before training has shaped the rows.
    ``rng`` is a seed or a ``np.random.Generator`` so that two tables built alike are identical.
    """

    def __init__(
        self,
        num_embeddings: int,
        dim: int,
        rng: np.random.Generator | int | None = None,
        dtype: type = np.float64,
    ) -> None:
        super().__init__()
        if num_embeddings < 1 or dim < 1:
            raise ValueError(f"need num_embeddings >= 1 and dim >= 1, got {num_embeddings}, {dim}")
        rng = np.random.default_rng(rng)
        self.num_embeddings = num_embeddings
        self.dim = dim
        self.weight = self.add_param(
            "weight", (0.02 * rng.standard_normal((num_embeddings, dim))).astype(dtype)
        )
        self.ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray | Sequence[int] | int) -> np.ndarray:
        """ids: (...) integers -> (..., dim), row ``ids[...]`` of the table."""
        self.ids = _check_ids(ids, self.num_embeddings)
        return self.weight[self.ids]

    def backward(self, dout: np.ndarray) -> None:
        """dout: (..., dim) -> None; adds dout into the rows that were looked up.

        ``np.add.at`` is needed rather than ``grad[ids] += dout``: with a repeated id the
        buffered ``+=`` keeps only the last write, while the gradient is the sum over every use.
        Ids are integers, so there is no gradient to return.
        """
        if self.ids is None:
            raise ValueError("backward called before forward")
        if dout.shape != self.ids.shape + (self.dim,):
            raise ValueError(
                f"dout has shape {dout.shape}, expected {self.ids.shape + (self.dim,)}"
            )
        np.add.at(self.grads["weight"], self.ids, dout)
        return None


def lookup_as_matmul(ids: np.ndarray | Sequence[int], weight: np.ndarray) -> np.ndarray:
    """ids: (...), weight: (V, d) -> (..., d) computed as one_hot(ids, V) @ weight.

    The slow way to do what ``weight[ids]`` does; it shows that an embedding lookup is a matrix
    product whose left factor has a single 1 per row.
    """
    return one_hot(ids, weight.shape[0]) @ weight


def cosine_similarity(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> np.ndarray | float:
    """Cosine of the angle between vectors along the last axis.

    a: (d,), b: (d,) -> a float; a: (..., d), b: (..., d) -> (...) with broadcasting, as
    ``torch.nn.functional.cosine_similarity(a, b, dim=-1)``. Each norm is clamped to ``eps``
    so that a zero vector gives 0 instead of nan.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm_a = np.maximum(np.linalg.norm(a, axis=-1), eps)
    norm_b = np.maximum(np.linalg.norm(b, axis=-1), eps)
    result = np.sum(a * b, axis=-1) / (norm_a * norm_b)
    return float(result) if result.ndim == 0 else result


def cosine_matrix(a: np.ndarray, b: np.ndarray | None = None, eps: float = 1e-8) -> np.ndarray:
    """a: (n, d), b: (m, d) or None (= a) -> (n, m): cosine of each row of a with each row of b."""
    a_unit = _unit_rows(np.asarray(a, dtype=np.float64), eps)
    b_unit = a_unit if b is None else _unit_rows(np.asarray(b, dtype=np.float64), eps)
    return a_unit @ b_unit.T


def pca(vectors: np.ndarray, n_components: int = 2) -> np.ndarray:
    """vectors: (n, d) -> (n, n_components) coordinates along the directions of largest variance.

    For drawing a cloud of word vectors in 2-D. The sign of each axis is fixed (largest
    coordinate positive) so that the picture does not flip between runs.
    """
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:n_components].T
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])])
    return coords * np.where(signs == 0, 1.0, signs)


class WordVectors:
    """A vocabulary and its vectors: ``words[i]`` is the word whose vector is ``vectors[i]``."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(
                f"need one vector per word: {len(words)} words, vectors of shape {vectors.shape}"
            )
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("words must be unique")
        self.vectors = vectors
        # Unit rows once, so every similarity search is a single matrix-vector product. float32
        # stays float32 (400,000 GloVe rows in float64 would take 160 MB of a browser tab).
        self.unit = _unit_rows(vectors.astype(np.result_type(vectors.dtype, np.float32)), 1e-8)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def vector(self, word: str) -> np.ndarray:
        """The (d,) vector of a word."""
        return self.vectors[self._id(word)]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self._id(a)] @ self.unit[self._id(b)])

    def nearest_neighbours(
        self, query: str | np.ndarray, k: int = 5, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """The k words most cosine-similar to a word or a (d,) vector, best first.

        A query word is left out of its own neighbours, as are the words in ``exclude``.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        excluded = {self._id(word) for word in exclude}
        if isinstance(query, str):
            excluded.add(self._id(query))
            target = self.unit[self._id(query)]
        else:
            target = _unit_rows(np.asarray(query, dtype=np.float64)[None, :], 1e-8)[0]
        scores = self.unit @ target
        scores[list(excluded)] = -np.inf
        k = min(k, len(self.words) - len(excluded))
        if k == 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best]

    def nearest_to_each(self, queries: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """``nearest_neighbours(q, k)`` for every row q of queries (m, d) at once, in one (m, N)
        matrix product in the table's own dtype (float32 for GloVe: no float64 copy of it)."""
        if not 1 <= k <= len(self.words):
            raise ValueError(f"k must be between 1 and {len(self.words)}, got {k}")
        target = _unit_rows(np.asarray(queries, dtype=self.unit.dtype), 1e-8)
        # einsum, not target @ unit.T: Pyodide's numpy has no BLAS, and for 12 queries against
        # 10,020 GloVe rows its einsum loop takes 3 ms where matmul takes 4.6
        return _ranked(self, np.einsum("md,nd->mn", target, self.unit), k)

    def analogy(self, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
        """Answer "a is to b as c is to ?" with the k words nearest to b - a + c, not a, b or c.

        This is 3CosAdd (Levy and Goldberg 2014) on unit vectors: the answer maximises
        cos(d, b) - cos(d, a) + cos(d, c). The query words are excluded because b or c is
        usually the nearest word to the target itself. ``analogy("man", "king", "woman")``
        asks for the word that is to woman what king is to man.
        """
        target = self.unit[self._id(b)] - self.unit[self._id(a)] + self.unit[self._id(c)]
        return self.nearest_neighbours(target, k=k, exclude=(a, b, c))

    def intruder(self, words: Sequence[str]) -> dict:
        """The odd one out: the word with the lowest mean cosine similarity to the others.

        Returns {"intruder": word, "mean_similarity": {word: mean similarity to the rest}}.
        """
        if len(words) < 3:
            raise ValueError(f"need at least 3 words to find an intruder, got {len(words)}")
        ids = [self._id(word) for word in words]
        sims = self.unit[ids] @ self.unit[ids].T
        mean = (sims.sum(axis=1) - np.diag(sims)) / (len(ids) - 1)
        return {
            "intruder": words[int(np.argmin(mean))],
            "mean_similarity": {word: float(m) for word, m in zip(words, mean, strict=True)},
        }

    def _id(self, word: str) -> int:
        if word not in self.index:
            raise ValueError(f"{word!r} is not in the vocabulary")
        return self.index[word]


def direction(vectors: WordVectors, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """The direction a relation points along: pairs [(a, b), ...] -> (d,) unit vector.

    The mean of b - a over the pairs, e.g. (man, woman), (he, she), (king, queen) for a gender
    direction, scaled to length 1. Each difference is taken between unit vectors, so that a
    frequent word's longer vector does not outweigh the others; averaging several pairs keeps
    what they share and lets each pair's own quirks cancel.
    """
    if not pairs:
        raise ValueError("need at least one (a, b) pair")
    differences = [vectors.unit[vectors._id(b)] - vectors.unit[vectors._id(a)] for a, b in pairs]
    mean = np.mean(np.asarray(differences, dtype=np.float64), axis=0)
    length = np.linalg.norm(mean)
    if length < 1e-12:
        raise ValueError("the pairs' differences cancel out: there is no direction to follow")
    return mean / length


def project(vectors: WordVectors, words: Sequence[str], axis: np.ndarray) -> np.ndarray:
    """words: n words, axis: (d,) unit vector -> (n,) cosine of each word's vector with the axis.

    The projection of each unit-length word vector on the direction: positive on b's side of
    the pairs that made it, negative on a's side, near 0 for a word the relation does not touch.
    """
    ids = [vectors._id(word) for word in words]
    return vectors.unit[ids].astype(np.float64) @ np.asarray(axis, dtype=np.float64)


def _check_ids(ids: np.ndarray | Sequence[int] | int, num_classes: int) -> np.ndarray:
    """Integer ids as an array, refusing values outside [0, num_classes).

    numpy would quietly wrap a negative id around to the end of the table, so check first.
    """
    ids = np.asarray(ids)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.intp, copy=False)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise ValueError(f"id {bad} is out of range for a table of {num_classes} rows")
    return ids


def _unit_rows(x: np.ndarray, eps: float) -> np.ndarray:
    """x: (n, d) -> (n, d) rows scaled to length 1 (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


# The EmbeddingSpaceExplorer's words (chapter 4): about 120 words in clusters a reader can tell
# apart, all in the book's GloVe subset (lmlab.data.glove).
EXPLORER_CLUSTERS = {
    "animals": "cat dog horse cow pig sheep lion tiger bear wolf rabbit mouse bird fish eagle "
    "snake elephant monkey",
    "numbers": "one two three four five six seven eight nine ten twenty hundred thousand "
    "million billion dozen",
    "emotions": "happy sad angry afraid joy fear anger love hate proud lonely bored excited "
    "nervous calm grief",
    "countries": "france germany italy spain japan china india russia brazil canada egypt "
    "mexico britain australia greece sweden",
    "cities": "paris berlin rome madrid tokyo beijing delhi moscow london cairo athens stockholm",
    "people": "king queen man woman boy girl prince princess uncle aunt brother sister father "
    "mother",
    "function words": "the a of to and in that is for it with as on by but or",
    "programming": "python javascript java code software compiler syntax debug algorithm "
    "program computer variable database linux",
}


def explorer_words() -> tuple[list[str], list[str]]:
    """-> (words, cluster of each word), in EXPLORER_CLUSTERS' order."""
    pairs = [(w, name) for name, text in EXPLORER_CLUSTERS.items() for w in text.split()]
    return [w for w, _ in pairs], [name for _, name in pairs]


def random_like(vectors: WordVectors, seed: int = 0) -> WordVectors:
    """The same vocabulary with the vectors an untrained table starts from: N(0, 0.02^2)."""
    rng = np.random.default_rng(seed)
    table = (0.02 * rng.standard_normal(vectors.vectors.shape)).astype(np.float32)
    return WordVectors(vectors.words, table)


def explorer(trained: bool = True, k: int = 5, seed: int = 0,
             vectors: WordVectors | None = None) -> dict:
    """The EmbeddingSpaceExplorer's picture: the explorer words in 2-D and their neighbours.

    vectors: the word vectors (default: the book's GloVe subset, lmlab.data.glove()); trained
    False swaps them for random N(0, 0.02^2) vectors of the same shape (seeded), what a table
    holds before training. The 2-D positions are the words' first two principal components
    (PCA of the explorer words only); the neighbours are computed in the full dimension, among
    the whole vocabulary, by cosine similarity.
    -> {words, clusters, cluster_names, x, y, variance (share of the variance each axis shows),
        neighbours: per word [[word, cosine], ...] best first, among (words searched), trained}
    """
    space = _explorer_space(trained, seed, vectors)
    words, clusters = explorer_words()
    points = _explorer_points(space)
    mean, axes, variance = _explorer_axes(space, None)
    coords = (points - mean) @ axes.T
    return {
        "words": words,
        "clusters": clusters,
        "cluster_names": list(EXPLORER_CLUSTERS),
        "x": coords[:, 0].tolist(),
        "y": coords[:, 1].tolist(),
        "variance": variance.tolist(),
        "neighbours": [[[w, c] for w, c in found] for found in _batch_neighbours(space, words, k)],
        "among": len(space),
        "trained": trained,
    }


def explorer_views(k: int = 5, seed: int = 0) -> dict:
    """Both pictures the explorer switches between: {"trained": explorer(True), "random": ...}."""
    return {"trained": explorer(True, k, seed), "random": explorer(False, k, seed)}


def explorer_neighbours(word: str, cosine: Callable, k: int = 5, trained: bool = True,
                        seed: int = 0) -> list[list]:
    """A word's k nearest explorer words by a reader's cosine(a, b) -> float of two (d,) vectors.

    Searched among the explorer's words only (a Python function called once per candidate).
    -> [[word, cosine], ...] best first.
    """
    space = _explorer_space(trained, seed, None)
    words, _ = explorer_words()
    if word not in words:
        raise ValueError(f"{word!r} is not one of the explorer's words")
    target = space.vector(word).astype(np.float64)
    scores = []
    for other in words:
        if other != word:
            value = cosine(target, space.vector(other).astype(np.float64))
            if np.ndim(value) != 0:
                raise ValueError(f"cosine(a, b) should return one number, not {value!r}")
            scores.append([other, float(value)])
    return sorted(scores, key=lambda pair: -pair[1])[:k]


def explorer_analogy(a: str, b: str, c: str, k: int = 5, trained: bool = True, seed: int = 0,
                     vectors: WordVectors | None = None,
                     pairs: Sequence[tuple[str, str]] | None = None) -> dict:
    """"a is to b as c is to ?" for the explorer: the answers and where to draw them.

    pairs: None for the explorer's PCA axes, or the pairs of its direction axis
    (``explorer_direction``), so that the arrows land on the points as they are drawn.
    -> {answers: [[word, cosine], ...] nearest to b - a + c (unit vectors), a, b and c left out;
        inputs: [[word, cosine, rank]] where each query word would rank if it were not left out;
        points: {word: [x, y]} for a, b, c, the answers and "b - a + c", on the explorer's axes}
    """
    space = _explorer_space(trained, seed, vectors)
    target = _analogy_target(space, a, b, c)
    answers = space.nearest_neighbours(target, k=k, exclude=(a, b, c))
    everyone = space.nearest_neighbours(target, k=len(space))
    rank = {w: i + 1 for i, (w, _) in enumerate(everyone)}
    score = dict(everyone)
    mean, axes, _ = _explorer_axes(space, pairs)
    # the target is a sum of unit vectors: draw it at the length of the words it is made from
    scale = np.mean([np.linalg.norm(space.vector(w)) for w in (a, b, c)])
    shown = {w: space.vector(w).astype(np.float64) for w in (a, b, c, *(w for w, _ in answers))}
    shown["b - a + c"] = target.astype(np.float64) * scale
    return {
        "answers": [[w, float(s)] for w, s in answers],
        "inputs": [[w, float(score[w]), rank[w]] for w in (a, b, c)],
        "points": {w: ((v - mean) @ axes.T).tolist() for w, v in shown.items()},
    }


def explorer_reader_analogy(a: str, b: str, c: str, analogy: Callable, trained: bool = True,
                            seed: int = 0, vectors: WordVectors | None = None,
                            pairs: Sequence[tuple[str, str]] | None = None) -> dict:
    """The reader's ``analogy(a, b, c, vectors) -> word`` (chapter 4's exercise), for the explorer.

    Their function gets the same WordVectors the explorer shows (GloVe, or the random table).
    -> {word: their answer, cosine: its cosine with b - a + c (unit vectors), rank: its place
        among all words nearest to b - a + c with a, b and c left out (1 = lmlab's answer),
        point: [x, y] where to draw it, on the axes of ``explorer_analogy`` with the same pairs}
    """
    space = _explorer_space(trained, seed, vectors)
    target = _analogy_target(space, a, b, c)
    word = analogy(a, b, c, space)
    if not isinstance(word, str) or word not in space:
        raise ValueError(f"analogy(a, b, c, vectors) should return a word of the vocabulary, "
                         f"not {word!r}")
    ranked = [w for w, _ in space.nearest_neighbours(target, k=len(space), exclude=(a, b, c))]
    rank = ranked.index(word) + 1 if word in ranked else None  # None: they answered a, b or c
    mean, axes, _ = _explorer_axes(space, pairs)
    unit_target = target / np.linalg.norm(target)
    return {
        "word": word,
        "cosine": float(space.unit[space.index[word]] @ unit_target),
        "rank": rank,
        "point": ((space.vector(word).astype(np.float64) - mean) @ axes.T).tolist(),
    }


def explorer_direction(pairs: Sequence[tuple[str, str]], trained: bool = True, seed: int = 0,
                       vectors: WordVectors | None = None) -> dict:
    """The explorer's words with a direction as the horizontal axis.

    pairs: [(a, b), ...] whose mean difference b - a is the direction (``direction``), any
    words of the vectors. x is each explorer word's position along it (centred on the words'
    mean); y is the first principal component of what is left once x is taken out, so the two
    axes are at right angles and share one scale.
    -> {x, y, variance (share of the words' variance along each axis), pairs}
    """
    space = _explorer_space(trained, seed, vectors)
    mean, axes, variance = _explorer_axes(space, pairs)
    coords = (_explorer_points(space) - mean) @ axes.T
    return {
        "x": coords[:, 0].tolist(),
        "y": coords[:, 1].tolist(),
        "variance": variance.tolist(),
        "pairs": [list(pair) for pair in pairs],
    }


def _analogy_target(space: WordVectors, a: str, b: str, c: str) -> np.ndarray:
    """b - a + c on unit vectors, (d,), after checking the three words are in the vocabulary."""
    for word in (a, b, c):
        if word not in space:
            raise ValueError(f"{word!r} is not among the {len(space):,} words of these vectors")
    return space.unit[space.index[b]] - space.unit[space.index[a]] + space.unit[space.index[c]]


def _explorer_points(space: WordVectors) -> np.ndarray:
    """(m, d) float64 vectors of the explorer's words, in explorer_words' order."""
    words, _ = explorer_words()
    return np.stack([space.vector(w) for w in words]).astype(np.float64)


def _explorer_axes(space: WordVectors, pairs: Sequence[tuple[str, str]] | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The explorer's two drawing axes -> (mean (d,), axes (2, d), share of variance (2,)).

    pairs None: the first two principal components of the explorer's words. Otherwise the
    direction of the pairs, then the first principal component of the words with their
    component along that direction removed.
    """
    points = _explorer_points(space)
    if pairs is None:
        return _principal_axes(points, 2)
    along = direction(space, [tuple(pair) for pair in pairs])
    mean = points.mean(axis=0)
    centred = points - mean
    rest = centred - np.outer(centred @ along, along)
    _, rest_axis, _ = _principal_axes(rest, 1)
    axes = np.stack([along, rest_axis[0]])
    total = np.sum(centred**2)
    return mean, axes, np.sum((centred @ axes.T) ** 2, axis=0) / total


def _explorer_space(trained: bool, seed: int, vectors: WordVectors | None) -> WordVectors:
    from lmlab import data  # here: lmlab.data imports this module when it loads GloVe

    space = vectors if vectors is not None else data.glove()
    return space if trained else random_like(space, seed)


def _principal_axes(points: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """points: (m, d) -> (mean (d,), axes (n, d), share of the total variance along each axis (n,)).
    Each axis's sign is fixed as in ``pca``, so the picture does not flip between runs."""
    mean = points.mean(axis=0)
    _, s, vt = np.linalg.svd(points - mean, full_matrices=False)
    axes = vt[:n]
    coords = (points - mean) @ axes.T
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(n)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    return mean, axes, s[:n] ** 2 / np.sum(s**2)


def _batch_neighbours(space: WordVectors, words: list[str], k: int) -> list[list[tuple]]:
    """nearest_neighbours(w, k) for every word at once: one (m, N) matrix product."""
    ids = np.array([space.index[w] for w in words])
    scores = space.unit[ids] @ space.unit.T
    scores[np.arange(len(ids)), ids] = -np.inf
    return _ranked(space, scores, k)


def _ranked(space: WordVectors, scores: np.ndarray, k: int) -> list[list[tuple]]:
    """scores: (m, N) similarities to every word -> for each row its k best (word, score)."""
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    found = []
    for row, candidates in zip(scores, best, strict=True):
        order = candidates[np.argsort(-row[candidates], kind="stable")]
        found.append([(space.words[j], float(row[j])) for j in order])
    return found
