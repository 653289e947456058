import tracemalloc

import numpy as np
import pytest
from lmlab.attention import causal_mask, scaled_dot_product_attention
from lmlab.flash_attention import attention_memory, flash_attention, online_softmax
from lmlab.sampling import softmax


def qkv(shape_lead, T, d, d_v=None, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    q = spread * rng.standard_normal((*shape_lead, T, d))  # large scores test the rescaling
    k = rng.standard_normal((*shape_lead, T, d))
    v = rng.standard_normal((*shape_lead, T, d_v or d))
    return q, k, v


@pytest.mark.parametrize(
    "lead, T, block_q, block_k",
    [
        ((), 1, 4, 4),
        ((1,), 7, 2, 3),  # tiles that do not divide T, and unequal
        ((3,), 16, 4, 4),
        ((2, 4), 33, 8, 5),  # batch and heads
        ((2,), 50, 64, 64),  # one tile larger than T
        ((4,), 64, 1, 1),  # one score at a time
    ],
)
def test_flash_equals_ordinary_causal_attention(lead, T, block_q, block_k):
    q, k, v = qkv(lead, T, d=8, d_v=5)
    expected, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(T))
    got = flash_attention(q, k, v, block_q=block_q, block_k=block_k)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.reference
def test_flash_equals_torch_sdpa():
    import torch

    q, k, v = qkv((2, 3), 40, d=16, seed=1)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v)), is_causal=True
    ).numpy()
    np.testing.assert_allclose(flash_attention(q, k, v, 16, 12), theirs, rtol=1e-6, atol=1e-12)


def test_huge_scores_do_not_overflow():
    q, k, v = qkv((2,), 20, d=4, spread=400.0)  # exp(score) alone would overflow float64
    expected, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(20))
    got = flash_attention(q, k, v, block_q=3, block_k=6)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("n, chunk", [(1, 1), (10, 3), (10, 10), (100, 7), (5, 50)])
def test_online_softmax_equals_softmax(n, chunk):
    x = np.random.default_rng(n).standard_normal(n) * 30
    np.testing.assert_allclose(online_softmax(x, chunk), softmax(x), rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(online_softmax(x + 1000.0, chunk)))


def test_memory_counts_at_4096_tokens():
    counts = attention_memory(T=4096, n_head=12, block_q=128, block_k=128, bytes_per_value=2)
    assert counts["standard"] == 4096 * 4096 * 12 * 2 == 384 * 2**20  # 384 MiB
    assert counts["flash"] == 128 * 128 * 12 * 2 == 384 * 2**10  # 384 KiB
    assert counts["standard"] // counts["flash"] == (4096 // 128) ** 2
    assert attention_memory(T=64, n_head=1, block_q=128, block_k=128)["flash"] == 64 * 64 * 2


def peak_bytes(function, *args, **kwargs):
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_flash_never_allocates_the_score_matrix():
    # numpy reports its buffers to tracemalloc, so the peak shows the largest arrays alive.
    heads, T, d, block = 4, 512, 8, 32
    q, k, v = qkv((heads,), T, d)
    counts = attention_memory(T, heads, block, block, bytes_per_value=8)
    ordinary = peak_bytes(scaled_dot_product_attention, q, k, v, mask=causal_mask(T))
    flash = peak_bytes(flash_attention, q, k, v, block, block)
    assert ordinary >= counts["standard"]  # at least one (heads, T, T) float64 array
    assert flash < counts["standard"] / 8
    # A few tiles of scores, plus the output and the per-block sums: nothing close to T x T.
    assert flash < 8 * counts["flash"] + 2 * q.nbytes
