"""Checks for the book's exercises: the reader's function against lmlab's own on cases the
reader does not see, with feedback a learner can act on (the input, what they got, what was
expected, and where the two first differ).

A chapter's exercise (`:::: exercise NAME` in the Markdown) runs the reader's cell, then
``report(NAME, their_function)`` in the page's namespace; web/runtime/exercise.js reads the one
line it prints.
"""

import json
from collections.abc import Callable

import numpy as np

from lmlab import bpe_exercises
from lmlab.ngram import NGramModel

MARK = "lmlab-exercise-result:"


def _bigram_expected(words: list[str], chars: list[str]) -> np.ndarray:
    if not words:
        return np.zeros((len(chars), len(chars)), dtype=np.int64)
    return NGramModel(words, alphabet=chars).counts


def _describe(chars: list[str], a: int, b: int) -> str:
    after = "the start" if chars[a] == "." else repr(chars[a])
    nxt = "the end" if chars[b] == "." else repr(chars[b])
    return f"[{a}, {b}], how often {nxt} follows {after}"


def check_bigram_counts(fn: Callable) -> dict:
    """bigram_counts(words, chars) -> (V, V) ints, against NGramModel(...).counts."""
    letters = [".", *"abcdefghijklmnopqrstuvwxyz"]
    cases = [
        (["ab"], [".", "a", "b"]),
        (["emma", "ava"], [".", "a", "e", "m", "v"]),
        (["anna", "bob", "otto"], letters),
        (["x"], letters),
        ([], [".", "a"]),
        (["zoe", "zara", "amy", "zz"], letters),
    ]
    for words, chars in cases:
        call = f"bigram_counts({words!r}, {chars!r})" if len(chars) < 10 else \
            f"bigram_counts({words!r}, chars)  # chars = ['.', 'a', ..., 'z']"
        expected = _bigram_expected(words, chars)
        try:
            got = np.asarray(fn(list(words), list(chars)))
        except Exception as err:  # noqa: BLE001 - the reader's error is feedback
            return _fail(call, f"{type(err).__name__}: {err}", "no error",
                         "Your function raised an error on this input.")
        if got.shape != expected.shape:
            return _fail(call, f"an array of shape {got.shape}", f"shape {expected.shape}",
                         "The table needs one row and one column per character in chars.")
        if not np.array_equal(got, expected):
            a, b = map(int, np.argwhere(got != expected)[0])
            return _fail(call, f"{got[a, b]} at {_describe(chars, a, b)}", str(expected[a, b]),
                         "Did you wrap each word in dots, at the start and at the end?"
                         if chars[0] in (chars[a], chars[b]) else
                         "Count every neighbouring pair of the padded word.")
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def _gradient_hint(got: np.ndarray, want: np.ndarray, n: int) -> str:
    """What a wrong bigram gradient most likely forgot."""
    if np.allclose(got, want * n, rtol=1e-6, atol=1e-12):
        return "The loss is an average over the N pairs, so its gradient is divided by N too."
    if np.allclose(got, -want, rtol=1e-6, atol=1e-12):
        return "The sign is flipped: the gradient is the probabilities minus the one-hot rows."
    return ("Each pair adds its row of (probabilities - one-hot of the next character) / N to row "
            "xs[i] of dW: np.add.at(dW, xs, dlogits) does that even when rows repeat.")


def check_loss_and_grad(fn: Callable) -> dict:
    """loss_and_grad(W, xs, ys) -> (average NLL, dW (V, V)), against neural_bigram.loss_and_grad
    (itself checked against PyTorch and finite differences)."""
    from lmlab.neural_bigram import loss_and_grad

    rng = np.random.default_rng(12)
    cases = [
        (np.zeros((3, 3)), np.array([0, 1, 2, 0]), np.array([1, 2, 0, 0])),
        (rng.normal(size=(4, 4)), np.array([2, 2, 2]), np.array([0, 1, 1])),  # one row, repeated
        (rng.normal(size=(27, 27)), rng.integers(0, 27, 200), rng.integers(0, 27, 200)),
        (rng.normal(size=(5, 5)) + 1000, rng.integers(0, 5, 30), rng.integers(0, 5, 30)),  # large
    ]
    for W, xs, ys in cases:
        V, n = W.shape[0], len(xs)
        call = (f"loss_and_grad(W ({V}, {V}), xs={_short(xs)} ({n},), ys={_short(ys)} ({n},))"
                + ("  # large logits" if np.abs(W).max() > 100 else ""))
        want_loss, want_grad = loss_and_grad(W, xs, ys)
        try:
            got_loss, got_grad = fn(W.copy(), xs.copy(), ys.copy())
            got_loss, got_grad = float(got_loss), np.asarray(got_grad, dtype=float)
        except Exception as err:  # noqa: BLE001 - the reader's error is feedback
            return _fail(call, f"{type(err).__name__}: {err}", "(loss, dW)",
                         "Return two things: the average NLL and the gradient dW.")
        if not np.isclose(got_loss, want_loss, rtol=1e-9, atol=1e-12):
            return _fail(call, f"loss {got_loss:.6g}", f"{want_loss:.6g}",
                         "Subtract each row's largest logit before exp (large logits overflow)."
                         if not np.isfinite(got_loss) else
                         "The loss is the mean over the pairs of -log P(ys[i] | xs[i]).")
        if got_grad.shape != want_grad.shape:
            return _fail(call, f"dW of shape {got_grad.shape}", f"shape {want_grad.shape}",
                         "dW has W's shape: one entry per weight.")
        if not np.allclose(got_grad, want_grad, rtol=1e-9, atol=1e-12):
            a, b = (int(i) for i in np.argwhere(
                ~np.isclose(got_grad, want_grad, rtol=1e-9, atol=1e-12))[0])
            return _fail(call, f"dW[{a}, {b}] = {got_grad[a, b]:.6g}", f"{want_grad[a, b]:.6g}",
                         _gradient_hint(got_grad, want_grad, n))
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def check_cosine(fn: Callable) -> dict:
    """cosine(a, b) -> float, against embeddings.cosine_similarity on vectors of several sizes."""
    from lmlab.embeddings import cosine_similarity

    rng = np.random.default_rng(4)
    cases = [
        (np.array([1.0, 0.0]), np.array([0.0, 1.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])),
        (np.array([1.0, 2.0]), np.array([-1.0, -2.0])),
        (np.array([3.0, 4.0]), np.array([4.0, 3.0])),
        (rng.standard_normal(50), rng.standard_normal(50)),
        (10 * rng.standard_normal(8), 0.01 * rng.standard_normal(8)),
    ]
    for a, b in cases:
        call = f"cosine({_short(a)}, {_short(b)})"
        expected = cosine_similarity(a, b)
        try:
            got = float(fn(a.copy(), b.copy()))
        except Exception as err:  # noqa: BLE001 - the reader's error is feedback
            return _fail(call, f"{type(err).__name__}: {err}", f"{expected:.6f}",
                         "Your function raised an error (or did not return one number).")
        if not abs(got - expected) <= 1e-9 * max(1.0, abs(expected)):
            return _fail(call, f"{got:.6f}", f"{expected:.6f}",
                         "Divide the dot product by both lengths: a @ b / (|a| |b|)."
                         if abs(got) > 1 + 1e-9 else
                         "Check the dot product and the two lengths (np.linalg.norm).")
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


# Word lists whose odd one out is clear on the book's GloVe vectors (the runner-up is far behind).
ODD_ONE_OUT_CASES = [
    ["cat", "dog", "fish", "car"],
    ["paris", "london", "rome", "bread"],
    ["red", "green", "blue", "seven"],
    ["piano", "guitar", "drums", "coffee"],
    ["january", "march", "july", "table"],
]


def check_odd_one_out(fn: Callable) -> dict:
    """odd_one_out(words, vectors) -> word, against WordVectors.intruder on GloVe."""
    from lmlab import data

    glove = data.glove()
    for words in ODD_ONE_OUT_CASES:
        call = f"odd_one_out({words!r}, glove)"
        expected = glove.intruder(words)["intruder"]
        try:
            got = fn(list(words), glove)
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", repr(expected),
                         "Your function raised an error on this input.")
        if got != expected:
            return _fail(call, repr(got), repr(expected),
                         "For each word take its mean cosine with the other words; the odd one "
                         "out has the lowest.")
    n = len(ODD_ONE_OUT_CASES)
    return {"passed": True, "cases": n, "message": f"All {n} hidden lists pass."}


def check_cbow_grads(fn: Callable) -> dict:
    """cbow_grads(context, v_true, v_negs) -> (loss, d_context, d_true, d_negs), against
    word2vec.sgns_loss_and_grads with h the mean of the context vectors."""
    from lmlab.word2vec import sgns_loss_and_grads

    rng = np.random.default_rng(7)
    for m, k, d in [(2, 1, 3), (4, 5, 10), (1, 3, 2), (6, 2, 8)]:
        context = rng.standard_normal((m, d))
        v_true, v_negs = rng.standard_normal(d), rng.standard_normal((k, d))
        call = f"cbow_grads(context ({m}, {d}), v_true ({d},), v_negs ({k}, {d}))"
        outputs = np.vstack([v_true, v_negs])[None]
        loss, dh, dv = sgns_loss_and_grads(context.mean(axis=0)[None], outputs)
        want = [float(loss[0]), np.repeat(dh / m, m, axis=0), dv[0, 0], dv[0, 1:]]
        names = ["loss", "d_context", "d_true", "d_negs"]
        try:
            got = fn(context.copy(), v_true.copy(), v_negs.copy())
            got = [float(got[0]), *(np.asarray(g, dtype=float) for g in got[1:])]
            if len(got) != 4:
                raise ValueError(f"returned {len(got)} things, not 4")
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", "(loss, d_context, d_true, d_negs)",
                         "Return four things: the loss and the three gradients.")
        for name, g, w in zip(names, got, want, strict=True):
            if np.shape(g) != np.shape(w):
                return _fail(call, f"{name} of shape {np.shape(g)}", f"shape {np.shape(w)}",
                             "Each gradient has the shape of what it is the gradient of.")
            if not np.allclose(g, w, rtol=1e-7, atol=1e-10):
                hint = ("Each context word gets the gradient of the mean: dL/dh divided by "
                        "the number of context words." if name == "d_context" else
                        "Loss: -log sigmoid(v_true . h) - sum log sigmoid(-v_neg . h); each "
                        "score's slope is sigmoid(s) - label.")
                return _fail(call, f"{name} = {_short(np.ravel(g))}",
                             f"{_short(np.ravel(w))}", hint)
    return {"passed": True, "cases": 4, "message": "All 4 hidden cases pass."}


ANALOGY_CASES = [("man", "king", "woman"), ("france", "paris", "japan"), ("good", "better", "bad"),
                 ("walk", "walked", "swim"), ("france", "paris", "italy")]


def check_analogy(fn: Callable) -> dict:
    """analogy(a, b, c, vectors) -> word, against WordVectors.analogy on GloVe."""
    from lmlab import data

    glove = data.glove()
    for a, b, c in ANALOGY_CASES:
        call = f"analogy({a!r}, {b!r}, {c!r}, glove)"
        expected = glove.analogy(a, b, c)[0][0]
        try:
            got = fn(a, b, c, glove)
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", repr(expected),
                         "Your function raised an error on this input.")
        if got != expected:
            hint = ("Leave a, b and c out of the answers: the target b - a + c is usually "
                    "nearest to b itself." if got in (a, b, c) else
                    "Use unit vectors: target = b - a + c of the normalised vectors, then the "
                    "word with the highest cosine to it.")
            return _fail(call, repr(got), repr(expected), hint)
    n = len(ANALOGY_CASES)
    return {"passed": True, "cases": n, "message": f"All {n} hidden analogies pass."}


def _compare_arrays(fn: Callable, name: str, cases: list[tuple], expected: Callable,
                    hint: str, mistakes: tuple[tuple[Callable, str], ...] = ()) -> dict:
    """Tries fn(*args) on each case against expected(*args) (arrays, equal within 1e-9).

    mistakes: (wrong_fn, hint) pairs, common slips written out; when the reader's answer equals
    what a slip gives, its hint says what went wrong instead of the general one.
    """
    for args in cases:
        shown = (_short(a) if isinstance(a, np.ndarray) else repr(a) for a in args)
        call = f"{name}({', '.join(shown)})"
        want = expected(*args)
        try:
            got = np.asarray(fn(*(a.copy() if isinstance(a, np.ndarray) else a for a in args)),
                             dtype=float)
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", f"an array of shape {want.shape}",
                         "Your function raised an error on this input.")
        if got.shape != want.shape:
            return _fail(call, f"an array of shape {got.shape}", f"shape {want.shape}",
                         "Check the shape of what you return.")
        finite = np.isfinite(want)
        if not (np.array_equal(np.isfinite(got), finite) and np.allclose(got[finite], want[finite],
                                                                           rtol=1e-9, atol=1e-12)
                and np.array_equal(got[~finite], want[~finite])):
            where = tuple(int(i) for i in np.argwhere(~np.isclose(got, want, rtol=1e-9, atol=1e-12,
                                                                  equal_nan=False))[0])
            slip = next((said for wrong, said in mistakes
                         if np.allclose(got, wrong(*args), rtol=1e-9, atol=1e-12)), hint)
            return _fail(call, f"{got[where]:.6g} at index {list(where)}",
                         f"{want[where]:.6g}", slip)
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def check_sinusoidal(fn: Callable) -> dict:
    """sinusoidal(T, d) -> (T, d), against position.sinusoidal_encoding."""
    from lmlab.position import sinusoidal_encoding

    return _compare_arrays(fn, "sinusoidal", [(4, 2), (20, 64), (7, 10), (1, 6)],
                           sinusoidal_encoding,
                           "Even columns are sines, odd columns cosines, of p / 10000**(2i/d).")


def check_rope(fn: Callable) -> dict:
    """rope(x, m) -> (d,), against position.apply_rope at position m."""
    from lmlab.position import apply_rope

    rng = np.random.default_rng(11)
    cases = [(rng.standard_normal(d), m) for d, m in ((2, 1), (8, 3), (8, 0), (16, 25), (64, 7))]
    return _compare_arrays(fn, "rope", cases,
                           lambda x, m: apply_rope(x[None, :], np.array([m]))[0],
                           "Pair i turns by m * 10000**(-2i/d): (x0 cos a - x1 sin a, "
                           "x0 sin a + x1 cos a).")


def check_alibi(fn: Callable) -> dict:
    """alibi(n_heads, T) -> (n_heads, T, T), against position.alibi_bias (powers of two)."""
    from lmlab.position import alibi_bias

    return _compare_arrays(fn, "alibi", [(1, 3), (2, 4), (8, 6), (4, 1)], alibi_bias,
                           "Each entry is -slope * (t - s) for s <= t and -inf after t.")


def check_model_input(fn: Callable) -> dict:
    """model_input(ids, wte, wpe) -> (T, d): wte[ids] + wpe[:T], the input the first block sees."""
    rng = np.random.default_rng(5)
    cases = [(np.array([3, 1, 3, 0]), rng.standard_normal((5, 4)), rng.standard_normal((8, 4))),
             (np.array([7]), rng.standard_normal((9, 6)), rng.standard_normal((3, 6))),
             (rng.integers(0, 40, 12), rng.standard_normal((40, 8)), rng.standard_normal((16, 8)))]
    for ids, wte, wpe in cases:
        shown = ids.tolist() if len(ids) < 5 else _short(ids)
        call = f"model_input({shown}, wte of shape {wte.shape}, wpe of shape {wpe.shape})"
        want = wte[ids] + wpe[: len(ids)]
        try:
            got = np.asarray(fn(ids.copy(), wte.copy(), wpe.copy()), dtype=float)
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", f"an array of shape {want.shape}",
                         "Your function raised an error on this input.")
        if got.shape == (len(ids), 2 * wte.shape[1]):
            return _fail(call, f"an array of shape {got.shape}", f"shape {want.shape}",
                         "Add the position row to the token row; do not put them side by side.")
        if got.shape != want.shape:
            return _fail(call, f"an array of shape {got.shape}", f"shape {want.shape}",
                         "One row per token, as wide as the embedding.")
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            row = int(np.argwhere(~np.isclose(got, want, rtol=1e-9, atol=1e-12))[0, 0])
            by_id = ids.max() < len(wpe) and np.allclose(got, wte[ids] + wpe[ids])
            hint = ("The position table is read by position (0, 1, 2, ...), not by token id."
                    if by_id else "Row t is wte[ids[t]] + wpe[t].")
            return _fail(call, f"row {row}: {_short(got[row])}", _short(want[row]), hint)
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def _attention_cases(seed: int) -> list[tuple[np.ndarray, ...]]:
    """(q, k, v) triples: self-attention sizes, more keys than queries, a one-number head."""
    rng = np.random.default_rng(seed)
    return [tuple(rng.standard_normal(shape) for shape in shapes)
            for shapes in [((3, 4), (3, 4), (3, 4)), ((5, 8), (5, 8), (5, 3)),
                           ((2, 16), (6, 16), (6, 5)), ((4, 1), (4, 1), (4, 2))]]


def _softmax_rows(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_attention(fn: Callable) -> dict:
    """attention(q, k, v) -> (Tq, d_v): softmax(q k^T / sqrt(d_k)) v, against lmlab.attention."""
    from lmlab.attention import scaled_dot_product_attention

    return _compare_arrays(
        fn, "attention", _attention_cases(7),
        lambda q, k, v: scaled_dot_product_attention(q, k, v)[0],
        "Scores q @ k.T divided by sqrt(d_k), a softmax along each row, then weights @ v.",
        mistakes=((lambda q, k, v: _softmax_rows(q @ k.T) @ v,
                   "Close: divide the scores by sqrt(d_k), the length of a query, before the "
                   "softmax."),
                  (lambda q, k, v: _softmax_rows(q @ k.T / np.sqrt(q.shape[-1]), axis=0) @ v,
                   "The softmax went down the columns: each query's row of scores must sum to 1, "
                   "so take it along axis=-1.")))


def check_causal_weights(fn: Callable) -> dict:
    """causal_weights(scores) -> (T, T): the row softmax of scores with later keys masked out."""
    from lmlab.attention import causal_mask

    def masked(scores: np.ndarray) -> np.ndarray:
        allowed = causal_mask(len(scores))
        return _softmax_rows(np.where(allowed, scores, -np.inf))

    rng = np.random.default_rng(8)
    cases = [(rng.standard_normal((T, T)) * spread,) for T, spread in ((3, 1), (6, 3), (1, 1),
                                                                       (9, 10))]
    return _compare_arrays(
        fn, "causal_weights", cases, masked,
        "Row t may use keys 0..t only: set the scores of later keys to -inf, then a softmax "
        "along each row.",
        mistakes=((lambda s: _softmax_rows(s) * causal_mask(len(s)),
                   "The rows no longer sum to 1: the mask must come before the softmax (later "
                   "scores set to -inf), not after it as zeros."),
                  (lambda s: _softmax_rows(np.where(causal_mask(len(s)).T, s, -np.inf)),
                   "The mask is the wrong way round: query t (a row) may see keys s <= t, the "
                   "lower triangle with its diagonal.")))


def check_split_heads(fn: Callable) -> dict:
    """split_heads(x, n_heads) -> (H, T, C // H), against lmlab.attention.split_heads."""
    from lmlab.attention import split_heads

    rng = np.random.default_rng(9)
    cases = [(rng.standard_normal((T, C)), h) for T, C, h in ((3, 4, 2), (5, 12, 3), (2, 8, 1),
                                                              (4, 16, 4))]
    return _compare_arrays(
        fn, "split_heads", cases, split_heads,
        "Head h takes columns h*D to (h+1)*D - 1 of every row, where D = C // n_heads.",
        mistakes=((lambda x, h: x.reshape(h, len(x), -1),
                   "A reshape straight to (H, T, D) mixes rows: reshape to (T, H, D) first, "
                   "then swap the first two axes."),))


def check_layer_norm(fn: Callable) -> dict:
    """layer_norm(x, gamma, beta) -> (T, C), against nn.LayerNorm (eps 1e-5)."""
    from lmlab.nn import LayerNorm

    def expected(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
        ln = LayerNorm(x.shape[-1], dtype=np.float64)
        ln.params["weight"][...], ln.params["bias"][...] = gamma, beta
        return ln(x)

    def normalised(x: np.ndarray, axis: int, ddof: int = 0, eps: float = 1e-5) -> np.ndarray:
        mean = x.mean(axis=axis, keepdims=True)
        return (x - mean) / np.sqrt(x.var(axis=axis, ddof=ddof, keepdims=True) + eps)

    rng = np.random.default_rng(12)
    cases = [(rng.standard_normal((T, C)) * scale + shift, rng.standard_normal(C),
              rng.standard_normal(C)) for T, C, scale, shift in ((3, 4, 1, 0), (5, 8, 3, 2),
                                                                 (1, 6, 0.5, -1), (4, 16, 10, 5))]
    return _compare_arrays(
        fn, "layer_norm", cases, expected,
        "Each row on its own: subtract its mean, divide by sqrt(its variance + 1e-5), then "
        "multiply by gamma and add beta.",
        mistakes=((lambda x, g, b: normalised(x, axis=0) * g + b,
                   "The statistics went down the columns, across tokens (that is batch norm): "
                   "take each token's own mean and variance, along axis=-1."),
                  (lambda x, g, b: normalised(x, axis=-1, ddof=1) * g + b,
                   "Close: use the plain variance (divide by C, np.var's default), not the "
                   "sample variance with ddof=1."),
                  (lambda x, g, b: normalised(x, axis=-1, eps=0) * g + b,
                   "Close: add eps = 1e-5 to the variance before the square root."),
                  (lambda x, g, b: normalised(x, axis=-1),
                   "The normalising is right; now apply the learned gain and shift: "
                   "* gamma + beta.")))


def check_answer_mask(fn: Callable) -> dict:
    """answer_mask(ids, assistant_id, end_id) -> (N,) bool, on conversations of 1 to 3 turns."""
    USER, ASSISTANT, END = 40, 41, 42

    def conversation(rng: np.random.Generator, turns: int) -> np.ndarray:
        parts = []
        for _ in range(turns):
            parts += [[USER], rng.integers(0, 40, rng.integers(1, 5)), [ASSISTANT],
                      rng.integers(0, 40, rng.integers(1, 5)), [END]]
        return np.concatenate(parts).astype(np.int64)

    def marks(ids: np.ndarray, opens: bool, closes: bool, turns: int | None = None) -> np.ndarray:
        """The mask, or one of its slips: the opening marker in or out, <|end|> in or out, only
        the first ``turns`` replies."""
        mask, inside, seen = np.zeros(len(ids), dtype=bool), False, 0
        for i, token in enumerate(ids):
            if token == ASSISTANT and (turns is None or seen < turns):
                inside, seen = True, seen + 1
                mask[i] = opens
            elif token == END and inside:
                mask[i], inside = closes, False
            else:
                mask[i] = inside
        return mask

    rng = np.random.default_rng(9)
    cases = [(conversation(rng, turns), ASSISTANT, END) for turns in (1, 2, 3, 2)]
    return _compare_arrays(
        fn, "answer_mask", cases, lambda ids, a, e: marks(ids, False, True),
        "True on every token after an <|assistant|> up to and including the <|end|> that closes "
        "its reply; False on the user's turns and on the markers that open a reply.",
        mistakes=((lambda ids, a, e: marks(ids, False, False),
                   "Include the closing <|end|>: the model must learn to write it, or it will "
                   "never stop."),
                  (lambda ids, a, e: marks(ids, True, True),
                   "Leave out the <|assistant|> marker itself: the template writes it, the model "
                   "only reads it."),
                  (lambda ids, a, e: marks(ids, False, True, turns=1),
                   "Only the first reply is marked: a conversation can have several turns, and "
                   "every assistant reply counts."),
                  (lambda ids, a, e: ~marks(ids, False, True),
                   "The mask is inverted: True belongs on the assistant's replies, not on the "
                   "user's turns.")))


def check_count_parameters(fn: Callable) -> dict:
    """count_parameters(V, T, L, C) -> int, against gpt.parameter_counts (weights tied)."""
    from lmlab.gpt import GPTConfig, parameter_counts

    for V, T, L, C in [(512, 64, 4, 96), (50257, 1024, 12, 768), (10, 8, 1, 4),
                       (50257, 2048, 96, 12288), (300, 16, 2, 32)]:
        call = f"count_parameters(V={V}, T={T}, L={L}, C={C})"
        counts = parameter_counts(GPTConfig(V, T, L, 1, C))
        want = counts["total"]
        try:
            got = fn(V, T, L, C)
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", f"{want:,}",
                         "Your function raised an error on this input.")
        if got == want:
            continue
        slips = [
            (want + V * C, "You counted a separate read-out: GPT-2's is the token embedding, "
                           "transposed (tied), so it adds nothing."),
            (want - counts["layer_norm"], "Add the layer norms: two per block and one at the end, "
                                          "each with a gain and a shift of C numbers."),
            (want - L * (3 * C + C + 4 * C + C), "Add the biases: every linear layer has one "
                                                 "(3C, C, 4C and C numbers per block)."),
            (want - T * C, "Add the position embedding: T rows of C numbers."),
        ]
        hint = next((said for wrong, said in slips if got == wrong),
                    "Count per block: attention C*3C + 3C and C*C + C, feed-forward C*4C + 4C and "
                    "4C*C + C, two layer norms 2*2C; then V*C + T*C + the blocks + 2C.")
        return _fail(call, f"{got!r}", f"{want:,}", hint)
    return {"passed": True, "cases": 5, "message": "All 5 hidden cases pass."}


def check_online_softmax(fn: Callable) -> dict:
    """online_softmax(x, chunk) -> (n,), against sampling.softmax."""
    from lmlab.sampling import softmax

    rng = np.random.default_rng(13)
    cases = [(rng.standard_normal(n) * spread, chunk)
             for n, chunk, spread in ((6, 2, 1), (10, 3, 5), (7, 7, 1), (1, 4, 1), (12, 5, 300))]
    cases.append((np.array([1000.0, 1001.0, 999.0, 1002.0]), 2))
    cases.append((np.linspace(0, -50, 9), 4))  # the largest entry comes first

    def without_rescaling(x: np.ndarray, chunk: int) -> np.ndarray:
        largest, total = -np.inf, 0.0
        for start in range(0, len(x), chunk):
            part = x[start:start + chunk]
            largest = max(largest, part.max())
            total += np.exp(part - largest).sum()
        return np.exp(x - largest) / total

    return _compare_arrays(
        fn, "online_softmax", cases, lambda x, chunk: softmax(x),
        "Keep the largest entry seen so far and the sum of exp(entry - largest); when a chunk "
        "brings a larger entry, multiply the sum so far by exp(old largest - new largest).",
        mistakes=((without_rescaling,
                   "When a later chunk raises the largest entry, the sum collected so far was "
                   "taken against the old largest: multiply it by exp(old - new) first."),))


def check_windows(fn: Callable) -> dict:
    """windows(word, block_size) -> [(context, next char)], against mlp_lm.context_windows."""
    from lmlab.mlp_lm import context_windows

    for word, block_size in [("aabid", 3), ("emma", 3), ("al", 1), ("bo", 4), ("x", 2),
                             ("zoe", 5)]:
        call = f"windows({word!r}, {block_size})"
        want = context_windows(word, block_size)
        try:
            got = [tuple(pair) for pair in fn(word, block_size)]
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", repr(want),
                         "Your function raised an error on this input.")
        if got != want:
            if len(got) != len(want):
                hint = (f"A word of {len(word)} characters gives {len(want)} pairs: one per "
                        "character, and one more whose answer is '.', the end of the word.")
            else:
                i = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
                hint = (f"Pair {i} differs. The context is always {block_size} characters, "
                        "padded with '.' at the start, and slides one character each step.")
            return _fail(call, repr(got), repr(want), hint)
    return {"passed": True, "cases": 6, "message": "All 6 hidden cases pass."}


def check_mean_nll(fn: Callable) -> dict:
    """mean_nll(logits, targets) -> float, against losses.cross_entropy."""
    from lmlab.losses import cross_entropy

    rng = np.random.default_rng(6)
    cases = [(np.array([[2.0, 0.0, -1.0]]), np.array([0])),
             (rng.standard_normal((5, 27)), rng.integers(0, 27, 5)),
             (np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1])),
             (3 * rng.standard_normal((64, 10)), rng.integers(0, 10, 64))]
    for logits, targets in cases:
        call = f"mean_nll({_short(logits)} of shape {logits.shape}, {_short(targets)})"
        want = cross_entropy(logits, targets)[0]
        try:
            got = float(fn(logits.copy(), targets.copy()))
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", f"{want:.6g}",
                         "Your function raised an error on this input.")
        if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ("Take the log-softmax of each row (subtract the row's largest logit first, "
                    "so exp cannot overflow), pick each row's target column, and average minus "
                    "those.")
            if np.isfinite(want) and not np.isfinite(got):
                hint = "Your result overflowed: subtract each row's largest logit before exp."
            return _fail(call, f"{got:.6g}", f"{want:.6g}", hint)
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def check_mlp_logits(fn: Callable) -> dict:
    """mlp_logits(idx, C, W1, b1, W2, b2) -> (B, V), against MLPLanguageModel's forward."""
    from lmlab.mlp_lm import MLPLanguageModel

    cases, model_of = [], {}
    for vocab, block, embd, hidden, batch, seed in [(27, 3, 2, 26, 4, 0), (27, 3, 10, 64, 8, 1),
                                                   (5, 1, 3, 4, 2, 2), (12, 5, 4, 7, 3, 3)]:
        model = MLPLanguageModel(vocab, block, embd, hidden, rng=seed, dtype=np.float64)
        rng = np.random.default_rng(seed)
        for layer in (model.hidden, model.out):  # biases start at zero: a forgotten one would pass
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
        idx = rng.integers(0, vocab, (batch, block))
        weights = (model.emb.params["weight"], model.hidden.params["weight"],
                   model.hidden.params["bias"], model.out.params["weight"],
                   model.out.params["bias"])
        cases.append((idx, *weights))
        model_of[id(idx)] = model

    def expected(idx: np.ndarray, *weights: np.ndarray) -> np.ndarray:
        return model_of[id(idx)](idx)[0]

    return _compare_arrays(fn, "mlp_logits", cases, expected,
                           "Look up the rows C[idx], flatten each context's rows into one "
                           "vector, then tanh(x @ W1 + b1) @ W2 + b2.")


def _distributions(seed: int, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Random distributions with no two probabilities equal (a tie would make "the k largest"
    ambiguous)."""
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.full(v, 0.7)) for v in sizes]


def check_top_k(fn: Callable) -> dict:
    """my_top_k(probs, k) -> (V,), against sampling.cut_tail(probs, top_k=k)."""
    from lmlab.sampling import cut_tail

    a, b, c = _distributions(5, (6, 15, 40))
    return _compare_arrays(fn, "my_top_k", [(a, 3), (b, 1), (c, 10), (a, 6)],
                           lambda probs, k: cut_tail(probs, top_k=k),
                           "Keep the k largest probabilities, zero the rest, and divide by the "
                           "sum of what you kept.")


def check_top_p(fn: Callable) -> dict:
    """my_top_p(probs, p) -> (V,), against sampling.cut_tail(probs, top_p=p)."""
    from lmlab.sampling import cut_tail

    a, b, c = _distributions(6, (6, 15, 40))
    peaked = np.array([0.7, 0.2, 0.06, 0.04])
    cases = [(a, 0.5), (b, 0.9), (c, 0.3), (peaked, 0.6), (peaked, 0.95), (a, 1.0)]
    return _compare_arrays(fn, "my_top_p", cases, lambda probs, p: cut_tail(probs, top_p=p),
                           "Keep a token while the tokens ranked above it sum to less than p; the "
                           "top token is always kept; then renormalise.")


def _compare_numbers(fn: Callable, name: str, cases: list[tuple], expected: Callable,
                     hint: str, mistakes: tuple[tuple[Callable, str], ...] = (),
                     overflow: str = "") -> dict:
    """Tries fn(*args) on each case against expected(*args), one number each (within 1e-9).

    mistakes: (wrong_fn, hint) pairs, as in _compare_arrays; overflow: what to say when the
    reader's answer is inf or nan where the right one is finite.
    """
    for args in cases:
        shown = (_short(a) if isinstance(a, np.ndarray) else repr(a) for a in args)
        call = f"{name}({', '.join(shown)})"
        want = float(expected(*args))
        try:
            got = float(fn(*(a.copy() if isinstance(a, np.ndarray) else a for a in args)))
        except Exception as err:  # noqa: BLE001
            return _fail(call, f"{type(err).__name__}: {err}", f"{want:.6g}",
                         "Your function raised an error (or did not return one number).")
        if np.isclose(got, want, rtol=1e-9, atol=1e-12):
            continue
        slip = next((said for wrong, said in mistakes
                     if np.isclose(got, float(wrong(*args)), rtol=1e-9, atol=1e-12)), hint)
        return _fail(call, f"{got:.6g}", f"{want:.6g}",
                     overflow if overflow and not np.isfinite(got) else slip)
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def _preference_cases(seed: int, n: int) -> list[np.ndarray]:
    """n arrays of sequence log-probs of a few responses each, as a small model gives them."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-40.0, -5.0, 4) for _ in range(n)]


LOG_SIGMOID_OVERFLOW = ("Your result overflowed at a large margin: -log sigmoid(m) = "
                        "log(1 + e^-m) = np.logaddexp(0, -m) stays finite however large m is.")


def check_bradley_terry(fn: Callable) -> dict:
    """bradley_terry(r_chosen, r_rejected) -> float, against preference.bradley_terry_loss."""
    from lmlab.preference import bradley_terry_loss

    rng = np.random.default_rng(14)
    cases = [(np.array([2.0]), np.array([0.5])),
             (np.array([0.0, 1.0, -1.0]), np.array([0.0, 3.0, -2.0])),
             (rng.standard_normal(6) * 3, rng.standard_normal(6) * 3),
             (np.array([-800.0, -3.0]), np.array([400.0, 2.0])),  # e^1200 overflows
             (np.array([-1000.0, 5.0, 1000.0]), np.array([0.0, 5.0, -1000.0]))]

    def sigmoid(m: np.ndarray) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, -m))

    return _compare_numbers(
        fn, "bradley_terry", cases, lambda c, r: bradley_terry_loss(c, r)[0],
        "The mean over the pairs of -log sigmoid(r_chosen - r_rejected).",
        mistakes=((lambda c, r: bradley_terry_loss(r, c)[0],
                   "The sign is reversed: the chosen response should win, so the margin is "
                   "r_chosen - r_rejected."),
                  (lambda c, r: -sigmoid(c - r).mean(),
                   "That is -sigmoid(margin): take the log of the sigmoid, the log-likelihood "
                   "of the preference."),
                  (lambda c, r: (1 - sigmoid(c - r)).mean(),
                   "That is 1 - sigmoid(margin): the loss is -log sigmoid(margin)."),
                  (lambda c, r: len(c) * bradley_terry_loss(c, r)[0],
                   "That is the sum over the pairs: take the mean.")),
        overflow=LOG_SIGMOID_OVERFLOW)


def check_dpo_loss(fn: Callable) -> dict:
    """dpo_loss(pi_c, pi_r, ref_c, ref_r, beta) -> float, against preference.dpo_loss."""
    from lmlab.preference import bradley_terry_loss, dpo_loss

    pi_c, pi_r, ref_c, ref_r, a, b, c, d = _preference_cases(15, 8)
    cases = [(pi_c, pi_r, ref_c, ref_r, 0.1),
             (a, b, c, d, 0.5),
             (pi_c, pi_r, pi_c, pi_r, 0.1),  # the policy is the reference: log 2
             (c - 3.0, d + 3.0, c, d, 2.0),
             (np.array([-5.0, -900.0]), np.array([-900.0, -5.0]), np.array([-450.0, -450.0]),
              np.array([-450.0, -450.0]), 1.0)]  # margins of +-895: e^895 overflows

    def bt(chosen: np.ndarray, rejected: np.ndarray) -> float:
        return bradley_terry_loss(chosen, rejected)[0]

    return _compare_numbers(
        fn, "dpo_loss", cases, lambda *args: dpo_loss(*args)[0],
        "The mean of -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))).",
        mistakes=((lambda pc, pr, rc, rr, beta: bt(beta * pc, beta * pr),
                   "The reference is left out: each response's reward is beta * (pi - ref), "
                   "its log-probability relative to the reference's."),
                  (lambda pc, pr, rc, rr, beta: bt(pc - rc, pr - rr),
                   "beta is left out: multiply the difference of the two log-ratios by beta."),
                  (lambda pc, pr, rc, rr, beta: bt(beta * (pr - rr), beta * (pc - rc)),
                   "The two log-ratios are subtracted the wrong way round: chosen minus "
                   "rejected, (pi_c - ref_c) - (pi_r - ref_r).")),
        overflow=LOG_SIGMOID_OVERFLOW)


def _short(x: np.ndarray) -> str:
    shown = ", ".join(f"{v:.3g}" for v in np.ravel(x)[:4])
    return f"[{shown}{', ...' if np.size(x) > 4 else ''}]"


def _fail(call: str, got: str, expected: str, hint: str) -> dict:
    return {"passed": False, "input": call, "got": got, "expected": expected, "hint": hint}


CHECKS = {
    "my_top_k": check_top_k,
    "my_top_p": check_top_p,
    "bigram_counts": check_bigram_counts,
    "loss_and_grad": check_loss_and_grad,
    "cosine": check_cosine,
    "odd_one_out": check_odd_one_out,
    "cbow_grads": check_cbow_grads,
    "analogy": check_analogy,
    "sinusoidal": check_sinusoidal,
    "rope": check_rope,
    "alibi": check_alibi,
    "model_input": check_model_input,
    "windows": check_windows,
    "mean_nll": check_mean_nll,
    "mlp_logits": check_mlp_logits,
    "attention": check_attention,
    "causal_weights": check_causal_weights,
    "split_heads": check_split_heads,
    "layer_norm": check_layer_norm,
    "count_parameters": check_count_parameters,
    "online_softmax": check_online_softmax,
    "answer_mask": check_answer_mask,
    "bradley_terry": check_bradley_terry,
    "dpo_loss": check_dpo_loss,
    **bpe_exercises.CHECKS,
}


def report(name: str, fn: object) -> None:
    """Print the check's result as one JSON line for the page (exercise.js)."""
    if not callable(fn):
        result = {"passed": False, "input": "", "got": "no function", "expected": f"{name}()",
                  "hint": f"Define a function called {name} in the exercise's cell."}
    else:
        result = CHECKS[name](fn)
    print(MARK + json.dumps(result))
