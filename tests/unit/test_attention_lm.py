"""lmlab.attention_lm: the one-layer attention language model of chapter 7, its training, and
the functions behind the heads widget (what each head looks at, switching heads off)."""

import copy
import math

import numpy as np
import pytest
from lmlab import attention_lm
from lmlab.attention_lm import (
    PAD,
    AttentionLanguageModel,
    evaluate,
    head_ablation,
    heads_off_mask,
    heads_view,
    looked_at,
    train,
)
from lmlab.mlp_lm import char_vocabulary
from lmlab.nn import numerical_gradient
from lmlab.rnn_lm import build_sequences

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "ella"]
VOCAB = char_vocabulary(WORDS)
# A quick run of the widget's model for the tests that need a trained one but not the chapter's:
# the names and the split are the book's, only the step count is small.
QUICK = {"steps": 40}


def small_model(seed: int = 0, n_head: int = 2) -> tuple[AttentionLanguageModel, np.ndarray,
                                                          np.ndarray]:  # fmt: skip
    X, Y = build_sequences(WORDS, VOCAB)
    model = AttentionLanguageModel(len(VOCAB), X.shape[1], n_embd=8, n_head=n_head, rng=seed)
    # Larger attention weights than the 0.02 start, so that every head attends unevenly and
    # the softmax's gradient is exercised away from uniform.
    rng = np.random.default_rng(seed + 1)
    for layer in (model.attn.c_attn, model.attn.c_proj):
        layer.params["weight"][...] = rng.standard_normal(layer.params["weight"].shape) * 0.5
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape) * 0.1
    model.out.params["weight"][...] = rng.standard_normal(model.out.params["weight"].shape) * 0.3
    return model, X, Y


def test_shapes_parameters_and_loss_counts_only_real_characters():
    model, X, Y = small_model()
    logits, loss = model(X, Y)
    assert logits.shape == (*X.shape, len(VOCAB)) and logits.dtype == np.float64
    V, L, C = len(VOCAB), X.shape[1], 8
    assert model.num_parameters() == (V + L) * C + 4 * (C + 1) * C + (C + 1) * V
    # The mean over real characters (name + end mark) only, as chapter 6's models count them.
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    real = Y != PAD
    assert real.sum() == sum(len(w) + 1 for w in WORDS)
    manual = -np.take_along_axis(logp, np.where(real, Y, 0)[..., None], -1)[..., 0][real].mean()
    assert loss == pytest.approx(manual, rel=1e-12)


def test_padding_never_reaches_a_name():
    """A name's logits are the same alone and in a batch padded to a longer name: the padding
    comes after it and the causal mask keeps every position from looking forward."""
    model, _, _ = small_model()
    alone, _ = build_sequences(["mia"], VOCAB)
    padded, _ = build_sequences(["mia", "isabella"], VOCAB)
    np.testing.assert_allclose(model(alone)[0][0], model(padded)[0][0, : alone.shape[1]],
                               rtol=1e-12, atol=1e-12)  # fmt: skip


def test_causal_mask_no_weight_above_the_diagonal():
    model, X, _ = small_model()
    model(X)
    weights = model.attn.weights  # (B, H, T, T)
    T = X.shape[1]
    above = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert (weights[..., above] == 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    assert (weights[..., ~above] > 0).all()  # every earlier position gets some weight


def test_gradients_match_finite_differences():
    model, X, Y = small_model()
    for head_mask in (None, np.array([1.0, 0.0])):
        model.zero_grad()
        model(X[:4], Y[:4], head_mask=head_mask)
        model.backward()
        def loss(mask=head_mask):
            return model(X[:4], Y[:4], head_mask=mask)[1]

        for name, param, grad in model.named_parameters():
            numeric = numerical_gradient(loss, param)
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.reference
def test_forward_and_gradients_match_pytorch():
    import torch
    import torch.nn.functional as F

    model, X, Y = small_model(n_head=2)
    for head_mask in (None, [1.0, 0.0], [0.0, 1.0]):
        model.zero_grad()
        logits, loss = model(X, Y, head_mask=None if head_mask is None else np.array(head_mask))
        model.backward()
        p = {name: torch.tensor(value, requires_grad=True)
             for name, value, _ in model.named_parameters()}  # fmt: skip
        idx = torch.tensor(X)
        B, T = X.shape
        C, H = p["tok.weight"].shape[1], 2
        x = p["tok.weight"][idx] + p["pos.weight"][:T]
        q, k, v = (x @ p["attn.c_attn.weight"] + p["attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (a.view(B, T, H, C // H).transpose(1, 2) for a in (q, k, v))
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        if head_mask is not None:
            heads = heads * torch.tensor(head_mask, dtype=torch.float64)[:, None, None]
        merged = heads.transpose(1, 2).reshape(B, T, C)
        h = x + merged @ p["attn.c_proj.weight"] + p["attn.c_proj.bias"]
        logits_t = h @ p["out.weight"] + p["out.bias"]
        loss_t = F.cross_entropy(logits_t.reshape(B * T, -1), torch.tensor(Y).reshape(-1),
                                 ignore_index=PAD)  # fmt: skip
        loss_t.backward()
        np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert loss == pytest.approx(loss_t.item(), rel=1e-12)
        for name, _, grad in model.named_parameters():
            # Entries torch leaves at None get no gradient at all (a head switched off).
            expected = p[name].grad.numpy()
            np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12, err_msg=name)


def test_training_is_deterministic_and_lowers_the_loss():
    X, Y = build_sequences(WORDS, VOCAB)
    runs = []
    for _ in range(2):
        model = AttentionLanguageModel(len(VOCAB), X.shape[1], n_embd=8, n_head=2, rng=3)
        before = evaluate(model, X, Y)
        trace = train(model, X, Y, steps=60, batch_size=4, lr=1e-2, seed=5)
        runs.append((model, trace))
    (a, trace_a), (b, trace_b) = runs
    assert [t["loss"] for t in trace_a] == [t["loss"] for t in trace_b]
    for (name, pa, _), (_, pb, _) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert np.array_equal(pa, pb), name
    assert before == pytest.approx(math.log(len(VOCAB)), abs=0.05)  # near uniform at first
    assert evaluate(a, X, Y) < before - 0.5


def test_heads_off_mask():
    np.testing.assert_array_equal(heads_off_mask(4, [1, 3]), [1, 0, 1, 0])
    with pytest.raises(ValueError, match="heads 0 to 3"):
        heads_off_mask(4, [4])


def test_looked_at_counts_each_heads_strongest_key():
    T = 4
    weights = np.zeros((1, 2, T, T))
    for t in range(T):
        weights[0, 0, t, max(t - 1, 0)] = 1.0  # head 0: the previous character (pos 1: the '.')
        weights[0, 1, t, t] = 1.0  # head 1: itself
    found = looked_at(weights, np.array([[True, True, True, False]]))
    assert found["positions"] == 2  # positions 1 and 2 (0 can only look at itself; 3 is padding)
    np.testing.assert_allclose(found["start"], [0.5, 0.0])  # position 1's previous is the '.'
    np.testing.assert_allclose(found["offsets"][0], [0, 0.5, 0, 0])
    np.testing.assert_allclose(found["offsets"][1], [1.0, 0, 0, 0])


def test_heads_view_is_the_model_on_the_name():
    view = heads_view("Emma", off=[1], **QUICK)
    run = attention_lm.trained(**dict(attention_lm._settings(QUICK)))
    X, Y = build_sequences(["emma"], run.vocab)
    logits, loss = run.model(X, Y, head_mask=heads_off_mask(run.model.n_head, [1]))
    assert view["tokens"] == list(".emma") and view["targets"] == list("emma.")
    weights = np.asarray(view["weights"])
    H, T = run.model.n_head, 5
    assert weights.shape == (H, T, T)
    assert (weights[:, np.triu(np.ones((T, T), dtype=bool), k=1)] == 0).all()
    probs = np.asarray(view["probs"])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probs, np.exp(logits[0]) / np.exp(logits[0]).sum(-1, keepdims=True),
                               rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(view["nll"], -np.log(probs[np.arange(T), Y[0]]), rtol=1e-12)
    assert view["loss"] == pytest.approx(loss, rel=1e-12)
    assert view["held_out"] == pytest.approx(evaluate(
        run.model, *run.held_out, head_mask=heads_off_mask(H, [1])), rel=1e-12)
    assert view["held_out_all"] == pytest.approx(evaluate(run.model, *run.held_out), rel=1e-12)


def test_heads_view_rejects_what_it_cannot_read():
    with pytest.raises(ValueError, match="not in the vocabulary"):
        heads_view("zoë", **QUICK)
    with pytest.raises(ValueError, match="1 to 13 letters"):
        heads_view("a" * 14, **QUICK)
    with pytest.raises(ValueError, match="unknown settings"):
        heads_view("emma", width=3)


def test_ablation_equals_zeroing_that_heads_weights():
    """Switching a head off = a model whose output projection ignores that head's columns."""
    result = head_ablation(**QUICK)
    run = attention_lm.trained(**dict(attention_lm._settings(QUICK)))
    H = run.model.n_head
    D = run.model.attn.c_proj.params["weight"].shape[0] // H
    assert result["all"] == pytest.approx(evaluate(run.model, *run.held_out), rel=1e-12)
    for head in range(H):
        pruned = copy.deepcopy(run.model)
        pruned.attn.c_proj.params["weight"][head * D : (head + 1) * D] = 0.0
        assert result["without"][head] == pytest.approx(evaluate(pruned, *run.held_out), rel=1e-12)
        alone = copy.deepcopy(run.model)
        keep = np.zeros(H * D, dtype=bool)
        keep[head * D : (head + 1) * D] = True
        alone.attn.c_proj.params["weight"][~keep] = 0.0
        assert result["only"][head] == pytest.approx(evaluate(alone, *run.held_out), rel=1e-12)
    silent = copy.deepcopy(run.model)
    silent.attn.c_proj.params["weight"][...] = 0.0
    assert result["none"] == pytest.approx(evaluate(silent, *run.held_out), rel=1e-12)
    top = result["looked_at"]["top"]
    assert len(top) == H and all(0 < t["share"] <= 1 for t in top)


def test_the_widgets_model_is_built_once():
    """The chapter's settings: trained on first use (a few seconds, also in Pyodide), then kept."""
    first = attention_lm.trained()
    assert attention_lm.trained() is first
    view = heads_view("emma")
    assert len(view["weights"]) == attention_lm.SETTINGS["n_head"] == first.model.n_head
    assert view["held_out_all"] == pytest.approx(head_ablation()["all"], rel=1e-12)
    # It learned something: well below a uniform guess over the 27 characters.
    assert view["held_out_all"] < math.log(27) - 0.8
