"""lmlab.gguf and lmlab.llama: a GGUF file written here read back exactly; a tiny Llama whose KV
cache changes nothing (both also inside Pyodide); and SmolLM2-135M-Instruct itself against the
`gguf` package (dequantization), Hugging Face's tokenizer (ids) and transformers (logits)."""

import struct
from pathlib import Path

import numpy as np
import pytest
from lmlab.gguf import dequantize, read_gguf
from lmlab.llama import Llama, LlamaConfig, chat_prompt, rope, rope_angles

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- a GGUF written by this test


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_value(value: object) -> bytes:
    """(type, payload) of a metadata value: ints as int32, floats as float32, lists of str."""
    if isinstance(value, bool):
        return struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return struct.pack("<Ii", 5, value)
    if isinstance(value, float):
        return struct.pack("<If", 6, value)
    if isinstance(value, str):
        return struct.pack("<I", 8) + gguf_string(value)
    items = b"".join(gguf_string(item) for item in value)
    return struct.pack("<IIQ", 9, 8, len(value)) + items


def q8_0_blocks(x: np.ndarray) -> bytes:
    """Quantize as llama.cpp does: per block of 32, d = max|x| / 127, q = round(x / d)."""
    blocks = x.reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1, keepdims=True) / 127).astype(np.float16)
    q = np.round(blocks / np.maximum(d.astype(np.float32), 1e-12)).astype(np.int8)
    return b"".join(di.tobytes() + qi.tobytes() for di, qi in zip(d, q, strict=True))


def q4_1_blocks(x: np.ndarray) -> bytes:
    """Per block of 32: m = min, d = (max - min) / 15, q = round((x - m) / d) in 0..15, numbers
    0-15 in the low halves of 16 bytes and 16-31 in the high halves."""
    blocks = x.reshape(-1, 32)
    m = blocks.min(axis=1, keepdims=True).astype(np.float16)
    d = ((blocks.max(axis=1, keepdims=True) - m) / 15).astype(np.float16)
    q = np.clip(np.round((blocks - m) / np.maximum(d.astype(np.float32), 1e-12)), 0, 15)
    q = q.astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    return b"".join(di.tobytes() + mi.tobytes() + pi.tobytes()
                    for di, mi, pi in zip(d, m, packed, strict=True))


TYPE_IDS = {"F32": 0, "F16": 1, "Q4_1": 3, "Q8_0": 8}


def write_gguf(metadata: dict, tensors: dict[str, tuple[str, np.ndarray]]) -> bytes:
    """A GGUF v3 file: tensors {name: (type, values in numpy shape)}, data aligned to 32."""
    encode = {"F32": lambda x: x.astype(np.float32).tobytes(),
              "F16": lambda x: x.astype(np.float16).tobytes(), "Q8_0": q8_0_blocks,
              "Q4_1": q4_1_blocks}
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    header += b"".join(gguf_string(k) + gguf_value(v) for k, v in metadata.items())
    data, table = b"", b""
    for name, (kind, values) in tensors.items():
        data += b"\0" * (-len(data) % 32)
        dims = values.shape[::-1]
        table += gguf_string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims,
                                                 TYPE_IDS[kind], len(data))
        data += encode[kind](values)
    head = header + table
    return head + b"\0" * (-len(head) % 32) + data


def test_a_gguf_written_here_reads_back():
    rng = np.random.default_rng(0)
    values = {kind: rng.standard_normal((4, 64)).astype(np.float32) for kind in TYPE_IDS}
    meta = {"general.architecture": "llama", "count": 30, "eps": 1e-5, "flag": True,
            "tokens": ["a", "b", "<|im_end|>"]}
    model = read_gguf(write_gguf(meta, {f"t.{k}": (k, v) for k, v in values.items()}))
    assert model.version == 3
    assert model.metadata["count"] == 30 and model.metadata["flag"] is True
    assert model.metadata["eps"] == pytest.approx(1e-5, rel=1e-6)  # stored as float32
    assert model.metadata["tokens"] == ["a", "b", "<|im_end|>"]
    for kind, x in values.items():
        got = model.tensor(f"t.{kind}")
        assert got.shape == (4, 64) and got.dtype == np.float32
        if kind == "F32":
            np.testing.assert_array_equal(got, x)
        elif kind == "F16":
            np.testing.assert_array_equal(got, x.astype(np.float16).astype(np.float32))
        else:
            # Quantized: within half a step of each block's scale of the original.
            blocks, step = x.reshape(-1, 32), np.ptp(x.reshape(-1, 32), axis=1, keepdims=True)
            step = step / 15 if kind == "Q4_1" else np.abs(blocks).max(1, keepdims=True) / 127
            assert (np.abs(got.reshape(-1, 32) - blocks) <= step * 0.51 + 1e-3).all(), kind


def test_q4_1_puts_low_halves_first():
    # one block: d = 1, m = -8, bytes 0x10 * 16: low nibbles 0, high nibbles 1
    block = np.float16(1).tobytes() + np.float16(-8).tobytes() + bytes([0x10] * 16)
    np.testing.assert_array_equal(dequantize(block, "Q4_1"), [-8.0] * 16 + [-7.0] * 16)


def test_a_file_that_is_not_gguf_is_refused():
    with pytest.raises(ValueError, match="not a GGUF file"):
        read_gguf(b"PK\x03\x04 a zip file")


# ---------------------------------------------------------------- a tiny Llama


def tiny_llama(seed: int = 0) -> Llama:
    c = LlamaConfig(n_layers=2, d_model=16, n_heads=4, n_kv_heads=2, d_ff=24, vocab_size=11,
                    eps=1e-5, rope_base=10000.0, context=64)
    rng = np.random.default_rng(seed)
    w = {"token_embd.weight": rng.standard_normal((11, 16)), "output_norm.weight": np.ones(16)}
    shapes = {"attn_norm": (16,), "attn_q": (16, 16), "attn_k": (8, 16), "attn_v": (8, 16),
              "attn_output": (16, 16), "ffn_norm": (16,), "ffn_gate": (24, 16),
              "ffn_up": (24, 16), "ffn_down": (16, 24)}
    for layer in range(2):
        for name, shape in shapes.items():
            w[f"blk.{layer}.{name}.weight"] = rng.standard_normal(shape) * 0.3
    return Llama(c, {k: v.astype(np.float32) for k, v in w.items()})


def test_the_kv_cache_changes_no_logit():
    model = tiny_llama()
    ids = [3, 1, 4, 1, 5, 9, 2, 6]
    full = model.forward(ids)
    assert full.shape == (8, 11) and full.dtype == np.float32
    cache = model.new_cache()
    pieces = [model.forward(ids[:3], cache)] + [model.forward([i], cache) for i in ids[3:]]
    # float32 throughout: the same sums in another order agree to a few float32 ulps
    np.testing.assert_allclose(np.concatenate(pieces), full, rtol=1e-4, atol=1e-5)
    # A later token never changes an earlier token's logits (the mask is causal).
    np.testing.assert_allclose(model.forward(ids[:5]), full[:5], rtol=1e-4, atol=1e-5)


def test_rope_scores_depend_only_on_the_offset():
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((2, 1, 1, 64))

    def score(m: int, n: int) -> float:
        cos, sin = rope_angles(np.array([m]), 64, 10000.0)
        cos_k, sin_k = rope_angles(np.array([n]), 64, 10000.0)
        return float((rope(q, cos, sin) * rope(k, cos_k, sin_k)).sum())

    assert score(7, 3) == pytest.approx(score(104, 100), rel=1e-4)
    assert score(0, 0) == pytest.approx(float((q * k).sum()), rel=1e-5)  # position 0: no turn
    assert score(7, 3) != pytest.approx(score(7, 5), rel=1e-3)


def test_the_chat_prompt_adds_the_default_system_message():
    prompt = chat_prompt([{"role": "user", "content": "Hi"}])
    assert prompt == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                      "Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                      "<|im_start|>assistant\n")
    own = chat_prompt([{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": "Hi"}])
    assert own.startswith("<|im_start|>system\nBe brief.<|im_end|>\n")


# ---------------------------------------------------------------- SmolLM2-135M-Instruct itself
# (the fixtures smollm2_file, smollm2 and hugging_face are in conftest.py, shared with test_chat)

@pytest.mark.reference
@pytest.mark.pretrained
def test_every_tensor_dequantizes_as_the_gguf_package_does(smollm2_file, smollm2):
    from gguf import GGUFReader
    from gguf.quants import dequantize as reference

    ours = smollm2[0]
    tensors = GGUFReader(smollm2_file).tensors
    assert len(tensors) == len(ours.tensors) == 272
    for tensor in tensors:
        want = reference(tensor.data, tensor.tensor_type).astype(np.float32)
        shape = ours.tensors[tensor.name].shape
        np.testing.assert_array_equal(ours.tensor(tensor.name), want.reshape(shape))


@pytest.mark.reference
@pytest.mark.pretrained
def test_token_ids_equal_hugging_faces(smollm2, hugging_face):
    tokenizer = smollm2[1]
    # Real text: every paragraph of the book's chapters (prose, code, math, Unicode), and the
    # chat template with its special tokens.
    texts = [part for path in sorted((REPO / "web" / "chapters").glob("*.md"))
             for part in path.read_text().split("\n\n")]
    texts += [chat_prompt([{"role": "user", "content": "Wie viel ist 12 + 30? ½ ≠ 0.5 — 東京"}]),
              "<|im_start|><|im_end|><|endoftext|>x<|im_end|>\n\n\n   \t"]
    for text in texts:
        assert tokenizer.encode(text) == hugging_face[0].encode(text), text[:80]
    assert tokenizer.decode(tokenizer.encode(texts[-2])) == texts[-2]


@pytest.mark.reference
@pytest.mark.pretrained
def test_logits_and_greedy_text_equal_transformers(smollm2, hugging_face):
    import torch

    tokenizer, model = smollm2[1], smollm2[2]
    for text in ["The capital of France is",
                 chat_prompt([{"role": "user", "content": "What is the capital of France?"}])]:
        ids = tokenizer.encode(text)
        with torch.no_grad():
            want = hugging_face[1](torch.tensor([ids])).logits[0].numpy()
        # float32 through 30 layers in another order of operations: logits of up to ~40 agree to
        # about 1e-4 (seen: 9e-5); 1e-3 is still 1/40,000 of their range.
        np.testing.assert_allclose(model.forward(ids), want, rtol=0, atol=1e-3)
    answer = model.generate(ids, 12, stop={tokenizer.special["<|im_end|>"]})
    assert tokenizer.decode(answer) == "The capital of France is Paris.<|im_end|>"


@pytest.mark.reference
@pytest.mark.pretrained
def test_the_chat_prompt_is_the_models_own_template(smollm2):
    from jinja2 import Template

    template = Template(smollm2[0].metadata["tokenizer.chat_template"])
    said = lambda role, text: {"role": role, "content": text}  # noqa: E731
    for messages in ([said("user", "Hi")],
                     [said("system", "Be brief."), said("user", "2+2?"), said("assistant", "4"),
                      said("user", "And 3+3?")]):
        want = template.render(messages=messages, add_generation_prompt=True)
        assert chat_prompt(messages) == want
