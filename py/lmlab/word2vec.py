"""word2vec: learning word vectors by predicting neighbours (Mikolov et al. 2013).

Every word has two vectors: an input vector u (the rows of ``vectors``, the embeddings we keep)
and an output vector v (``context_vectors``, thrown away after training). Skip-gram takes a
centre word and scores each word in its window as a likely neighbour; CBOW averages the input
vectors of the window and scores the centre word. A full softmax over the vocabulary is
replaced by negative sampling: the true word should get a high score, sigma(u.v) -> 1, and k
words drawn from a noise distribution (unigram counts to the power 0.75) a low one.

Both models share one update: the averaged input vectors h of an example (a single word for
skip-gram), one positive output word and k negative ones. ``train_word2vec`` applies it with a
learning rate that decays linearly to almost 0, and records the loss and snapshots of the
vectors for an animation.

Levy and Goldberg (2014) showed what the dot products converge to: u_w . v_c is pushed towards
PMI(w, c) - log k, a shifted pointwise mutual information, which ``pmi`` computes from counts.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np

TOY_CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the rug",
    "the bird sat on the sofa",
    "the cat lay on the rug",
    "the dog lay on the sofa",
    "the bird lay on the mat",
    "the cat ate the fish",
    "the dog ate the meat",
    "the bird ate the seeds",
    "the cat drank the milk",
    "the dog drank the water",
    "the bird drank the water",
    "a cat is a pet",
    "a dog is a pet",
    "a bird is a pet",
]
"""Fifteen sentences over 20 words: animals, things to sit on, food and drink, and the
connecting words that occur with all of them."""


def build_vocab(sentences: Sequence[str]) -> tuple[list[str], list[np.ndarray]]:
    """Split on whitespace, lower-case, number the words.

    -> (words, corpus): words ordered by count, most frequent first (ties: first seen first);
    corpus[i] is sentence i as an array of word ids.
    """
    tokens = [sentence.lower().split() for sentence in sentences]
    counts = Counter(word for sentence in tokens for word in sentence)
    if not counts:
        raise ValueError("the corpus has no words")
    words = sorted(counts, key=lambda word: -counts[word])  # sorted() is stable: ties keep order
    index = {word: i for i, word in enumerate(words)}
    return words, [np.array([index[w] for w in sentence], dtype=np.int64) for sentence in tokens]


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """counts: (V,) -> (V,) probabilities proportional to count ** power.

    The 0.75 flattens the unigram distribution: "the" is drawn less often than its share of the
    text, rare words more often, so the negatives are more informative than either extreme.
    """
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def sample_negatives(rng: np.random.Generator, noise: np.ndarray, shape: tuple) -> np.ndarray:
    """Word ids drawn independently from ``noise``, an array of the given shape."""
    ids = np.searchsorted(np.cumsum(noise), rng.random(shape), side="right")
    return np.minimum(ids, len(noise) - 1)  # guards against a cumsum ending just below 1.0


def skipgram_examples(sentence: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, neighbour) pair at distance 1..window within the sentence.

    sentence: (T,) ids -> inputs: (n, 1) centre ids, targets: (n,) neighbour ids, ordered by
    centre position, then by neighbour position.
    """
    positions = np.arange(len(sentence))
    offsets = positions[None, :] - positions[:, None]
    centre, neighbour = np.nonzero((np.abs(offsets) <= window) & (offsets != 0))
    return sentence[centre][:, None], sentence[neighbour]


def cbow_examples(sentence: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every centre word with the words around it, for CBOW.

    sentence: (T,) ids -> inputs: (T, 2 * window) neighbour ids, -1 where the window runs past
    the sentence; targets: (T,) centre ids. One-word sentences have no examples.
    """
    T = len(sentence)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    positions = np.arange(T)[:, None] + offsets
    inside = (positions >= 0) & (positions < T)
    inputs = np.where(inside, sentence[np.clip(positions, 0, T - 1)], -1)
    has_context = inside.any(axis=1)
    return inputs[has_context], sentence[has_context]


def sgns_loss_and_grads(
    h: np.ndarray, v_pos: np.ndarray, v_neg: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Negative-sampling loss of n examples and its gradients.

    h: (n, d) input vectors, v_pos: (n, d) output vectors of the true words, v_neg: (n, k, d)
    output vectors of the negatives, keep: (n, k) 1 for negatives that count, 0 for skipped ones.
    loss_i = -log sigma(h_i . v_pos_i) - sum_j keep_ij log sigma(-h_i . v_neg_ij)
    -> loss: (n,), dh: (n, d), dv_pos: (n, d), dv_neg: (n, k, d)
    """
    if keep is None:
        keep = np.ones(v_neg.shape[:2])
    pos_score = np.sum(h * v_pos, axis=-1)  # (n,)
    neg_score = np.einsum("nd,nkd->nk", h, v_neg)  # (n, k)
    loss = _softplus(-pos_score) + np.sum(keep * _softplus(neg_score), axis=-1)
    # d/ds -log sigma(s) = sigma(s) - 1 and d/ds -log sigma(-s) = sigma(s)
    g_pos = _sigmoid(pos_score) - 1.0
    g_neg = keep * _sigmoid(neg_score)
    dh = g_pos[:, None] * v_pos + np.einsum("nk,nkd->nd", g_neg, v_neg)
    return loss, dh, g_pos[:, None] * h, g_neg[:, :, None] * h[:, None, :]


def sgns_update(
    vectors: np.ndarray,
    context_vectors: np.ndarray,
    inputs: np.ndarray,
    targets: np.ndarray,
    negatives: np.ndarray,
    lr: float,
) -> np.ndarray:
    """One SGD step on n examples at once, in place; returns the (n,) losses before the step.

    inputs: (n, m) ids whose input vectors are averaged (-1 = padding), targets: (n,) true
    output words, negatives: (n, k). All gradients are taken at the current parameters, then
    added in with ``np.add.at`` so that a word used by several examples gets every push.
    A negative that happens to equal its example's target is skipped, as in word2vec's C code.
    """
    used = inputs >= 0
    share = used / used.sum(axis=1, keepdims=True)  # (n, m): each input's part of the average
    h = np.einsum("nm,nmd->nd", share, vectors[np.where(used, inputs, 0)])
    keep = (negatives != targets[:, None]).astype(np.float64)
    loss, dh, dv_pos, dv_neg = sgns_loss_and_grads(
        h, context_vectors[targets], context_vectors[negatives], keep
    )
    np.add.at(vectors, inputs[used], -lr * (share[..., None] * dh[:, None, :])[used])
    np.add.at(context_vectors, targets, -lr * dv_pos)
    np.add.at(context_vectors, negatives, -lr * dv_neg)
    return loss


def train_word2vec(
    sentences: Sequence[str],
    *,
    model: str = "skipgram",
    dim: int = 10,
    window: int = 2,
    negatives: int = 5,
    epochs: int = 100,
    lr: float = 0.025,
    noise_power: float = 0.75,
    batch: str = "sentence",
    snapshot_every: int = 0,
    seed: int = 0,
) -> dict:
    """Train skip-gram or CBOW with negative sampling on a list of sentences.

    model: "skipgram" (centre word -> each neighbour) or "cbow" (mean of neighbours -> centre).
    batch: "sentence" takes one step per sentence with all its examples computed from the same
    parameters (numpy does the work); "example" takes one step per example, the classic SGD
    of the C code (a Python loop: slower by about the number of examples per sentence).
    Both see the same negatives and learning rates, so for small steps they agree.
    lr decays linearly from ``lr`` to lr / 10,000 over the run, per sentence.
    Input vectors start uniform in [-0.5/dim, 0.5/dim), output vectors at 0, as in word2vec.

    -> {"words": [...], "vectors": (V, dim) input vectors, "context_vectors": (V, dim),
        "loss": per-epoch mean loss per example,
        "snapshots": [{"epoch", "loss", "vectors"}] at epoch 0 (loss None), every
        ``snapshot_every`` epochs and at the end (none if snapshot_every is 0)}
    """
    if model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {model!r}")
    if batch not in ("sentence", "example"):
        raise ValueError(f"batch must be 'sentence' or 'example', got {batch!r}")
    for name, value in (("dim", dim), ("window", window), ("negatives", negatives)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if epochs < 0 or lr <= 0 or snapshot_every < 0:
        raise ValueError("need epochs >= 0, lr > 0 and snapshot_every >= 0")

    words, corpus = build_vocab(sentences)
    make_examples = skipgram_examples if model == "skipgram" else cbow_examples
    examples = [ex for ex in (make_examples(s, window) for s in corpus) if len(ex[1])]
    if not examples:
        raise ValueError("no training examples: every sentence is a single word")
    noise = noise_distribution(np.bincount(np.concatenate(corpus), minlength=len(words)), noise_power)
    n_examples = sum(len(targets) for _, targets in examples)

    rng = np.random.default_rng(seed)
    vectors = (rng.random((len(words), dim)) - 0.5) / dim
    context_vectors = np.zeros((len(words), dim))
    losses, snapshots = [], []
    if snapshot_every:
        snapshots.append({"epoch": 0, "loss": None, "vectors": vectors.copy()})
    steps = epochs * len(examples)
    for epoch in range(1, epochs + 1):
        # One draw per epoch; each sentence takes its slice, whatever the batching.
        drawn = sample_negatives(rng, noise, (n_examples, negatives))
        start, total = 0, 0.0
        for s, (inputs, targets) in enumerate(examples):
            step = (epoch - 1) * len(examples) + s
            rate = lr * max(1.0 - step / steps, 1e-4)
            negs = drawn[start : start + len(targets)]
            start += len(targets)
            if batch == "sentence":
                total += sgns_update(vectors, context_vectors, inputs, targets, negs, rate).sum()
            else:
                for i in range(len(targets)):
                    one = slice(i, i + 1)
                    total += sgns_update(
                        vectors, context_vectors, inputs[one], targets[one], negs[one], rate
                    )[0]
        losses.append(total / n_examples)
        if snapshot_every and (epoch % snapshot_every == 0 or epoch == epochs):
            snapshots.append({"epoch": epoch, "loss": losses[-1], "vectors": vectors.copy()})
    return {
        "words": words,
        "vectors": vectors,
        "context_vectors": context_vectors,
        "loss": losses,
        "snapshots": snapshots,
    }


def cooccurrence_counts(corpus: Sequence[np.ndarray], vocab_size: int, window: int) -> np.ndarray:
    """(V, V) counts N[w, c] of word c within ``window`` positions of word w (symmetric).

    These are exactly the (centre, neighbour) pairs skip-gram trains on.
    """
    counts = np.zeros((vocab_size, vocab_size))
    for sentence in corpus:
        centres, neighbours = skipgram_examples(sentence, window)
        np.add.at(counts, (centres[:, 0], neighbours), 1.0)
    return counts


def pmi(counts: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Shifted pointwise mutual information from co-occurrence counts. (V, V) -> (V, V).

    PMI(w, c) = log( p(w, c) / (p(w) p(c)) ) - log k: how much more often w and c occur
    together than if they were independent, minus log k, the shift skip-gram with k negatives
    converges to. Pairs never seen together get -inf. k = 1 gives plain PMI.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    expected = counts.sum(axis=1, keepdims=True) * counts.sum(axis=0, keepdims=True) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(counts > 0, counts / np.where(expected > 0, expected, 1.0), 0.0)
        return np.log(ratio) - np.log(k)


def ppmi(counts: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Positive (shifted) PMI: max(PMI - log k, 0), the usual sparse, finite version. (V, V)."""
    return np.maximum(pmi(counts, k), 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large |x|, unlike 1 / (1 + exp(-x))
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = -log sigma(-x), computed without overflow."""
    return np.logaddexp(0.0, x)
