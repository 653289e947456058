"""lmlab.position and the model input of chapter 5 against implementations written by others:
Hugging Face transformers' LLaMA rotary embedding, BLOOM's ALiBi tensor and GPT-2's embedding
layer (CPython only: transformers and torch are test oracles, not in the book)."""

import numpy as np
import pytest
from lmlab.gpt import GPT, GPTConfig, hf_state_dict
from lmlab.position import alibi_bias, alibi_slopes, apply_rope, sinusoidal_encoding

pytestmark = pytest.mark.reference


@pytest.mark.parametrize(("head_dim", "theta"), [(8, 10000.0), (64, 10000.0), (16, 500000.0)])
def test_rope_is_llamas_rotary_embedding_on_paired_coordinates(head_dim, theta):
    """LLaMA's code pairs coordinate i with i + d/2 (rotate_half); lmlab pairs 2i with 2i + 1,
    as the RoFormer paper. Moving the even coordinates to the first half and the odd ones to the
    second makes the two the same rotation."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    n_heads, T = 2, 40
    config = LlamaConfig(hidden_size=n_heads * head_dim, num_attention_heads=n_heads,
                         max_position_embeddings=4096, rope_theta=theta)  # fmt: skip
    rotary = LlamaRotaryEmbedding(config)
    rng = np.random.default_rng(head_dim)
    q, k = rng.standard_normal((2, 1, n_heads, T, head_dim))
    positions = np.array([*range(T - 2), 77, 100])
    halves = np.concatenate([np.arange(0, head_dim, 2), np.arange(1, head_dim, 2)])
    q_t, k_t = (torch.tensor(a[..., halves]) for a in (q, k))
    cos, sin = rotary(q_t, torch.tensor(positions)[None])
    q_ref, k_ref = apply_rotary_pos_emb(q_t, k_t, cos, sin)
    # transformers makes its angles and their cos and sin in float32 whatever the input's dtype:
    # an angle of up to 100 radians is off by up to 100 * 2**-24 = 6e-6, times coordinates of up
    # to about 4, hence 5e-5, where a rotation the wrong way or a wrong pairing is off by about 1.
    # (Positions in the thousands are checked in float64 against complex numbers in
    # test_position.py.)
    np.testing.assert_allclose(apply_rope(q, positions, base=theta)[..., halves], q_ref.numpy(),
                               rtol=0, atol=5e-5)  # fmt: skip
    np.testing.assert_allclose(apply_rope(k, positions, base=theta)[..., halves], k_ref.numpy(),
                               rtol=0, atol=5e-5)  # fmt: skip


@pytest.mark.parametrize("n_heads", [1, 4, 6, 8, 12, 16])
def test_alibi_bias_is_blooms_up_to_a_constant_per_row(n_heads):
    """BLOOM's tensor is slope_h * s (the key's position), which differs from -slope_h * (t - s)
    by slope_h * t, the same for every key of query t; a softmax ignores such a constant."""
    import torch
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    T = 9
    bloom = build_alibi_tensor(torch.ones(1, T), n_heads, torch.float64).numpy().reshape(n_heads, T)
    # BLOOM makes its slopes in float32 (a few roundings of 2**-24 each), lmlab in float64
    np.testing.assert_allclose(bloom[:, 1], alibi_slopes(n_heads), rtol=4e-7)
    ours = alibi_bias(n_heads, T)
    t, s = np.tril_indices(T)
    shifted = ours[:, t, s] + alibi_slopes(n_heads)[:, None] * t
    np.testing.assert_allclose(shifted, bloom[:, s], rtol=4e-7, atol=1e-12)


def test_sinusoidal_encoding_is_the_transformer_papers_table_interleaved():
    """The formula computed by torch, one position and one pair at a time."""
    import torch

    T, d = 50, 32
    reference = torch.zeros(T, d, dtype=torch.float64)
    for p in range(T):
        for i in range(d // 2):
            angle = torch.tensor(p / 10000 ** (2 * i / d), dtype=torch.float64)
            reference[p, 2 * i], reference[p, 2 * i + 1] = torch.sin(angle), torch.cos(angle)
    np.testing.assert_allclose(sinusoidal_encoding(T, d), reference.numpy(), rtol=0, atol=1e-12)


def test_the_input_the_first_block_sees_is_gpt2s_embedding_output():
    """lmlab's wte(ids) + wpe(0..T-1) against transformers' GPT-2 with the same weights: its
    hidden_states[0] is what its first block receives."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPTConfig(vocab_size=300, block_size=16, n_layer=1, n_head=2, n_embd=8)
    model = GPT(config, rng=5)
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=300, n_positions=16, n_layer=1, n_head=2,
                                    n_embd=8)).eval()  # fmt: skip
    state = {name: torch.tensor(value) for name, value in hf_state_dict(model).items()}
    hf.load_state_dict(state, strict=False)
    ids = np.array([[7, 250, 7, 3, 99, 7]])
    ours = model.wte(ids) + model.wpe(np.arange(ids.shape[1]))
    with torch.no_grad():
        hidden = hf(torch.tensor(ids), output_hidden_states=True).hidden_states[0]
    np.testing.assert_allclose(ours, hidden.numpy(), rtol=1e-6, atol=1e-7)
