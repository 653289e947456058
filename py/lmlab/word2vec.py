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

import re
from collections import Counter
from collections.abc import Callable, Sequence

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

TOY_CATEGORIES = {
    "animals": ["cat", "dog", "bird"],
    "things to sit on": ["mat", "rug", "sofa"],
    "food and drink": ["fish", "meat", "seeds", "milk", "water"],
    "verbs": ["sat", "lay", "ate", "drank", "is"],
    "other words": ["the", "on", "a", "pet"],
}
"""The toy corpus's words by kind, for colouring pictures (training never sees these)."""


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
    return words, [np.array([index[w] for w in sentence], dtype=np.intp) for sentence in tokens]


def text_to_sentences(text: str, min_count: int = 10, length: int = 200) -> list[str]:
    """A plain text as training "sentences" for ``train_word2vec``.

    Words are runs of letters and apostrophes, lower-cased; words seen fewer than ``min_count``
    times are dropped (as word2vec's own min_count does: too rare to learn a vector for), and the
    rest is cut into pieces of ``length`` words. Windows never cross a piece's end; longer pieces
    mean fewer, larger SGD steps (one per piece), which is what makes numpy fast here.
    -> [str]: the pieces, words joined by single spaces
    """
    if min_count < 1 or length < 2:
        raise ValueError(f"need min_count >= 1 and length >= 2, got {min_count}, {length}")
    words = re.findall(r"[a-z']+", text.lower())
    counts = Counter(words)
    kept = [word for word in words if counts[word] >= min_count]
    return [" ".join(kept[i : i + length]) for i in range(0, len(kept), length)]


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

    sentence: (T,) ids -> centres: (n,), neighbours: (n,), ordered by centre position, then
    by neighbour position.
    """
    positions = np.arange(len(sentence))
    offsets = positions[None, :] - positions[:, None]
    centre, neighbour = np.nonzero((np.abs(offsets) <= window) & (offsets != 0))
    return sentence[centre], sentence[neighbour]


def cbow_examples(sentence: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every centre word with the words around it, for CBOW.

    sentence: (T,) ids -> neighbours: (T, 2 * window) ids, -1 where the window runs past the
    sentence; centres: (T,). One-word sentences have no examples.
    """
    T = len(sentence)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    positions = np.arange(T)[:, None] + offsets
    inside = (positions >= 0) & (positions < T)
    neighbours = np.where(inside, sentence[np.clip(positions, 0, T - 1)], -1)
    has_context = inside.any(axis=1)
    return neighbours[has_context], sentence[has_context]


def sgns_loss_and_grads(
    h: np.ndarray, v_out: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Negative-sampling loss of n examples and its gradients.

    h: (n, d) input vectors; v_out: (n, 1 + k, d) output vectors, [:, 0] of the true word and
    [:, 1:] of the k negatives; keep: (n, 1 + k), 1 for the words that count, 0 for skipped ones.
    With scores s = v_out . h, each example is 1 + k logistic regressions with labels 1, 0, .., 0:
    loss_i = -log sigma(s_i0) - sum_j keep_ij log sigma(-s_ij)
    -> loss: (n,), dh: (n, d), dv_out: (n, 1 + k, d)
    """
    if keep is None:
        keep = np.ones(v_out.shape[:2])
    labels = np.zeros(v_out.shape[1])
    labels[0] = 1.0
    scores = np.einsum("nkd,nd->nk", v_out, h)
    # -log sigma(s) = softplus(s) - s, -log sigma(-s) = softplus(s); both slopes: sigma(s) - label
    loss = (keep * (np.logaddexp(0.0, scores) - labels * scores)).sum(axis=1)
    dscores = keep * (_sigmoid(scores) - labels)
    dh = np.einsum("nk,nkd->nd", dscores, v_out)
    return loss, dh, dscores[:, :, None] * h[:, None, :]


def sgns_update(
    vectors: np.ndarray,
    context_vectors: np.ndarray,
    inputs: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    negatives: np.ndarray,
    lr: float,
) -> np.ndarray:
    """One SGD step on n examples at once, in place; returns the (n,) losses before the step.

    inputs: (n, m) ids and weights: (n, m) make each example's input vector
    h_i = sum_j weights_ij vectors[inputs_ij] (skip-gram: m = 1, weight 1; CBOW: the mean of
    the neighbours, weight 0 for padding). targets: (n,) true output words, negatives: (n, k).
    All gradients are taken at the current parameters, then summed per word (``add_rows``) so
    that a word used by several examples gets every push (plain ``+=`` would keep only one).
    A negative that happens to equal its example's target is skipped, as in word2vec's C code.
    """
    h = np.einsum("nm,nmd->nd", weights, vectors[inputs])
    outputs, keep = _outputs(targets, negatives)
    loss, dh, dv_out = sgns_loss_and_grads(h, context_vectors[outputs], keep)
    d = vectors.shape[1]
    pushes = (-lr * weights[:, :, None]) * dh[:, None, :]
    add_rows(vectors, inputs.ravel(), pushes.reshape(-1, d))
    add_rows(context_vectors, outputs.ravel(), (-lr * dv_out).reshape(-1, d))
    return loss


def sgns_example_update(
    vectors: np.ndarray,
    context_vectors: np.ndarray,
    inputs: np.ndarray,
    weights: np.ndarray,
    outputs: np.ndarray,
    keep: np.ndarray,
    lr: float,
) -> float:
    """``sgns_update`` for a single example, in place; returns its loss before the step.

    inputs: (m,) ids with weights: (m,); outputs: (1 + k,) the true word then the negatives;
    keep: (1 + k,) 1.0 for the words that count, 0.0 for a negative equal to the true word.
    The same arithmetic as ``sgns_loss_and_grads`` written for one example: the classic SGD
    takes thousands of these steps in a Python loop, and each numpy call costs microseconds
    (far more in Pyodide) whatever its size, so this form makes as few calls as it can.
    """
    # skip-gram (one input word, weight 1): h is the centre's own row, read without a copy
    single = len(inputs) == 1 and weights[0] == 1.0
    h = vectors[inputs[0]] if single else weights @ vectors[inputs]  # (d,)
    v_out = context_vectors[outputs]  # (1 + k, d)
    scores = v_out @ h  # (1 + k,)
    # as sgns_loss_and_grads: label 1 for outputs[0], 0 for the negatives
    slopes = keep * _sigmoid(scores)
    slopes[0] -= 1.0
    loss = keep @ np.logaddexp(0.0, scores) - scores[0]
    dh = slopes @ v_out
    # the output rows first, while h is still the input vector before the step
    np.add.at(context_vectors, outputs, np.multiply.outer(-lr * slopes, h))
    if single:
        vectors[inputs[0]] -= lr * dh
    else:  # CBOW: a word can fill two places of a window, so add.at
        np.add.at(vectors, inputs, np.multiply.outer(-lr * weights, dh))
    return float(loss)


def _outputs(targets: np.ndarray, negatives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """targets: (n,), negatives: (n, k) -> outputs: (n, 1 + k) ids, the target first; keep:
    (n, 1 + k) 1.0 where the word counts (a negative equal to its target does not)."""
    outputs = np.concatenate([targets[:, None], negatives], axis=1)
    keep = outputs != targets[:, None]
    keep[:, 0] = True
    return outputs, keep.astype(np.float64)


def add_rows(table: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """table[ids[i]] += rows[i] for every i, repeated ids included, in place. table: (V, d),
    ids: (n,), rows: (n, d).

    What ``np.add.at(table, ids, rows)`` does, computed as one ``np.bincount`` over the flat
    indices id * d + column, which sums the rows of each word first and is about four times
    faster (the sums are the same up to the order of additions).
    """
    V, d = table.shape
    flat = (ids[:, None] * d + np.arange(d)).ravel()
    table += np.bincount(flat, weights=rows.ravel(), minlength=V * d).reshape(V, d)


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
    on_step: Callable[..., None] | None = None,
) -> dict:
    """Train skip-gram or CBOW with negative sampling on a list of sentences.

    model: "skipgram" (centre word -> each neighbour) or "cbow" (mean of neighbours -> centre).
    batch: "sentence" takes one step per sentence with all its examples computed from the same
    parameters (numpy does the work); "example" takes one step per example, the classic SGD
    of the C code (a Python loop over ``sgns_example_update``: slower by about the number of
    examples per sentence).
    Both see the same negatives and learning rates, so for small steps they agree.
    lr decays linearly from ``lr`` to lr / 10,000 over the run, per sentence.
    Input vectors start uniform in [-0.5/dim, 0.5/dim), output vectors at 0, as in word2vec.
    on_step, if given, is called after every update as on_step(vectors, context_vectors,
    inputs, weights, targets, negatives, lr, losses) (the arrays of that step; the tables are
    live, copy what you keep): ``sgns_trace`` records a run with it.

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
    examples = [_examples(model, sentence, window) for sentence in corpus]
    examples = [example for example in examples if len(example[2])]
    if not examples:
        raise ValueError("no training examples: every sentence is a single word")
    counts = np.bincount(np.concatenate(corpus), minlength=len(words))
    noise = noise_distribution(counts, noise_power)
    n_examples = sum(len(targets) for _, _, targets in examples)

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
        for s, (inputs, weights, targets) in enumerate(examples):
            rate = lr * max(1.0 - ((epoch - 1) * len(examples) + s) / steps, 1e-4)
            n = len(targets)
            negs = drawn[start : start + n]
            start += n
            if batch == "sentence":
                step_losses = sgns_update(vectors, context_vectors, inputs, weights, targets,
                                          negs, rate)  # fmt: skip
                total += step_losses.sum()
                if on_step is not None:
                    on_step(vectors, context_vectors, inputs, weights, targets, negs, rate,
                            step_losses)  # fmt: skip
                continue
            outputs, keep = _outputs(targets, negs)
            for i in range(n):
                loss = sgns_example_update(vectors, context_vectors, inputs[i], weights[i],
                                           outputs[i], keep[i], rate)  # fmt: skip
                total += loss
                if on_step is not None:
                    part = slice(i, i + 1)
                    on_step(vectors, context_vectors, inputs[part], weights[part],
                            targets[part], negs[part], rate, np.array([loss]))  # fmt: skip
        losses.append(float(total) / n_examples)
        if snapshot_every and (epoch % snapshot_every == 0 or epoch == epochs):
            snapshots.append({"epoch": epoch, "loss": losses[-1], "vectors": vectors.copy()})
    return {
        "words": words,
        "vectors": vectors,
        "context_vectors": context_vectors,
        "loss": losses,
        "snapshots": snapshots,
    }


def sgns_trace(
    sentences: Sequence[str] = TOY_CORPUS,
    *,
    dim: int = 2,
    window: int = 2,
    negatives: int = 5,
    epochs: int = 12,
    lr: float = 0.5,
    seed: int = 0,
) -> dict:
    """Skip-gram with negative sampling, one SGD step per (centre, neighbour) pair, every step
    recorded: ``train_word2vec(batch="example")`` with the same arithmetic and random draws.

    With S steps, V words and k = negatives:
    -> {"words": [...], "vectors": (S + 1, V, dim) input vectors before the first step and after
        each, "context_vectors": (S + 1, V, dim) output vectors likewise, "centre": (S,),
        "context": (S,), "negatives": (S, k) word ids of each step, "lr": (S,), "loss": (S,)
        the pair's loss before its step, "epoch_loss": per-epoch mean as train_word2vec's}
    """
    if epochs < 1:
        raise ValueError(f"need epochs >= 1, got {epochs}")
    words, corpus = build_vocab(sentences)
    S = epochs * sum(len(skipgram_examples(sentence, window)[0]) for sentence in corpus)
    # Written in place step by step (a copy per step and a stack at the end cost more in Pyodide)
    tables = np.empty((S + 1, 2, len(words), dim))  # input and output vectors, before and after
    trace = {"centre": np.empty(S, np.intp), "context": np.empty(S, np.intp),
             "negatives": np.empty((S, negatives), np.intp), "lr": np.empty(S), "loss": np.empty(S)}
    done = [0]  # steps recorded

    def record(vectors: np.ndarray, context_vectors: np.ndarray, inputs: np.ndarray,
               weights: np.ndarray, targets: np.ndarray, negs: np.ndarray, rate: float,
               losses: np.ndarray) -> None:  # fmt: skip
        t = done[0]
        tables[t + 1, 0], tables[t + 1, 1] = vectors, context_vectors
        trace["centre"][t], trace["context"][t] = inputs[0, 0], targets[0]
        trace["negatives"][t], trace["lr"][t], trace["loss"][t] = negs[0], rate, losses[0]
        done[0] = t + 1

    settings = dict(model="skipgram", dim=dim, window=window, negatives=negatives, lr=lr, seed=seed)
    start = train_word2vec(sentences, epochs=0, **settings)
    tables[0, 0], tables[0, 1] = start["vectors"], start["context_vectors"]
    run = train_word2vec(sentences, epochs=epochs, batch="example", on_step=record, **settings)
    assert done[0] == S, (done[0], S)
    trace.update(vectors=tables[:, 0], context_vectors=tables[:, 1])
    return {"words": run["words"], **trace, "epoch_loss": run["loss"]}


def _examples(
    model: str, sentence: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sentence's examples as (inputs (n, m), weights (n, m), targets (n,)) for sgns_update."""
    if model == "skipgram":
        centres, neighbours = skipgram_examples(sentence, window)
        return centres[:, None], np.ones((len(centres), 1)), neighbours
    neighbours, centres = cbow_examples(sentence, window)
    present = neighbours >= 0
    weights = present / present.sum(axis=1, keepdims=True)
    # padding points at word 0 with weight 0: it reads a vector and adds exactly 0 back
    return np.where(present, neighbours, 0), weights, centres


def cooccurrence_counts(corpus: Sequence[np.ndarray], vocab_size: int, window: int) -> np.ndarray:
    """(V, V) counts N[w, c] of word c within ``window`` positions of word w (symmetric).

    These are exactly the (centre, neighbour) pairs skip-gram trains on.
    """
    counts = np.zeros((vocab_size, vocab_size))
    for sentence in corpus:
        centres, neighbours = skipgram_examples(sentence, window)
        np.add.at(counts, (centres, neighbours), 1.0)
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



def sgns_step_parts(trace: dict) -> dict:
    """Each step of an ``sgns_trace`` taken apart: what moved the centre word, and why.

    The centre's input vector u moves by -lr * dh, with dh = (sigma(u.v_c) - 1) v_c +
    sum_j sigma(u.v_j) v_j over the negatives (those equal to the neighbour skipped).
    -> {pull: (S, d) the neighbour's term, push: (S, k, d) each negative's (0 if skipped),
        p_before, p_after: (S,) sigma(u.v_c) of the pair before and after the step}
    """
    U, C = trace["vectors"], trace["context_vectors"]
    steps = np.arange(len(trace["centre"]))
    centre, context, negs = trace["centre"], trace["context"], trace["negatives"]
    u = U[steps, centre]
    v_true, v_negs = C[steps, context], C[steps[:, None], negs]  # (S, d), (S, k, d)
    rate = trace["lr"][:, None]
    p_before = _sigmoid(np.einsum("sd,sd->s", u, v_true))
    pull = -rate * (p_before - 1.0)[:, None] * v_true
    weight = (negs != context[:, None]) * _sigmoid(np.einsum("skd,sd->sk", v_negs, u))
    push = -rate[:, :, None] * weight[:, :, None] * v_negs
    p_after = _sigmoid(np.einsum("sd,sd->s", U[steps + 1, centre], C[steps + 1, context]))
    return {"pull": pull, "push": push, "p_before": p_before, "p_after": p_after}


def skipgram_dynamics(
    seed: int = 0, window: int = 2, k: int = 5, epochs: int = 12, lr: float = 0.5
) -> dict:
    """The skip-gram dynamics widget's numbers: ``sgns_trace`` on the toy corpus in 2-D, each
    step as the picture needs it. S steps, V words, E epochs.

    Sent to the page as it draws them: every float at the 3 decimals the page shows, as integer
    thousandths (rounding at the precision shown, not one finer, leaves no value on a tie for
    the page to break otherwise; an int crosses JSON several times faster than a float in
    Pyodide, and the page's v / 1000 is exactly numpy's round(x, 3)), every array flat.

    -> {words, categories: (V,) names, category_names, steps: S, k, epoch_steps: S / E,
        start: (V * 2,) input vectors before training, centre, context: (S,) ids,
        negatives: (S * k,) ids, after: (S * 2,) the centre's input vector after its step,
        pull: (S * 2,), push: (S * k * 2,), p_before, p_after: (S,) (``sgns_step_parts``),
        loss: (S,) the pair's loss before its step, epoch_loss: (E,) mean loss of each epoch,
        curve: the mean loss over the last epoch_steps steps at every 10th step (for the plot),
        bounds: [x0, x1, y0, y1] over all steps}; start .. bounds in thousandths.
    """
    if not (1 <= window <= 5 and 1 <= k <= 10 and 1 <= epochs <= 40):
        raise ValueError(
            f"need 1 <= window <= 5, 1 <= k <= 10, 1 <= epochs <= 40; got {window}, {k}, {epochs}"
        )
    trace = sgns_trace(TOY_CORPUS, dim=2, window=window, negatives=k, epochs=epochs, lr=lr,
                       seed=seed)  # fmt: skip
    parts = sgns_step_parts(trace)
    U, centre = trace["vectors"], trace["centre"]
    steps = np.arange(len(centre))
    per_epoch = len(steps) // epochs
    running = np.cumsum(trace["loss"])
    behind = np.concatenate([np.zeros(per_epoch), running[:-per_epoch]])
    mean_loss = (running - behind) / np.minimum(steps + 1, per_epoch)
    category = {w: name for name, members in TOY_CATEGORIES.items() for w in members}
    bounds = [U[..., 0].min(), U[..., 0].max(), U[..., 1].min(), U[..., 1].max()]
    return {
        "words": trace["words"],
        "categories": [category[w] for w in trace["words"]],
        "category_names": list(TOY_CATEGORIES),
        "steps": len(steps),
        "k": k,
        "epoch_steps": per_epoch,
        "centre": centre,
        "context": trace["context"],
        "negatives": trace["negatives"].ravel(),
        **{name: _thousandths(value) for name, value in (
            ("start", U[0]), ("after", U[steps + 1, centre]), ("pull", parts["pull"]),
            ("push", parts["push"]), ("p_before", parts["p_before"]),
            ("p_after", parts["p_after"]), ("loss", trace["loss"]),
            ("epoch_loss", trace["epoch_loss"]), ("curve", mean_loss[::10]), ("bounds", bounds),
        )},  # fmt: skip
    }


def _thousandths(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """Any shape -> flat int64 x * 1000 rounded to the nearest integer (half to even, as
    ``np.round(x, 3)``, which computes exactly rint(x * 1000) / 1000)."""
    return np.rint(np.asarray(x, dtype=np.float64) * 1000).astype(np.int64).ravel()
