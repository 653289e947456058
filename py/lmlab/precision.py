"""Number formats for training: float32, float16 and bfloat16, and what each one loses.

A float is sign, exponent and mantissa bits. The exponent bits set the range (largest and
smallest numbers), the mantissa bits the precision (the gap between 1 and the next number,
machine epsilon). bfloat16 is float32 with the last 16 mantissa bits cut off: the same 8
exponent bits, so the same range, but only 7 mantissa bits. float16 spends its 16 bits the
other way: 5 exponent bits (largest finite 65504) and 10 mantissa bits.

numpy has float16 but no bfloat16, so ``to_bfloat16`` rounds float32 values to the nearest
bfloat16 with integer operations on their bits and returns them as float32 again.
"""

import numpy as np

# A format as (exponent bits, mantissa bits), read off numpy's float32 and float16; bfloat16
# keeps float32's exponent and drops the low 16 of its 23 mantissa bits.
_F32, _F16 = np.finfo(np.float32), np.finfo(np.float16)
BFLOAT16_DROPPED_BITS = 16
FORMATS = {
    "float32": (_F32.nexp, _F32.nmant),
    "bfloat16": (_F32.nexp, _F32.nmant - BFLOAT16_DROPPED_BITS),
    "float16": (_F16.nexp, _F16.nmant),
}


def format_facts(name: str) -> dict:
    """The facts of a format computed from its bit counts (IEEE-style: the top exponent is
    reserved for inf/NaN, the bottom one for zero and subnormals).

    -> {bits, exponent_bits, mantissa_bits, largest (finite), smallest_normal,
        smallest_subnormal, epsilon (gap between 1 and the next number)}
    """
    exponent_bits, mantissa_bits = FORMATS[name]
    bias = 2 ** (exponent_bits - 1) - 1
    return {
        "bits": 1 + exponent_bits + mantissa_bits,
        "exponent_bits": exponent_bits,
        "mantissa_bits": mantissa_bits,
        "largest": (2 - 2.0**-mantissa_bits) * 2.0**bias,
        "smallest_normal": 2.0 ** (1 - bias),
        "smallest_subnormal": 2.0 ** (1 - bias - mantissa_bits),
        "epsilon": 2.0**-mantissa_bits,
    }


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16, ties to even; NaN and inf are kept.
    x: (...) -> (...) float32 whose low 16 bits are all 0.

    Adding 0x7FFF plus the lowest kept bit to the bits, then clearing the low 16, rounds up
    exactly when the dropped part is over half, or exactly half with an odd kept part.
    Carries run into the exponent as they should (the largest float32 becomes inf).
    """
    x = np.asarray(x, dtype=np.float32)
    bits = x.reshape(-1).view(np.uint32)  # 1-D, so that NaN bits may wrap around silently
    lowest_kept = (bits >> BFLOAT16_DROPPED_BITS) & 1
    rounded = (bits + np.uint32(0x7FFF) + lowest_kept) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(x), x, rounded.view(np.float32).reshape(x.shape))


def to_float16(x: np.ndarray) -> np.ndarray:
    """Round to float16 (numpy's own conversion, ties to even), back as float32. (...) -> (...)"""
    with np.errstate(over="ignore"):  # too large for float16 is inf, which is the point
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def round_trip(x: float) -> dict[str, float]:
    """The value x becomes when stored in each format: {"float32", "bfloat16", "float16"}."""
    x32 = np.float32(x)
    return {
        "float32": float(x32),
        "bfloat16": float(to_bfloat16(x32)),
        "float16": float(to_float16(x32)),
    }


def lost_update(weight: float = 1.0, update: float = 1e-3, steps: int = 100) -> dict:
    """Add the same small update to a weight steps times, three ways.

    bfloat16 only: the weight lives in bfloat16 and every sum is rounded back; an update under
      half the gap between neighbouring numbers (epsilon * |weight| / 2) vanishes every time.
    master copy: a float32 copy accumulates the updates and the bfloat16 weight the forward pass
      uses is rounded from it: mixed precision.
    -> {"exact", "bfloat16_only", "float32_master", "bfloat16_from_master"}
    """
    bf16 = to_bfloat16(np.float32(weight))
    master = np.float32(weight)
    for _ in range(steps):
        bf16 = to_bfloat16(bf16 + np.float32(update))
        master = master + np.float32(update)
    return {
        "exact": weight + steps * update,
        "bfloat16_only": float(bf16),
        "float32_master": float(master),
        "bfloat16_from_master": float(to_bfloat16(master)),
    }


def overflow_example() -> dict[str, float]:
    """A value just over float16's largest (65504 * 1.1, e.g. an activation or a sum of squares):
    float16 makes it inf, bfloat16 keeps it (roughly), as float32 would. That is why float16
    training scales the loss (and its gradients) to fit, while bfloat16 needs no scaling."""
    return round_trip(format_facts("float16")["largest"] * 1.1)


def underflow_example(gradient: float = 1e-8) -> dict[str, float]:
    """A small gradient (1e-8 is under float16's smallest subnormal, 2^-24 = 6e-8): float16
    flushes it to 0, bfloat16 keeps it to 2-3 digits."""
    return round_trip(gradient)
