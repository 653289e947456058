import itertools
import math

import numpy as np
import pytest
import reference_gpt
from lmlab.gpt import (
    GPT,
    GPT2_SMALL,
    GPTConfig,
    KVCache,
    get_batch,
    hf_state_dict,
    load_hf_state_dict,
    parameter_counts,
    train,
)
from lmlab.losses import cross_entropy
from lmlab.nn import numerical_gradient
from lmlab.optim import AdamW

TINY = GPTConfig(vocab_size=7, block_size=5, n_layer=2, n_head=2, n_embd=8)


def tiny_gpt(seed=0, config=TINY):
    """A float64 GPT whose every parameter is random, so no gradient is zero by symmetry."""
    rng = np.random.default_rng(seed)
    model = GPT(config, rng=rng, dtype=np.float64)
    for _, param, _ in model.named_parameters():
        param[...] = rng.standard_normal(param.shape) * 0.3
    return model


def test_gpt2_small_has_124_439_808_parameters():
    counts = parameter_counts(GPT2_SMALL)
    assert counts["total"] == 124_439_808
    assert counts["token_embedding"] == 50257 * 768 == 38_597_376
    shares = {part: counts[part] / counts["total"] for part in counts}
    assert round(shares["token_embedding"] + shares["position_embedding"], 2) == 0.32
    assert round(shares["attention"], 2) == 0.23
    assert round(shares["mlp"], 2) == 0.46
    untied = parameter_counts(GPT2_SMALL, tie_weights=False)["total"]
    assert untied - counts["total"] == 38_597_376  # what tying saves


def test_allocated_model_has_the_counted_parameters():
    config = GPTConfig(vocab_size=11, block_size=6, n_layer=3, n_head=2, n_embd=12)
    model = GPT(config, rng=0)
    sizes = sum(param.size for _, param, _ in model.named_parameters())
    assert model.num_parameters() == sizes == parameter_counts(config)["total"]
    names = [name for name, _, _ in model.named_parameters()]
    assert names[:2] == ["wte.weight", "wpe.weight"]
    assert "h.2.attn.c_attn.weight" in names and "ln_f.bias" in names
    assert not any("lm_head" in name for name in names)  # tied: there is no second matrix


def test_config_is_validated():
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=3, n_embd=8)
    with pytest.raises(ValueError, match="n_layer"):
        GPTConfig(vocab_size=5, block_size=4, n_layer=0, n_head=2, n_embd=8)


def test_gpt2_initialisation():
    config = GPTConfig(vocab_size=500, block_size=64, n_layer=8, n_head=4, n_embd=128)
    params = {name: p for name, p, _ in GPT(config, rng=0).named_parameters()}
    for name in ("wte.weight", "wpe.weight", "h.0.attn.c_attn.weight", "h.7.mlp.c_fc.weight"):
        assert params[name].std() == pytest.approx(0.02, rel=0.03), name
    for name in ("h.0.attn.c_proj.weight", "h.3.mlp.c_proj.weight"):
        assert params[name].std() == pytest.approx(0.02 / math.sqrt(16), rel=0.03), name
    assert all(not p.any() for name, p in params.items() if name.endswith("bias"))
    assert all((p == 1).all() for name, p in params.items() if "ln" in name and "weight" in name)
    assert params["wte.weight"].dtype == np.float32


def test_initial_loss_is_near_a_uniform_guess():
    config = GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=64)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 65, size=(8, 16))
    logits, loss = GPT(config, rng=0)(x, np.roll(x, -1, axis=1))
    assert logits.shape == (8, 16, 65) and logits.dtype == np.float32
    assert abs(loss - math.log(65)) < 0.05


def test_gradients_match_finite_differences():
    model = tiny_gpt(seed=2)
    rng = np.random.default_rng(3)
    x = rng.integers(0, 7, size=(2, 5))
    y = rng.integers(0, 7, size=(2, 5))
    model.zero_grad()
    model(x, y)
    model.backward()
    for name, param, grad in model.named_parameters():
        numeric = numerical_gradient(lambda: model(x, y)[1], param)
        # atol: the rounding floor of central differences (loss * 1e-16 / 1e-6).
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_loss_mask_reaches_the_loss():
    model = tiny_gpt(seed=4)
    x = np.array([[1, 2, 3, 4, 5]])
    mask = np.array([[0, 0, 1, 1, 1]])
    logits, masked = model.forward(x, x, loss_mask=mask)
    model.zero_grad()
    model.backward()
    assert not model.dlogits[0, :2].any()
    assert masked == pytest.approx(cross_entropy(logits[0, 2:], x[0, 2:])[0], rel=1e-12)


def test_earlier_logits_ignore_later_tokens():
    model = tiny_gpt(seed=5)
    a = np.array([[1, 2, 3, 4, 5]])
    b = np.array([[1, 2, 3, 0, 6]])
    np.testing.assert_array_equal(model(a)[0][:, :3], model(b)[0][:, :3])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_cached_logits_equal_the_full_forward_at_every_step(dtype, rtol):
    config = GPTConfig(vocab_size=13, block_size=12, n_layer=2, n_head=2, n_embd=16)
    model = GPT(config, rng=6, dtype=dtype)
    seq = np.random.default_rng(7).integers(0, 13, size=(3, 12))
    cache = KVCache(config.n_layer)
    prompt = 4
    cached = [model.forward(seq[:, :prompt], cache=cache)[0]]
    for t in range(prompt, 12):
        cached.append(model.forward(seq[:, t : t + 1], cache=cache)[0])
        full, _ = model(seq[:, : t + 1])
        np.testing.assert_allclose(cached[-1][:, 0], full[:, t], rtol=rtol, atol=rtol * 1e-2)
    assert len(cache) == 12
    np.testing.assert_allclose(np.concatenate(cached, axis=1), model(seq)[0], rtol=rtol, atol=rtol)
    with pytest.raises(ValueError, match="block size"):
        model.forward(seq[:, :1], cache=cache)


@pytest.mark.parametrize("sampling", [
    {"temperature": 0},
    {"temperature": 1.3, "seed": 8},
    {"temperature": 0.8, "top_k": 3, "seed": 9},
    {"temperature": 1.0, "top_p": 0.9, "seed": 10},
])
def test_generation_with_and_without_cache_agree(sampling):
    # 20 new tokens with block_size 5: the context slides and the cache is rebuilt.
    model = tiny_gpt(seed=11)
    prompt = np.array([[1, 2], [3, 4]])
    cached = model.generate(prompt, 20, use_cache=True, **sampling)
    uncached = model.generate(prompt, 20, use_cache=False, **sampling)
    assert cached.shape == (2, 22)
    np.testing.assert_array_equal(cached[:, :2], prompt)
    np.testing.assert_array_equal(cached, uncached)


def test_generation_details():
    model = tiny_gpt(seed=12)
    first = model.generate([3], 6, seed=0)
    assert first.shape == (7,) and first[0] == 3
    np.testing.assert_array_equal(first, model.generate([3], 6, seed=0))
    np.testing.assert_array_equal(
        model.generate([3, 1], 6, top_k=1, seed=1), model.generate([3, 1], 6, temperature=0)
    )
    np.testing.assert_array_equal(model.generate([3, 1], 0), [3, 1])
    long_prompt = np.arange(9) % 7  # longer than block_size: only the last 5 tokens are seen
    assert model.generate(long_prompt, 2, temperature=0).shape == (11,)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate([3], -1)
    with pytest.raises(ValueError, match="prompt"):
        model.generate(np.zeros((1, 0), dtype=np.int64), 2)


@pytest.mark.parametrize("sampling", [
    {"temperature": 0},
    {"temperature": 1.2, "seed": 5},
    {"temperature": 0.9, "top_p": 0.8, "seed": 6},
])
def test_stream_taken_a_few_at_a_time_gives_generate_tokens(sampling):
    # 12 new tokens after 3 with block_size 5: the context slides and the cache is rebuilt.
    model = tiny_gpt(seed=15)
    prompt = np.array([[1, 2, 3], [4, 0, 6]])
    whole = model.generate(prompt, 12, **sampling)
    stream = model.stream(prompt, 12, **sampling)
    taken = []
    for size in [1, 3, 0, 2, 5, 4]:
        taken += itertools.islice(stream, size)
        model.generate([5, 5], 3, seed=1)  # other work on the model between takes
    assert len(taken) == 12 and all(ids.shape == (2,) for ids in taken)
    np.testing.assert_array_equal(np.column_stack([prompt, *taken]), whole)


def test_stream_reads_the_prompt_once_and_checks_its_arguments_at_once():
    model = tiny_gpt(seed=16)
    read, forward = [], model.forward

    def recorded(idx, *args, **kwargs):
        read.append(idx.shape)
        return forward(idx, *args, **kwargs)

    model.forward = recorded
    stream = model.stream(np.array([[1, 2, 3]]), 2, temperature=0)
    next(stream)
    model.generate([4], 1, temperature=0)
    next(stream)
    assert read == [(1, 3), (1, 1), (1, 1)]
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.stream(np.array([[1]]), -1)
    with pytest.raises(ValueError, match="prompt"):
        model.stream(np.array([1, 2]), 2)


def test_hf_state_dict_round_trip():
    source, target = tiny_gpt(seed=13), tiny_gpt(seed=14)
    x = np.array([[0, 6, 2, 2, 5]])
    state = hf_state_dict(source)
    assert state["transformer.h.1.attn.c_attn.weight"].shape == (8, 24)  # Conv1D (in, out)
    state["transformer.h.0.attn.bias"] = np.tril(np.ones((1, 1, 5, 5)))  # a mask buffer
    load_hf_state_dict(target, state)
    np.testing.assert_array_equal(target(x)[0], source(x)[0])


def test_loading_refuses_a_mismatched_state_dict():
    model = tiny_gpt()
    good = hf_state_dict(model)
    missing = {k: v for k, v in good.items() if k != "transformer.ln_f.bias"}
    with pytest.raises(ValueError, match="lacks"):
        load_hf_state_dict(model, missing)
    with pytest.raises(ValueError, match="no parameters named"):
        load_hf_state_dict(model, {**good, "transformer.h.5.ln_1.weight": np.ones(8)})
    with pytest.raises(ValueError, match="shape"):
        load_hf_state_dict(model, {**good, "transformer.wpe.weight": np.ones((6, 8))})
    with pytest.raises(ValueError, match="ties"):
        load_hf_state_dict(model, {**good, "lm_head.weight": good["lm_head.weight"] + 1})


def test_get_batch_targets_are_inputs_shifted_by_one():
    data = np.arange(100)
    x, y = get_batch(data, block_size=8, batch_size=4, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (4, 8)
    np.testing.assert_array_equal(y, x + 1)
    assert y.max() < 100
    with pytest.raises(ValueError, match="longer than block_size"):
        get_batch(np.arange(8), block_size=8, batch_size=1, rng=np.random.default_rng(0))


def test_training_memorises_a_repeating_text():
    text = "the cat sat on the mat. " * 20
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text])
    config = GPTConfig(vocab_size=len(chars), block_size=8, n_layer=1, n_head=2, n_embd=16)

    def run():
        model = GPT(config, rng=0)
        optimizer = AdamW(model, lr=1e-2)
        rng = np.random.default_rng(0)
        trace = train(model, data, 60, optimizer, batch_size=8, rng=rng)
        trace += train(model, data, 60, optimizer, batch_size=8, rng=rng)  # continued in chunks
        return model, trace

    model, trace = run()
    assert trace[0]["loss"] == pytest.approx(math.log(len(chars)), abs=0.1)
    assert np.mean([row["loss"] for row in trace[-10:]]) < 0.6
    assert run()[1] == trace
    assert all(grad.dtype == np.float32 for _, _, grad in model.named_parameters())


def test_misuse_is_reported():
    model = tiny_gpt()
    with pytest.raises(ValueError, match="block size"):
        model(np.zeros((1, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(np.zeros(3, dtype=np.int64))
    model(np.zeros((1, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="no targets"):
        model.backward()


def torch_gpt(config):
    """nanoGPT's model in PyTorch (reference_gpt), float64, every parameter nudged from its
    initial value: the reference our numpy GPT must match."""
    import torch

    torch.manual_seed(0)
    model = reference_gpt.torch_gpt(config).double()
    with torch.no_grad():
        for param in model.parameters():  # LayerNorm starts at 1 and 0; make it matter
            param.add_(0.1 * torch.randn_like(param))
    return model


def is_conv1d(name):
    """The 2-D weights that Hugging Face's GPT-2 stores as Conv1D (in, out)."""
    return name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight"))


@pytest.mark.reference
def test_forward_and_backward_match_a_torch_gpt():
    import torch

    config = GPTConfig(vocab_size=23, block_size=10, n_layer=3, n_head=4, n_embd=16)
    reference = torch_gpt(config)
    # Hugging Face layout: torch.nn.Linear weights (out, in) become Conv1D weights (in, out).
    state = {
        name: (t.T if is_conv1d(name) else t).detach().numpy()
        for name, t in reference.state_dict().items()
    }
    model = GPT(config, rng=1, dtype=np.float64)
    load_hf_state_dict(model, state)

    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 23, size=(3, 10)), rng.integers(0, 23, size=(3, 10))
    model.zero_grad()
    logits, loss = model(x, y)
    model.backward()
    logits_t, loss_t = reference(torch.tensor(x), torch.tensor(y))
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-11, atol=1e-13)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    torch_params = dict(reference.named_parameters())
    assert len(torch_params) == len(list(model.named_parameters()))  # lm_head is wte in both
    for name, _, grad in model.named_parameters():
        expected = torch_params[f"transformer.{name}"].grad
        expected = (expected.T if is_conv1d(name) else expected).numpy()
        np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12, err_msg=name)
