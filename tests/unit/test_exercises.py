"""The exercise checks: a right answer passes, each kind of wrong answer gets feedback that
names the input, what came back and what was expected."""

import json

import numpy as np
from lmlab import exercises


def right(words, chars):
    index = {c: k for k, c in enumerate(chars)}
    counts = np.zeros((len(chars), len(chars)), dtype=int)
    for word in words:
        padded = "." + word + "."
        for a, b in zip(padded, padded[1:], strict=False):
            counts[index[a], index[b]] += 1
    return counts


def no_end(words, chars):
    index = {c: k for k, c in enumerate(chars)}
    counts = np.zeros((len(chars), len(chars)), dtype=int)
    for word in words:
        padded = "." + word
        for a, b in zip(padded, padded[1:], strict=False):
            counts[index[a], index[b]] += 1
    return counts


def test_a_right_answer_passes():
    result = exercises.check_bigram_counts(right)
    assert result["passed"] and result["cases"] == 6


def test_a_missing_end_marker_is_pointed_at():
    result = exercises.check_bigram_counts(no_end)
    assert not result["passed"]
    assert result["input"] == "bigram_counts(['ab'], ['.', 'a', 'b'])"
    assert result["got"] == "0 at [2, 0], how often the end follows 'b'"
    assert result["expected"] == "1"
    assert "dots" in result["hint"]


def test_wrong_shapes_and_errors_are_feedback_too():
    assert "shape (3, 3)" in exercises.check_bigram_counts(lambda w, c: np.zeros(3))["expected"]
    failed = exercises.check_bigram_counts(lambda w, c: 1 / 0)
    assert failed["got"] == "ZeroDivisionError: division by zero"


def test_report_prints_one_marked_json_line(capsys):
    exercises.report("bigram_counts", right)
    exercises.report("bigram_counts", None)
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith(exercises.MARK) for line in lines)
    first, second = (json.loads(line.removeprefix(exercises.MARK)) for line in lines)
    assert first["passed"] and not second["passed"]


# --- chapter 4 ---------------------------------------------------------------------------------

def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_chapter4_cosine_right_and_wrong():
    assert exercises.check_cosine(_cosine)["passed"]
    result = exercises.check_cosine(lambda a, b: float(a @ b))
    assert not result["passed"] and "lengths" in result["hint"]


def test_chapter4_odd_one_out_right_and_wrong():
    def odd(words, vectors):
        def mean(w):
            return np.mean([vectors.similarity(w, o) for o in words if o != w])
        return min(words, key=mean)

    assert exercises.check_odd_one_out(odd)["passed"]
    assert not exercises.check_odd_one_out(lambda words, vectors: words[0])["passed"]


def test_chapter4_cbow_grads_right_and_wrong():
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def cbow(context, v_true, v_negs, share=True):
        h = context.mean(axis=0)
        s_true, s_negs = v_true @ h, v_negs @ h
        loss = -np.log(sigmoid(s_true)) - np.sum(np.log(sigmoid(-s_negs)))
        d_h = (sigmoid(s_true) - 1) * v_true + sigmoid(s_negs) @ v_negs
        d_context = np.tile(d_h / (len(context) if share else 1), (len(context), 1))
        return loss, d_context, (sigmoid(s_true) - 1) * h, sigmoid(s_negs)[:, None] * h

    assert exercises.check_cbow_grads(cbow)["passed"]
    result = exercises.check_cbow_grads(lambda c, t, n: cbow(c, t, n, share=False))
    assert not result["passed"] and "divided by" in result["hint"]


def test_chapter4_analogy_right_and_wrong():
    def analogy(a, b, c, vectors, exclude=True):
        unit = vectors.unit
        target = unit[vectors.index[b]] - unit[vectors.index[a]] + unit[vectors.index[c]]
        scores = unit @ target
        if exclude:
            for w in (a, b, c):
                scores[vectors.index[w]] = -np.inf
        return vectors.words[int(np.argmax(scores))]

    assert exercises.check_analogy(analogy)["passed"]
    result = exercises.check_analogy(lambda a, b, c, v: analogy(a, b, c, v, exclude=False))
    assert not result["passed"] and "Leave a, b and c out" in result["hint"]


# --- chapter 5 ---------------------------------------------------------------------------------

def test_chapter5_sinusoidal_right_and_wrong():
    def table(T, d, swap=False):
        angles = np.arange(T)[:, None] * 10000 ** (-np.arange(0, d, 2) / d)
        pe = np.zeros((T, d))
        waves = (np.cos(angles), np.sin(angles)) if swap else (np.sin(angles), np.cos(angles))
        pe[:, 0::2], pe[:, 1::2] = waves
        return pe

    assert exercises.check_sinusoidal(table)["passed"]
    result = exercises.check_sinusoidal(lambda T, d: table(T, d, swap=True))
    assert not result["passed"] and "sines" in result["hint"]


def test_chapter5_rope_right_and_wrong():
    def rope(x, m, sign=1):
        a = m * 10000 ** (-np.arange(0, len(x), 2) / len(x))
        out = np.empty(len(x))
        out[0::2] = x[0::2] * np.cos(a) - sign * x[1::2] * np.sin(a)
        out[1::2] = sign * x[0::2] * np.sin(a) + x[1::2] * np.cos(a)
        return out

    assert exercises.check_rope(rope)["passed"]
    assert not exercises.check_rope(lambda x, m: rope(x, m, sign=-1))["passed"]


def test_chapter5_alibi_right_and_wrong():
    def alibi(n, T, future=-np.inf):
        slopes = 2.0 ** (-8 * np.arange(1, n + 1) / n)
        distance = np.arange(T)[:, None] - np.arange(T)[None, :]
        return np.where(distance >= 0, -slopes[:, None, None] * distance, future)

    assert exercises.check_alibi(alibi)["passed"]
    result = exercises.check_alibi(lambda n, T: alibi(n, T, future=0.0))
    assert not result["passed"] and "-inf" in result["hint"]


def test_top_k_and_top_p_pass_the_chapters_solutions_and_point_at_mistakes():
    def my_top_k(probs, k):
        keep = np.argsort(probs)[-k:]
        out = np.zeros_like(probs)
        out[keep] = probs[keep]
        return out / out.sum()

    def my_top_p(probs, p):
        order = np.argsort(-probs)
        sorted_probs = probs[order]
        before = np.cumsum(sorted_probs) - sorted_probs
        out = np.zeros_like(probs)
        keep = order[before < p]
        out[keep] = probs[keep]
        return out / out.sum()

    assert exercises.check_top_k(my_top_k)["passed"]
    assert exercises.check_top_p(my_top_p)["passed"]
    def unnormalised_top_k(probs, k):
        return my_top_k(probs, k) * probs[np.argsort(probs)[-k:]].sum()

    unnormalised = exercises.check_top_k(unnormalised_top_k)
    assert not unnormalised["passed"] and "divide by the sum" in unnormalised["hint"]
    # the classic slip: cumsum including the token itself drops the token that crosses p

    def including(probs, p):
        order = np.argsort(-probs)
        out = np.zeros_like(probs)
        keep = order[np.cumsum(probs[order]) < p]
        out[keep] = probs[keep]
        return out / max(out.sum(), 1e-300)
    slip = exercises.check_top_p(including)
    assert not slip["passed"] and slip["input"].startswith("my_top_p(")
    unchanged = exercises.check_top_p(lambda probs, p: probs)
    assert not unchanged["passed"]


def test_chapter5_model_input_right_and_wrong():
    def model_input(ids, wte, wpe):
        return wte[ids] + wpe[: len(ids)]

    assert exercises.check_model_input(model_input)["passed"]
    by_id = exercises.check_model_input(lambda ids, wte, wpe: wte[ids] + wpe[ids])
    assert not by_id["passed"] and "by position" in by_id["hint"]
    side_by_side = exercises.check_model_input(
        lambda ids, wte, wpe: np.concatenate([wte[ids], wpe[: len(ids)]], axis=1))
    assert not side_by_side["passed"] and "side by side" in side_by_side["hint"]
    tokens_only = exercises.check_model_input(lambda ids, wte, wpe: wte[ids])
    assert not tokens_only["passed"] and "wpe[t]" in tokens_only["hint"]


def _solution(chapter: str, name: str) -> dict:
    """The solution of exercise `name` in web/chapters/`chapter`, run: its namespace."""
    import re

    from chapter_numbers import REPO

    text = (REPO / "web/chapters" / chapter).read_text()
    block = text.split(f":::: exercise {name}\n", 1)[1].split("::::\n", 1)[0]
    code = re.search(r"::: solution\n```\n(.*?)```", block, re.S).group(1)
    namespace = {"np": np}
    exec(code, namespace)
    return namespace


def test_chapter2_loss_and_grad_right_and_wrong():
    right_one = _solution("02-counting.md", "loss_and_grad")["loss_and_grad"]
    assert exercises.check_loss_and_grad(right_one)["passed"]

    def undivided(W, xs, ys):
        loss, dW = right_one(W, xs, ys)
        return loss, dW * len(xs)

    def overwriting(W, xs, ys):  # dW[xs] += ... keeps one row per repeated character
        loss, _ = right_one(W, xs, ys)
        logits = W[xs] - W[xs].max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probs[np.arange(len(ys)), ys] -= 1
        dW = np.zeros_like(W)
        dW[xs] += probs / len(ys)
        return loss, dW

    def unstable(W, xs, ys):  # no max subtracted: large logits overflow
        e = np.exp(W[xs])
        probs = e / e.sum(axis=1, keepdims=True)
        return -np.log(probs[np.arange(len(ys)), ys]).mean(), right_one(W, xs, ys)[1]

    result = exercises.check_loss_and_grad(undivided)
    assert not result["passed"] and "divided by N" in result["hint"]
    assert result["input"].startswith("loss_and_grad(W (3, 3)")
    result = exercises.check_loss_and_grad(overwriting)
    assert not result["passed"] and "np.add.at" in result["hint"]
    result = exercises.check_loss_and_grad(unstable)
    assert not result["passed"] and "largest logit" in result["hint"]
    assert "large logits" in result["input"]
    starter = exercises.check_loss_and_grad(lambda W, xs, ys: (0.0, np.zeros_like(W)))
    assert not starter["passed"] and starter["got"].startswith("loss 0")
    assert not exercises.check_loss_and_grad(lambda W, xs, ys: 1.0)["passed"]


CHAPTER6 = "06-neural-next-token-prediction.md"


def test_chapter6_windows_right_and_wrong():
    assert exercises.check_windows(_solution(CHAPTER6, "windows")["windows"])["passed"]
    no_end = exercises.check_windows(
        lambda word, n: [(("." * n + word)[i:i + n], word[i]) for i in range(len(word))])
    assert not no_end["passed"] and "the end of the word" in no_end["hint"]
    unpadded = exercises.check_windows(
        lambda word, n: [((word + ".")[max(0, i - n):i], c) for i, c in enumerate(word + ".")])
    assert not unpadded["passed"] and "padded with '.'" in unpadded["hint"]


def test_chapter6_mean_nll_right_and_wrong():
    assert exercises.check_mean_nll(_solution(CHAPTER6, "mean_nll")["mean_nll"])["passed"]

    def overflowing(logits, targets):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(targets)), targets]).mean()

    with np.errstate(all="ignore"):
        overflow = exercises.check_mean_nll(overflowing)
    assert not overflow["passed"] and "overflowed" in overflow["hint"]
    summed = exercises.check_mean_nll(lambda logits, targets: len(targets) * _solution(
        CHAPTER6, "mean_nll")["mean_nll"](logits, targets))
    assert not summed["passed"] and "average" in summed["hint"]


def test_chapter6_mlp_logits_right_and_wrong():
    assert exercises.check_mlp_logits(_solution(CHAPTER6, "mlp_logits")["mlp_logits"])["passed"]
    no_tanh = exercises.check_mlp_logits(
        lambda idx, C, W1, b1, W2, b2: (C[idx].reshape(len(idx), -1) @ W1 + b1) @ W2 + b2)
    assert not no_tanh["passed"] and "tanh" in no_tanh["hint"]
    no_bias = exercises.check_mlp_logits(
        lambda idx, C, W1, b1, W2, b2: np.tanh(C[idx].reshape(len(idx), -1) @ W1) @ W2 + b2)
    assert not no_bias["passed"]


CHAPTER7 = "07-attention.md"


def _row_softmax(scores, axis=-1):
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_chapter7_attention_right_and_wrong():
    assert exercises.check_attention(_solution(CHAPTER7, "attention")["attention"])["passed"]
    unscaled = exercises.check_attention(lambda q, k, v: _row_softmax(q @ k.T) @ v)
    assert not unscaled["passed"] and "sqrt(d_k)" in unscaled["hint"]
    columns = exercises.check_attention(
        lambda q, k, v: _row_softmax(q @ k.T / np.sqrt(q.shape[1]), axis=0) @ v)
    assert not columns["passed"] and "axis=-1" in columns["hint"]
    starter = exercises.check_attention(lambda q, k, v: np.zeros((len(q), v.shape[1])))
    assert not starter["passed"] and "weights @ v" in starter["hint"]


def test_chapter7_causal_weights_right_and_wrong():
    solution = _solution(CHAPTER7, "causal_weights")["causal_weights"]
    assert exercises.check_causal_weights(solution)["passed"]
    after = exercises.check_causal_weights(
        lambda s: _row_softmax(s) * np.tril(np.ones(s.shape, dtype=bool)))
    assert not after["passed"] and "before the softmax" in after["hint"]
    upper = exercises.check_causal_weights(
        lambda s: _row_softmax(np.where(np.triu(np.ones(s.shape, dtype=bool)), s, -np.inf)))
    assert not upper["passed"] and "wrong way round" in upper["hint"]

    def only_earlier(s):  # a token not allowed to see itself (the first one must see something)
        allowed = np.tril(np.ones(s.shape, dtype=bool), -1)
        allowed[0, 0] = True
        return _row_softmax(np.where(allowed, s, -np.inf))

    assert not exercises.check_causal_weights(only_earlier)["passed"]


def test_chapter7_split_heads_right_and_wrong():
    solution = _solution(CHAPTER7, "split_heads")["split_heads"]
    assert exercises.check_split_heads(solution)["passed"]
    reshaped = exercises.check_split_heads(lambda x, h: x.reshape(h, len(x), -1))
    assert not reshaped["passed"] and "(T, H, D) first" in reshaped["hint"]
    starter = exercises.check_split_heads(lambda x, h: x)
    assert not starter["passed"] and "shape" in starter["hint"]


CHAPTER8 = "08-the-transformer.md"


def _normalise(x, axis=-1, ddof=0, eps=1e-5):
    return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(
        x.var(axis=axis, ddof=ddof, keepdims=True) + eps)


def test_chapter8_layer_norm_right_and_wrong():
    solution = _solution(CHAPTER8, "layer_norm")["layer_norm"]
    assert exercises.check_layer_norm(solution)["passed"]
    slips = {"axis=-1": lambda x, g, b: _normalise(x, axis=0) * g + b,
             "ddof=1": lambda x, g, b: _normalise(x, ddof=1) * g + b,
             "eps = 1e-5": lambda x, g, b: _normalise(x, eps=0) * g + b,
             "* gamma + beta": lambda x, g, b: _normalise(x)}
    for said, slip in slips.items():
        result = exercises.check_layer_norm(slip)
        assert not result["passed"] and said in result["hint"], said
    starter = exercises.check_layer_norm(lambda x, g, b: x)
    assert not starter["passed"] and "Each row on its own" in starter["hint"]


def test_chapter8_count_parameters_right_and_wrong():
    solution = _solution(CHAPTER8, "count_parameters")["count_parameters"]
    assert exercises.check_count_parameters(solution)["passed"]
    assert solution(512, 64, 4, 96) == 502_848  # as the exercise's text says

    def per_block(C, biases=True, norms=True):
        return 12 * C * C + (9 * C if biases else 0) + (4 * C if norms else 0)

    slips = {
        "read-out": lambda V, T, L, C: 2 * V * C + T * C + L * per_block(C) + 2 * C,
        "layer norms": lambda V, T, L, C: V * C + T * C + L * per_block(C, norms=False),
        "biases": lambda V, T, L, C: V * C + T * C + L * per_block(C, biases=False) + 2 * C,
        "position embedding": lambda V, T, L, C: V * C + L * per_block(C) + 2 * C,
    }
    for said, slip in slips.items():
        result = exercises.check_count_parameters(slip)
        assert not result["passed"] and said in result["hint"], said
    raising = exercises.check_count_parameters(lambda V, T, L, C: 1 / 0)
    assert not raising["passed"] and "ZeroDivisionError" in raising["got"]


def test_chapter8_online_softmax_right_and_wrong():
    solution = _solution(CHAPTER8, "online_softmax")["online_softmax"]
    assert exercises.check_online_softmax(solution)["passed"]

    def without_rescaling(x, chunk):
        largest, total = -np.inf, 0.0
        for start in range(0, len(x), chunk):
            piece = x[start:start + chunk]
            largest = max(largest, piece.max())
            total += np.exp(piece - largest).sum()
        return np.exp(x - largest) / total

    slip = exercises.check_online_softmax(without_rescaling)
    assert not slip["passed"] and "exp(old - new)" in slip["hint"]
    with np.errstate(over="ignore", invalid="ignore"):  # the starter's exp(1000) overflows
        starter = exercises.check_online_softmax(lambda x, chunk: np.exp(x) / np.exp(x).sum())
    assert not starter["passed"]


CHAPTER9 = "09-from-gpt-to-chatgpt.md"


def test_chapter9_answer_mask_right_and_wrong():
    solution = _solution(CHAPTER9, "answer_mask")["answer_mask"]
    assert exercises.check_answer_mask(solution)["passed"]

    def marked(ids, a, e, opens=False, closes=True, first_only=False):
        mask, inside, seen = np.zeros(len(ids), dtype=bool), False, 0
        for i, token in enumerate(ids):
            if token == a and not (first_only and seen):
                inside, seen, mask[i] = True, seen + 1, opens
            elif token == e and inside:
                inside, mask[i] = False, closes
            else:
                mask[i] = inside
        return mask

    slips = {
        "Include the closing <|end|>": lambda i, a, e: marked(i, a, e, closes=False),
        "Leave out the <|assistant|> marker": lambda i, a, e: marked(i, a, e, opens=True),
        "Only the first reply": lambda i, a, e: marked(i, a, e, first_only=True),
        "inverted": lambda i, a, e: ~marked(i, a, e),
    }
    for said, slip in slips.items():
        result = exercises.check_answer_mask(slip)
        assert not result["passed"] and said in result["hint"], said
    starter = exercises.check_answer_mask(lambda ids, a, e: np.zeros(len(ids), dtype=bool))
    assert not starter["passed"] and "up to and including" in starter["hint"]


def test_chapter9_bradley_terry_right_and_wrong():
    solution = _solution(CHAPTER9, "bradley_terry")["bradley_terry"]
    assert exercises.check_bradley_terry(solution)["passed"]

    def sigmoid(m):
        return 1 / (1 + np.exp(-m))

    slips = {
        "sign is reversed": lambda c, r: np.mean(np.logaddexp(0, c - r)),
        "take the log": lambda c, r: -np.mean(sigmoid(c - r)),
        "1 - sigmoid": lambda c, r: np.mean(1 - sigmoid(c - r)),
        "the sum": lambda c, r: np.sum(np.logaddexp(0, r - c)),
        "np.logaddexp(0, -m)": lambda c, r: np.mean(-np.log(sigmoid(c - r))),
    }
    for said, slip in slips.items():
        with np.errstate(over="ignore", divide="ignore"):  # the unstable slip overflows
            result = exercises.check_bradley_terry(slip)
        assert not result["passed"] and said in result["hint"], said
    unstable = slips["np.logaddexp(0, -m)"]
    with np.errstate(over="ignore", divide="ignore"):
        result = exercises.check_bradley_terry(unstable)
    assert result["got"] == "inf"
    assert result["input"] == "bradley_terry([-800, -3], [400, 2])"
    starter = exercises.check_bradley_terry(lambda c, r: 0.0)
    assert not starter["passed"] and "-log sigmoid" in starter["hint"]


def test_chapter9_dpo_loss_right_and_wrong():
    solution = _solution(CHAPTER9, "dpo_loss")["dpo_loss"]
    assert exercises.check_dpo_loss(solution)["passed"]
    logps = np.array([-12.0, -20.0])
    assert solution(logps, logps - 1, logps, logps - 1, 0.1) == np.log(2)  # as the hint says

    def bt(c, r):
        return np.mean(np.logaddexp(0, r - c))

    slips = {
        "reference is left out": lambda pc, pr, rc, rr, beta: bt(beta * pc, beta * pr),
        "beta is left out": lambda pc, pr, rc, rr, beta: bt(pc - rc, pr - rr),
        "wrong way round": lambda pc, pr, rc, rr, beta: bt(beta * (pr - rr), beta * (pc - rc)),
        "overflowed": lambda pc, pr, rc, rr, beta: np.mean(
            np.log(1 + np.exp(-beta * ((pc - rc) - (pr - rr))))),
    }
    for said, slip in slips.items():
        with np.errstate(over="ignore"):  # the unstable slip overflows
            result = exercises.check_dpo_loss(slip)
        assert not result["passed"] and said in result["hint"], said
    starter = exercises.check_dpo_loss(lambda pc, pr, rc, rr, beta: 0.0)
    assert not starter["passed"] and "beta * ((pi_c - ref_c)" in starter["hint"]
