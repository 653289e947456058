import numpy as np
import pytest
from lmlab import gpt, nn
from lmlab.gpt import GPT, GPT2_SMALL, GPTConfig
from lmlab.inference_cost import cache_speedup, generation_cost, generation_steps

SMALL = GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=8)


def counted_generate(monkeypatch, model, prompt, new_tokens, use_cache):
    """Multiply-adds of a real generate, counted from the shapes of the arrays it multiplies."""
    count = [0]
    original_matmul, original_attention = nn.matmul, nn.scaled_dot_product_attention

    def matmul(a, b):
        (m, k), (k2, n) = a.shape, b.shape
        assert k == k2
        count[0] += m * k * n
        return original_matmul(a, b)

    def attention(q, k, v, **kwargs):
        *lead, n_queries, d_k = q.shape
        n_keys, d_v = v.shape[-2:]
        count[0] += int(np.prod(lead)) * n_queries * n_keys * (d_k + d_v)
        return original_attention(q, k, v, **kwargs)

    monkeypatch.setattr(nn, "matmul", matmul)
    monkeypatch.setattr(gpt, "matmul", matmul)
    monkeypatch.setattr(nn, "scaled_dot_product_attention", attention)
    out = model.generate(prompt, new_tokens, temperature=0, use_cache=use_cache)
    return count[0], out


@pytest.mark.parametrize("prompt_len", [1, 3, 8, 11])
@pytest.mark.parametrize("new_tokens", [0, 1, 4, 9])
@pytest.mark.parametrize("use_cache", [False, True])
def test_formula_equals_the_products_generate_performs(
    monkeypatch, prompt_len, new_tokens, use_cache
):
    model = GPT(SMALL, rng=0, dtype=np.float64)
    prompt = np.arange(prompt_len) % SMALL.vocab_size
    counted, _ = counted_generate(monkeypatch, model, prompt, new_tokens, use_cache)
    assert counted == generation_cost(SMALL, prompt_len, new_tokens, use_cache)


def test_both_modes_generate_the_same_tokens_but_the_cache_does_less(monkeypatch):
    model = GPT(SMALL, rng=1, dtype=np.float64)
    prompt = np.array([3, 1, 4])
    without, a = counted_generate(monkeypatch, model, prompt, 5, use_cache=False)
    with_cache, b = counted_generate(monkeypatch, model, prompt, 5, use_cache=True)
    assert np.array_equal(a, b)
    assert with_cache < without


def test_steps_feed_the_prompt_then_one_token_at_a_time():
    assert generation_steps(SMALL, 3, 4, use_cache=True) == [(3, 3), (1, 4), (1, 5), (1, 6)]
    assert generation_steps(SMALL, 3, 4, use_cache=False) == [(3, 3), (4, 4), (5, 5), (6, 6)]
    # Past block_size (8) the window slides and the cache is refilled from the last 8 tokens.
    assert generation_steps(SMALL, 7, 4, use_cache=True) == [(7, 7), (1, 8), (8, 8), (8, 8)]
    with pytest.raises(ValueError):
        generation_steps(SMALL, 0, 4, use_cache=True)


def test_gpt2_small_speedup_lies_between_its_two_parts():
    # From a one-token prompt, step t costs t times a token's fixed work (projections, MLP,
    # logits) plus attention over t keys for each of t queries, versus one token's fixed work
    # plus attention over t keys with the cache. The fixed part alone would give a speedup of
    # sum(t) / n = (n + 1) / 2, the attention part alone sum(t^2) / sum(t) = (2n + 1) / 3.
    for n in (2, 100, 1000):
        assert (n + 1) / 2 < cache_speedup(GPT2_SMALL, n) < (2 * n + 1) / 3
    assert cache_speedup(GPT2_SMALL, 1) == 1


def test_projecting_only_the_last_position_saves_the_other_rows_logits():
    C, V = GPT2_SMALL.n_embd, GPT2_SMALL.vocab_size
    for use_cache in (False, True):
        steps = generation_steps(GPT2_SMALL, 5, 20, use_cache)
        saved = generation_cost(GPT2_SMALL, 5, 20, use_cache) - generation_cost(
            GPT2_SMALL, 5, 20, use_cache, last_logits_only=True
        )
        assert saved == sum(n_new - 1 for n_new, _ in steps) * C * V
    # Without the cache every step then still projects one row, as with it: the same work in
    # both modes, so the speedup is smaller.
    for n in (100, 1000):
        last_only = cache_speedup(GPT2_SMALL, n, last_logits_only=True)
        assert 1 < last_only < cache_speedup(GPT2_SMALL, n)
