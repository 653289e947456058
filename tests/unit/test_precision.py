import math

import numpy as np
import pytest
from lmlab.precision import (
    FORMATS,
    format_facts,
    lost_update,
    overflow_example,
    round_trip,
    to_bfloat16,
    to_float16,
    underflow_example,
)


def awkward_float32s(n=20000, seed=0):
    """Random bit patterns (every exponent, subnormals included), exact ties with odd and
    even kept parts, values next to ties, the float32 extremes, zeros, inf and NaN."""
    rng = np.random.default_rng(seed)
    random_bits = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    kept = rng.integers(0, 2**16, size=n // 4, dtype=np.uint64).astype(np.uint32) << 16
    ties = kept | 0x8000
    near = np.concatenate([ties - 1, ties + 1])
    subnormals = rng.integers(1, 2**23, size=n // 4, dtype=np.uint64).astype(np.uint32)
    special = np.array(
        [
            0,
            0x80000000,
            0x7F800000,
            0xFF800000,
            0x7FC00000,
            0x7F7FFFFF,
            0xFF7FFFFF,
            0x00008000,
            0x00018000,
            0x7F7F8000,
            0x3F808000,
            0x3F818000,
            0x7FFFFFFF,
            0x7F800001,
        ],
        dtype=np.uint32,
    )
    bits = np.concatenate([random_bits, ties, near, subnormals, subnormals | 0x80000000, special])
    return bits.view(np.float32)


def same_floats(a, b):
    """Equal bit for bit, except that any NaN matches any NaN (payloads may differ)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (a.view(np.uint32) == b.view(np.uint32))))


@pytest.mark.reference
def test_bfloat16_rounding_matches_torch():
    import torch

    x = awkward_float32s()
    theirs = torch.from_numpy(x.copy()).to(torch.bfloat16).float().numpy()
    assert same_floats(to_bfloat16(x), theirs)


@pytest.mark.reference
def test_float16_rounding_matches_torch():
    import torch

    x = awkward_float32s(seed=1)
    theirs = torch.from_numpy(x.copy()).to(torch.float16).float().numpy()
    assert same_floats(to_float16(x), theirs)


@pytest.mark.reference
def test_facts_match_torch_finfo():
    import torch

    for name, dtype in (
        ("float32", torch.float32),
        ("bfloat16", torch.bfloat16),
        ("float16", torch.float16),
    ):
        facts, info = format_facts(name), torch.finfo(dtype)
        assert facts["bits"] == info.bits
        assert facts["largest"] == info.max
        assert facts["smallest_normal"] == info.smallest_normal
        assert facts["epsilon"] == info.eps


def test_bfloat16_rounding_by_hand():
    eps = 2.0**-7  # the gap after 1 in bfloat16
    cases = {
        1.0: 1.0,
        1 + eps / 2: 1.0,  # a tie: 1 has an even last bit, 1 + eps an odd one
        1 + 3 * eps / 2: 1 + 2 * eps,  # a tie the other way: up to the even neighbour
        1 + eps / 2 + 2.0**-20: 1 + eps,  # just over half: up
        1 + eps / 2 - 2.0**-20: 1.0,  # just under half: down
        -(1 + 3 * eps / 2): -(1 + 2 * eps),  # the sign comes along
        3.4e38: math.inf,  # past the tie between the largest (3.39e38) and 2^128: inf
        2.0**-130: 2.0**-130,  # a subnormal with few bits survives
    }
    for x, expected in cases.items():
        assert float(to_bfloat16(np.float32(x))) == expected, x
    out = to_bfloat16(np.array([np.inf, -np.inf, np.nan, -0.0], dtype=np.float32))
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert out[3] == 0 and np.signbit(out[3])


def test_bfloat16_values_are_float32s_with_16_zero_bits_and_keep_shape():
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    out = to_bfloat16(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.all(out.view(np.uint32) & 0xFFFF == 0)
    assert np.all(np.abs(out - x) <= np.abs(x) * 2.0**-8)  # within half a gap


def test_facts_agree_with_numpy_and_with_the_rounding():
    for name, dtype in (("float32", np.float32), ("float16", np.float16)):
        facts, info = format_facts(name), np.finfo(dtype)
        assert facts["largest"] == float(info.max)
        assert facts["smallest_normal"] == float(info.smallest_normal)
        assert facts["smallest_subnormal"] == float(info.smallest_subnormal)
        assert facts["epsilon"] == float(info.eps)
    bf16 = format_facts("bfloat16")
    assert bf16["bits"] == 16 and FORMATS["bfloat16"][0] == FORMATS["float32"][0]
    for key in ("largest", "smallest_normal", "smallest_subnormal", "epsilon"):
        assert round_trip(bf16[key])["bfloat16"] == bf16[key], key
    assert round_trip(1 + bf16["epsilon"] / 4)["bfloat16"] == 1.0
    just_over = bf16["largest"] * (1 + bf16["epsilon"] / 2)  # the next step would be 2^128
    assert round_trip(just_over)["bfloat16"] == math.inf
    assert round_trip(bf16["smallest_subnormal"] / 4)["bfloat16"] == 0.0


def test_small_updates_vanish_in_bfloat16_but_not_in_a_float32_master_copy():
    result = lost_update(weight=1.0, update=1e-3, steps=100)
    assert result["bfloat16_only"] == 1.0  # 1e-3 < half the gap after 1 (2^-8): lost each time
    assert result["float32_master"] == pytest.approx(1.1, rel=1e-5)
    assert abs(result["bfloat16_from_master"] - 1.1) <= 2.0**-7 / 2 * 1.1
    # An update over half the gap survives even without a master copy.
    assert lost_update(1.0, 5e-3, 10)["bfloat16_only"] > 1.0


def test_float16_overflows_and_underflows_where_bfloat16_does_not():
    over = overflow_example()
    assert over["float32"] > format_facts("float16")["largest"]
    assert over["float16"] == math.inf
    assert over["bfloat16"] == pytest.approx(over["float32"], rel=2.0**-8)
    under = underflow_example(1e-8)
    assert under["float16"] == 0.0
    assert under["bfloat16"] == pytest.approx(1e-8, rel=2.0**-8)
