"""lmlab.model_size against independent counts: the arrays of models that lmlab and PyTorch
actually build, the products lmlab's forward pass actually computes, and PyTorch's FLOP counter."""

import json
import math

import numpy as np
import pytest
from lmlab import gpt, nn
from lmlab.book_model import BOOK_MODEL
from lmlab.gpt import GPT, GPTConfig, KVCache
from lmlab.model_size import (
    A100_BF16_FLOPS,
    A100_BYTES_PER_SECOND,
    PRESETS,
    block_parameters,
    forward_flops,
    human,
    kv_cache_bytes,
    matmul_intensity,
    matmul_weights,
    part_counts,
    percent,
    ridge_point,
    roofline_share,
    size_view,
    training_bytes,
    training_flops,
    weight_bytes,
)
from lmlab.optim import AdamW, train_step
from reference_gpt import torch_gpt

SMALL = [
    GPTConfig(vocab_size=11, block_size=6, n_layer=3, n_head=2, n_embd=12),
    GPTConfig(vocab_size=5, block_size=9, n_layer=1, n_head=4, n_embd=8),
    BOOK_MODEL.config(),
]


def part_of(name: str) -> str:
    """The widget's part that an lmlab (or Hugging Face / nanoGPT) parameter name belongs to."""
    if name.startswith(("wte.", "wpe.", "transformer.wte.", "transformer.wpe.")):
        return "embeddings"
    if name.startswith("lm_head."):
        return "head"
    kind = name.split(".")[-2]  # h.0.attn.c_attn.weight -> c_attn, h.0.ln_1.bias -> ln_1
    if kind.startswith("ln"):
        return "norms"
    return "attention" if ".attn." in name else "mlp"


def counted_by_name(named_sizes) -> dict[str, int]:
    parts = dict.fromkeys(["embeddings", "attention", "mlp", "norms", "head"], 0)
    for name, size in named_sizes:
        parts[part_of(name)] += size
    return parts


@pytest.mark.parametrize("config", SMALL)
def test_parts_are_the_arrays_of_a_built_gpt(config):
    model = GPT(config, rng=0)
    named = [(name, param.size) for name, param, _ in model.named_parameters()]
    assert counted_by_name(named) == part_counts(config, tie_weights=True)
    assert sum(part_counts(config).values()) == model.num_parameters()
    # one block: everything under h.0.
    assert block_parameters(config) == sum(size for name, size in named if name.startswith("h.0."))
    assert block_parameters(config) == 12 * config.n_embd**2 + 13 * config.n_embd


def test_gpt2_small_and_gpt3():
    view = size_view("gpt2")
    assert view["total"] == 124_439_808 and view["total_text"] == "124.4 M"
    assert {p["name"]: p["share_text"] for p in view["parts"]} == {
        "embeddings": "31.6%", "attention": "22.8%", "mlp": "45.5%", "norms": "0.03%", "head": "0%"}
    assert size_view("gpt2", tie_weights=False)["total"] - view["total"] == 38_597_376
    assert size_view("gpt3")["total_text"] == "174.6 B"
    assert size_view("book")["total"] == GPT(BOOK_MODEL.config(), rng=0).num_parameters()


def torch_parts(model) -> dict[str, int]:
    # named_parameters() lists a shared (tied) tensor once, under its first name (wte.weight)
    return counted_by_name((name, p.numel()) for name, p in model.named_parameters())


@pytest.mark.reference
@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("tie", [True, False])
def test_parts_equal_a_torch_gpt_of_each_preset(preset, tie):
    import torch

    config = PRESETS[preset][1]
    with torch.device("meta"):  # shapes only: GPT-3 needs no memory
        model = torch_gpt(config, tie)
    assert torch_parts(model) == part_counts(config, tie)
    view = size_view(preset, tie_weights=tie)
    assert view["total"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("config", SMALL[:2])
def test_weight_bytes_are_the_bytes_of_the_arrays(config):
    n = part_counts(config)
    total = sum(n.values())
    nbytes = {dtype: sum(p.nbytes for _, p, _ in GPT(config, rng=0, dtype=dtype).named_parameters())
              for dtype in (np.float32, np.float16)}
    assert nbytes[np.float32] == weight_bytes(total, "float32")
    assert nbytes[np.float16] == weight_bytes(total, "bfloat16")  # both 16-bit formats: 2 bytes
    model = GPT(config, rng=0)
    assert sum(p.astype(np.int8).nbytes for _, p, _ in model.named_parameters()) == \
        weight_bytes(total, "int8")


def test_adamw_keeps_two_moments_per_parameter():
    """lmlab trains in float32: weights, gradients and AdamW's m and v, 4 bytes each: the 4 + 4
    of the mixed-precision convention's moments, and 16 bytes per parameter in all."""
    config = SMALL[0]
    model = GPT(config, rng=0)
    optimizer = AdamW(model)
    x = np.zeros((2, config.block_size), dtype=np.int64)
    train_step(model, optimizer, x, x)
    n = model.num_parameters()
    moments = sum(a.nbytes for a in optimizer.m + optimizer.v)
    mixed = training_bytes(n)
    assert moments == mixed["AdamW first moment (float32)"] + mixed["AdamW second moment (float32)"]
    weights_and_grads = sum(p.nbytes + g.nbytes for _, p, g in model.named_parameters())
    assert weights_and_grads + moments == sum(mixed.values()) == 16 * n


@pytest.mark.reference
def test_mixed_precision_training_in_torch_holds_16_bytes_per_parameter():
    """The convention measured: a bfloat16 model with its gradients, the float32 master copy
    that torch's AdamW updates, and AdamW's state after one step."""
    import torch

    config = SMALL[0]
    torch.manual_seed(0)
    master = torch_gpt(config, tie_weights=True)
    model = torch_gpt(config, tie_weights=True).to(torch.bfloat16)
    model.load_state_dict({k: v.to(torch.bfloat16) for k, v in master.state_dict().items()})
    optimizer = torch.optim.AdamW(master.parameters())
    idx = torch.zeros(2, config.block_size, dtype=torch.long)
    model(idx)[0].float().logsumexp(-1).mean().backward()
    for low, high in zip(model.parameters(), master.parameters(), strict=True):
        high.grad = low.grad.float()
    optimizer.step()

    def size(tensors):
        return sum(t.numel() * t.element_size() for t in tensors)

    measured = {
        "bfloat16 weights": size(model.parameters()),
        "bfloat16 gradients": size(p.grad for p in model.parameters()),
        "float32 master weights": size(master.parameters()),
        "AdamW first moment (float32)": size(s["exp_avg"] for s in optimizer.state.values()),
        "AdamW second moment (float32)": size(s["exp_avg_sq"] for s in optimizer.state.values()),
    }
    assert measured == training_bytes(sum(part_counts(config).values()))


@pytest.mark.parametrize("dtype, name", [(np.float32, "float32"), (np.float16, "bfloat16")])
def test_kv_cache_bytes_are_the_caches_arrays(dtype, name):
    config = SMALL[0]
    model = GPT(config, rng=0, dtype=dtype)
    batch, tokens = 3, config.block_size - 1
    cache = KVCache(config.n_layer)
    ids = np.zeros((batch, 1), dtype=np.int64)
    for _ in range(tokens):
        model.forward(ids, cache=cache)
    cached = sum(layer["k"].nbytes + layer["v"].nbytes for layer in cache.layers)
    assert cached == kv_cache_bytes(config, tokens=tokens, batch=batch, dtype=name)
    assert kv_cache_bytes(config) == 2 * config.n_layer * config.n_embd * 2


class CountedProducts:
    """Wraps lmlab's matrix product and attention (where the GPT's layers look them up) and adds
    up the FLOPs of what they are given: 2 m k n per product, and 2 x 2 q k d per head for the
    scores and the mix of attention (q queries, k keys, d numbers per head)."""

    def __init__(self, monkeypatch):
        self.matmul = 0
        self.attention = 0
        matmul, attention = nn.matmul, nn.scaled_dot_product_attention

        def counted_matmul(a, b):
            self.matmul += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            return matmul(a, b)

        def counted_attention(q, k, v, **kwargs):
            heads = math.prod(q.shape[:-2])
            self.attention += 2 * 2 * heads * q.shape[-2] * k.shape[-2] * q.shape[-1]
            return attention(q, k, v, **kwargs)

        for module in (nn, gpt):
            monkeypatch.setattr(module, "matmul", counted_matmul)
        monkeypatch.setattr(nn, "scaled_dot_product_attention", counted_attention)


@pytest.mark.parametrize("config", SMALL)
def test_forward_flops_are_the_products_lmlab_computes(config, monkeypatch):
    model = GPT(config, rng=0)
    counted = CountedProducts(monkeypatch)
    batch, T = 2, config.block_size
    model(np.zeros((batch, T), dtype=np.int64))
    tokens = batch * T
    flops = forward_flops(config)
    # the full T x T scores of a training forward: every token costs the full context
    assert counted.matmul == tokens * flops["matmul"] == tokens * 2 * matmul_weights(config)
    assert counted.attention == tokens * flops["attention"]


def test_a_generated_token_costs_its_own_context(monkeypatch):
    config = SMALL[0]
    model = GPT(config, rng=0)
    cache = KVCache(config.n_layer)
    counted = CountedProducts(monkeypatch)
    for t in range(1, config.block_size + 1):
        before = counted.matmul + counted.attention
        model.forward(np.zeros((1, 1), dtype=np.int64), cache=cache)
        spent = counted.matmul + counted.attention - before
        assert spent == forward_flops(config, context=t)["total"]


@pytest.mark.reference
@pytest.mark.parametrize("config", SMALL[:2])
def test_training_flops_equal_torchs_flop_counter(config):
    """Forward and backward of a whole batch, counted by torch.utils.flop_counter: 3 forwards."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = torch_gpt(config, tie_weights=True)
    batch = 2
    idx = torch.zeros(batch, config.block_size, dtype=torch.long)
    with FlopCounterMode(display=False) as forward:
        logits, _ = model(idx)
    assert forward.get_total_flops() == batch * config.block_size * forward_flops(config)["total"]
    with FlopCounterMode(display=False) as both:
        model(idx)[0].logsumexp(-1).sum().backward()
    assert both.get_total_flops() == batch * config.block_size * training_flops(config)
    assert logits.shape[-1] == config.vocab_size


def test_matmul_intensity_counts_the_arrays_moved():
    rng = np.random.default_rng(0)
    for m, k, n in [(1, 96, 384), (512, 96, 384), (5, 3, 7)]:  # float16 products are slow
        a = rng.standard_normal((m, k)).astype(np.float16)  # 2 bytes a number, as bfloat16
        b = rng.standard_normal((k, n)).astype(np.float16)
        out = a @ b
        product = matmul_intensity(m, k, n)
        assert product["bytes"] == a.nbytes + b.nbytes + out.nbytes
        assert product["flops"] == 2 * m * k * n
        moved = a.nbytes + b.nbytes + out.nbytes
        assert product["intensity"] == pytest.approx(2 * m * k * n / moved)
    # one token through a matrix moves every weight for 2 FLOPs each: under 1 FLOP per byte
    assert matmul_intensity(1, 768, 3072)["intensity"] < 1
    assert matmul_intensity(1, 768, 3072, dtype="float32")["intensity"] < 0.5


def test_the_a100s_ridge_and_the_two_regimes():
    assert ridge_point() == A100_BF16_FLOPS / A100_BYTES_PER_SECOND == 156
    assert roofline_share(78, 156) == 0.5 and roofline_share(1000, 156) == 1
    for preset in PRESETS:
        generation, training = size_view(preset)["intensity"]["cases"]
        assert generation["tokens"] == 1 and generation["bound"] == "memory"
        assert training["tokens"] == 8 * PRESETS[preset][1].block_size
    gpt2 = size_view("gpt2")["intensity"]
    assert [c["bound"] for c in gpt2["cases"]] == ["memory", "compute"]
    assert gpt2["cases"][0]["peak_share_text"] == "0.6%"
    assert [c["intensity_text"] for c in gpt2["cases"]] == ["0.998", "572"]
    assert size_view("gpt3")["intensity"]["cases"][1]["intensity_text"] == "6,140"
    # generating with GPT-3 reads its 349.2 GB of bfloat16 weights per token: 175 ms at 2 TB/s
    assert size_view("gpt3")["intensity"]["token_seconds_text"] == "174.6 ms"
    # the book's model is so narrow that even training is memory-bound
    assert size_view("book")["intensity"]["cases"][1]["bound"] == "memory"


def test_training_is_three_forwards_and_close_to_6n():
    for _, config in PRESETS.values():
        n = sum(part_counts(config).values())
        assert training_flops(config) == 3 * forward_flops(config)["total"]
        assert forward_flops(config)["matmul"] == 2 * matmul_weights(config)
        # 2N counts position embeddings, biases and norms that multiply nothing; the head is
        # counted once when tied, yet multiplies every token: within 10% of the products
        assert abs(2 * n - forward_flops(config)["matmul"]) < 0.1 * forward_flops(config)["matmul"]


def test_memory_rows():
    view = size_view("gpt2", batch=4)
    rows = {row["label"]: row for row in view["memory"]}
    assert rows["Weights in float32 (4 bytes each)"]["text"] == "497.8 MB"
    assert rows["Weights in bfloat16 (2 bytes each)"]["bytes"] == 2 * 124_439_808
    assert rows["Weights in int8 (1 byte each)"]["bytes"] == 124_439_808
    training = rows["Training with AdamW, mixed precision (16 bytes per parameter, "
                    "without activations)"]
    assert training["bytes"] == 16 * 124_439_808 and training["text"] == "1.991 GB"
    assert rows["KV cache, bfloat16, per token"]["bytes"] == 2 * 12 * 768 * 2
    assert rows["KV cache, a batch of 4 sequences of 1,024 tokens"]["bytes"] == 4 * 1024 * 36864


def test_overrides_validation_and_presets():
    view = size_view("gpt2", n_layer=24, n_embd=1024, n_head=16)
    assert view["matches"] == "gpt2-medium" and view["preset"] == "gpt2"
    assert size_view("gpt2", n_layer=13)["matches"] is None
    assert [p["name"] for p in view["presets"]] == list(PRESETS)
    for p in view["presets"]:  # each preset's shape, as the page fills its fields
        assert size_view(p["name"])["settings"] == {**p["settings"], "batch": 8}
    bad = size_view("gpt2", n_head=7)
    assert [p["field"] for p in bad["problems"]] == ["n_head"] and "total" not in bad
    assert "768 numbers do not split into 7 equal heads" in bad["problems"][0]["message"]
    odd = size_view("gpt2", n_layer=0, n_embd=2.5, vocab_size=float("nan"), block_size=10**8)
    fields = [p["field"] for p in odd["problems"]]
    assert fields == ["n_layer", "n_embd", "vocab_size", "block_size"]
    message = odd["problems"][0]["message"]
    assert message == "Layers must be a whole number from 1 to 1,000: 0 is not."
    json.dumps(size_view("gpt3", tie_weights=False), allow_nan=False)  # JSON-ready
    assert size_view("gpt2", n_layer=12.0)["settings"]["n_layer"] == 12
    with pytest.raises(ValueError, match="unknown preset"):
        size_view("gpt5")


def test_the_largest_settings_still_read_as_numbers():
    view = size_view("gpt2", n_layer=1000, n_embd=100_000, n_head=1000, vocab_size=1_000_000,
                     block_size=10_000_000, batch=100_000)
    shown = [row["text"] for row in view["memory"]] + list(view["flops"]["text"].values())
    assert not any("e+" in text for text in shown), shown
    assert view["memory"][-1]["text"] == "400 EB"  # 4 x 10^20 bytes of KV cache
    json.dumps(view, allow_nan=False)


def test_readable_units():
    assert human(124_439_808, "") == "124.4 M"
    assert human(174_604_259_328, "") == "174.6 B"
    assert human(999_960, "") == "1 M" and human(999_940, "") == "999.9 k"
    assert human(497_759_232, "B") == "497.8 MB"
    assert human(0.1746, "s") == "174.6 ms"
    assert human(0, "B") == "0 B"
    assert percent(0.0003) == "0.03%" and percent(0.3158) == "31.6%" and percent(0) == "0%"
