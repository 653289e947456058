"""lmlab.gpt_lens: the logit lens and the attention maps of the book's GPT (chapter 8's widget).

The lens is checked against the model's own forward pass and against a residual stream computed
here step by step, with the layer norm written out; the attention against the model's weights;
and the answer against JSON. PyTorch reads the same residuals as a second opinion (`reference`).
These tests use the model the build trains (`built`), so they run inside Pyodide too.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from lmlab import gpt_lens
from lmlab.book_model import PROMPT
from lmlab.gpt_lens import attention_map, lens_view, residual_stream, softmax, top_tokens, visible

REPO = Path(__file__).resolve().parents[2]
LONG = ("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name;\n"
        "Or, if thou wilt not, be but sworn my love,\nAnd I'll no longer be a Capulet.")
# The lens runs the model in float64: an independent float64 computation of it agrees to about
# 1e-15; probabilities are compared with this absolute tolerance.
ATOL = 1e-12


@pytest.fixture(scope="module")
def book():
    if sys.platform != "emscripten":  # Pyodide reads what CPython's build made
        sys.path.insert(0, str(REPO / "build"))
        import data as book_data

        book_data.prepare(["book_gpt"])
    return gpt_lens.book_model()


def manual_residuals(book, ids: np.ndarray) -> list[np.ndarray]:
    """The stream after the embeddings and after each block, from the weights: (T, C) each."""
    model = book.model
    x = model.wte.params["weight"][ids] + model.wpe.params["weight"][: len(ids)]
    stages = [x]
    for block in model.h:
        x = block.forward(x[None])[0]
        stages.append(x)
    return stages


def read_out(book, x: np.ndarray) -> np.ndarray:
    """ln_f written out, then the tied projection, then softmax: (T, C) -> (T, V) float64."""
    model = book.model
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + 1e-5) * model.ln_f.params["weight"] \
        + model.ln_f.params["bias"]
    logits = (normed @ model.wte.params["weight"].T).astype(np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def model_probs(book, ids: np.ndarray) -> np.ndarray:
    logits, _ = book.model.forward(ids[None])
    return softmax(logits[0])


def assert_lens_matches(view, stage_probs, norms, pieces):
    """view's lens at every position against probabilities (S, T, V) and norms (S, T)."""
    S, T, _ = stage_probs.shape
    assert len(view["lens"]) == T
    for t, lens in enumerate(view["lens"]):
        final = stage_probs[-1, t]
        answer = int(final.argmax())
        assert lens["answer"] == pieces[answer]
        assert lens["answer_p"] == pytest.approx(final[answer], abs=ATOL)
        assert len(lens["stages"]) == S
        for s, stage in enumerate(lens["stages"]):
            p = stage_probs[s, t]
            expected = np.argsort(-p, kind="stable")[: view["top"]]
            assert [piece for piece, _ in stage["top"]] == [pieces[i] for i in expected]
            assert [q for _, q in stage["top"]] == pytest.approx(p[expected].tolist(), abs=ATOL)
            assert stage["p"] == pytest.approx(p[answer], abs=ATOL)
            assert stage["rank"] == 1 + int((p > p[answer]).sum())
            assert stage["norm"] == pytest.approx(norms[s, t], rel=1e-12)
        assert lens["final"] == lens["stages"][-1]["top"]


@pytest.mark.built
def test_the_last_stage_is_the_models_own_output(book):
    view = lens_view(PROMPT)
    ids = np.array(view["ids"])
    probs = model_probs(book, ids)  # (T, V), the model's forward pass
    pieces = gpt_lens.token_pieces()
    for t, lens in enumerate(view["lens"]):
        answer = int(probs[t].argmax())
        assert lens["answer"] == pieces[answer]
        assert lens["answer_p"] == pytest.approx(probs[t, answer], abs=ATOL)
        best = np.argsort(-probs[t])[: view["top"]]
        assert lens["final"] == [[pieces[i], pytest.approx(probs[t, i], abs=ATOL)] for i in best]
        assert lens["stages"][-1]["rank"] == 1


@pytest.mark.built
def test_every_stage_is_the_final_read_out_of_a_residual_computed_by_hand(book):
    for prompt in (PROMPT, "To be, or not to be", LONG):
        view = lens_view(prompt)
        ids = np.array(view["ids"])
        stages = manual_residuals(book, ids)
        probs = np.stack([read_out(book, x) for x in stages])
        norms = np.stack([np.linalg.norm(x.astype(np.float64), axis=-1) for x in stages])
        assert_lens_matches(view, probs, norms, gpt_lens.token_pieces())


@pytest.mark.built
def test_the_stream_is_the_models_forward_pass(book):
    ids = book.tokenizer.encode(PROMPT)
    stream = residual_stream(book.model, ids)
    assert stream.shape == (book.settings.n_layer + 1, len(ids), book.settings.n_embd)
    for mine, theirs in zip(stream, manual_residuals(book, ids), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=ATOL)


@pytest.mark.built
def test_attention_is_the_chosen_heads_causal_weights(book):
    view = lens_view(PROMPT, layer=2, head=3)
    ids = np.array(view["ids"])
    book.model.forward(ids[None])
    weights = book.model.h[2].attn.weights[0, 3]
    attention = np.array(view["attention"])
    T = len(ids)
    assert attention.shape == (T, T)
    np.testing.assert_allclose(attention, weights, rtol=0, atol=ATOL)
    np.testing.assert_allclose(attention.sum(axis=1), 1, atol=ATOL)
    assert (attention[np.triu_indices(T, 1)] == 0).all()  # no looking ahead
    assert (attention[np.tril_indices(T)] > 0).all()
    # what the widget asks for another block or head: the same map alone
    assert attention_map(PROMPT, layer=2, head=3) == {"layer": 2, "head": 3,
                                                      "attention": view["attention"]}
    with pytest.raises(ValueError, match="head must be 0 to 3"):
        attention_map(PROMPT, layer=0, head=4)


@pytest.mark.built
def test_looks_names_each_heads_heaviest_earlier_token(book):
    view = lens_view(PROMPT)
    ids = np.array(view["ids"])
    book.model.forward(ids[None])
    T, L, H = len(ids), book.settings.n_layer, book.settings.n_head
    assert np.array(view["looks"]).shape == (T, L, H, 2)
    for layer in range(L):
        weights = book.model.h[layer].attn.weights[0]  # (H, T, T)
        for t in range(T):
            for head in range(H):
                key, w = view["looks"][t][layer][head]
                assert key <= t
                assert w == pytest.approx(weights[head, t].max(), abs=ATOL)
                assert weights[head, t, key] == pytest.approx(weights[head, t].max(), abs=ATOL)


@pytest.mark.built
def test_tokens_show_their_whitespace_and_long_prompts_are_cropped(book):
    view = lens_view(PROMPT)
    assert "".join(view["tokens"]) == PROMPT.replace(" ", "␣").replace("\n", "↵")
    assert view["ids"] == book.tokenizer.encode(PROMPT).tolist()
    assert view["dropped"] == 0 and view["position"] == len(view["ids"]) - 1
    ids = book.tokenizer.encode(LONG)
    assert len(ids) > book.settings.block_size
    long = lens_view(LONG, position=3)
    assert long["dropped"] == len(ids) - book.settings.block_size
    assert long["ids"] == ids[-book.settings.block_size:].tolist()
    assert len(long["tokens"]) == len(long["lens"]) == book.settings.block_size
    assert long["position"] == 3
    assert visible("a b\tc\nd\r") == "a␣b⇥c↵d␍"


@pytest.mark.built
def test_prompts_short_and_long_are_encoded_as_the_tokenizer_does(book):
    for text in (PROMPT, LONG, "é—!\n\n", LONG * 4, "a" * 600):
        assert gpt_lens.encode(book.tokenizer, text).tolist() == \
            book.tokenizer.encode(text).tolist(), text[:20]


@pytest.mark.built
def test_the_answer_is_json_without_nan_or_infinity(book):
    for prompt in (PROMPT, LONG, "é—!", "\n\n\n"):
        view = lens_view(prompt, layer=3, head=3, top=20)
        text = json.dumps(view, allow_nan=False)  # raises on NaN or infinity
        assert json.loads(text) == view
        for lens in view["lens"]:
            assert len(lens["final"]) == 20
            assert all(math.isfinite(s["norm"]) and s["rank"] >= 1 for s in lens["stages"])


@pytest.mark.built
def test_what_it_cannot_do_says_why(book):
    with pytest.raises(ValueError, match="at least one character"):
        lens_view("")
    with pytest.raises(ValueError, match="position must be 0 to 13"):
        lens_view(PROMPT, position=14)
    with pytest.raises(ValueError, match="layer must be 0 to 3"):
        lens_view(PROMPT, layer=4)
    with pytest.raises(ValueError, match="head must be 0 to 3"):
        lens_view(PROMPT, head=-1)
    with pytest.raises(ValueError, match="top must be 1 to 20"):
        lens_view(PROMPT, top=0)


def assert_close(mine, theirs, path="view"):
    """Two answers equal, their floats within ATOL."""
    if isinstance(theirs, float):
        assert mine == pytest.approx(theirs, abs=ATOL), path
    elif isinstance(theirs, dict):
        assert mine.keys() == theirs.keys(), path
        for key in theirs:
            assert_close(mine[key], theirs[key], f"{path}[{key!r}]")
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs), path
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert_close(a, b, f"{path}[{i}]")
    else:
        assert mine == theirs, path


@pytest.mark.built
def test_a_prompt_typed_on_reads_only_its_new_tokens(book, monkeypatch):
    read = []
    stream = gpt_lens.residual_stream
    monkeypatch.setattr(gpt_lens, "residual_stream", lambda model, ids, cache=None:
                        read.append(len(ids)) or stream(model, ids, cache))
    gpt_lens._readings.clear()
    lens_view(PROMPT)
    typed = [PROMPT + " through", PROMPT + " through yonder", PROMPT + " through yonder window"]
    views = [lens_view(prompt, layer=1, head=2) for prompt in typed]
    ids = [book.tokenizer.encode(prompt) for prompt in [PROMPT, *typed]]
    assert read == [len(ids[0])] + [len(b) - gpt_lens.shared_prefix(a, b)
                                    for a, b in zip(ids, ids[1:], strict=False)]
    assert all(n < len(whole) / 3 for n, whole in zip(read[1:], ids[1:], strict=True))
    for prompt, view in zip(typed, views, strict=True):  # the same as read from nothing
        gpt_lens._readings.clear()
        assert_close(view, lens_view(prompt, layer=1, head=2))
    # Deleting back to a shorter prompt reads its last token again (it ends the kept keys and
    # values); asking for it again reads nothing.
    before = len(read)
    shorter = lens_view(typed[0])
    assert lens_view(typed[0], layer=3)["lens"] == shorter["lens"] and read[before:] == [1]


def test_top_tokens_orders_the_likeliest_first():
    rng = np.random.default_rng(0)
    probs = softmax(rng.standard_normal((3, 7, 50)))
    best = top_tokens(probs, 6)
    np.testing.assert_array_equal(best, np.argsort(-probs, axis=-1)[..., :6])
    np.testing.assert_allclose(probs.sum(axis=-1), 1)


@pytest.mark.reference
@pytest.mark.built
def test_pytorch_reads_the_same_lens(book):
    import torch

    view = lens_view(LONG)
    ids = np.array(view["ids"])
    stream = torch.tensor(residual_stream(book.model, ids))  # (S, T, C)
    model = book.model
    normed = torch.nn.functional.layer_norm(
        stream, (stream.shape[-1],), torch.tensor(model.ln_f.params["weight"]),
        torch.tensor(model.ln_f.params["bias"]), eps=1e-5)
    logits = normed @ torch.tensor(model.wte.params["weight"]).T
    probs = torch.softmax(logits.double(), dim=-1).numpy()
    norms = torch.linalg.vector_norm(stream.double(), dim=-1).numpy()
    assert_lens_matches(view, probs, norms, gpt_lens.token_pieces())
