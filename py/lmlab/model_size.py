"""How big a GPT is: its parameters, the memory they take, and the arithmetic per token.

Everything here follows from the configuration (V vocabulary, T context, L layers, H heads, C
width) by counting, with no model built:

- parameters: ``lmlab.gpt.parameter_counts``, grouped into embeddings, attention, MLP, layer
  norms and output head; one block has 12 C^2 + 13 C.
- memory: the weights at 4, 2 or 1 bytes each; training with AdamW in mixed precision; the KV
  cache (2 L C numbers per token: a key and a value of width C in every layer).
- compute: FLOPs per token for a forward pass (2 per weight of every matrix product, plus
  attention over the context) and for training (three times the forward).
- arithmetic intensity: FLOPs per byte of a matrix product against a machine's ridge point, the
  intensity below which its memory, not its arithmetic, sets the pace.

A FLOP is one floating-point addition or multiplication, so a multiply-add counts 2. Byte units
are decimal, as memory bandwidth is quoted: 1 GB = 10^9 bytes.
"""

import math

from lmlab.book_model import BOOK_MODEL
from lmlab.gpt import GPTConfig, parameter_counts

# NVIDIA A100 (SXM4, 80 GB), from NVIDIA's A100 datasheet: 312 TFLOP/s of dense bfloat16
# matrix arithmetic on its Tensor Cores and 2,039 GB/s of HBM2e bandwidth, which the book (and
# its seed) round to 2 TB/s.
A100_BF16_FLOPS = 312e12
A100_BYTES_PER_SECOND = 2.0e12

BYTES_PER_NUMBER = {"float32": 4, "bfloat16": 2, "int8": 1}

# Training with AdamW in mixed precision, bytes per parameter, as Rajbhandari et al. count it
# (ZeRO, 2020, section 3.1): the 16-bit weights and gradients the forward and backward passes
# use, plus the optimizer's float32 master copy of the weights and its two float32 moments.
# Activations are not included: they depend on the batch and on what is recomputed.
TRAINING_BYTES = {
    "bfloat16 weights": 2,
    "bfloat16 gradients": 2,
    "float32 master weights": 4,
    "AdamW first moment (float32)": 4,
    "AdamW second moment (float32)": 4,
}
KV_CACHE_DTYPE = "bfloat16"

PRESETS: dict[str, tuple[str, GPTConfig]] = {
    "book": ("The book's GPT", BOOK_MODEL.config()),
    # Radford et al. 2019 (GPT-2), Table 2, with the released checkpoints' 50,257 tokens and
    # 1,024 positions; heads as in those checkpoints (64 numbers per head, XL: 25 heads of 64).
    "gpt2": ("GPT-2 small", GPTConfig(50257, 1024, 12, 12, 768)),
    "gpt2-medium": ("GPT-2 medium", GPTConfig(50257, 1024, 24, 16, 1024)),
    "gpt2-large": ("GPT-2 large", GPTConfig(50257, 1024, 36, 20, 1280)),
    "gpt2-xl": ("GPT-2 XL", GPTConfig(50257, 1024, 48, 25, 1600)),
    # Brown et al. 2020 (GPT-3), Table 2.1: 96 layers of width 12,288, 96 heads, 2,048 tokens.
    "gpt3": ("GPT-3 175B", GPTConfig(50257, 2048, 96, 96, 12288)),
}

# What the widget accepts, field -> (label, lowest, highest).
LIMITS = {
    "n_layer": ("Layers", 1, 1000),
    "n_embd": ("Width", 1, 100_000),
    "n_head": ("Heads", 1, 1000),
    "vocab_size": ("Vocabulary", 1, 1_000_000),
    "block_size": ("Context", 1, 10_000_000),
    "batch": ("Batch", 1, 100_000),
}


def part_counts(config: GPTConfig, tie_weights: bool = True) -> dict[str, int]:
    """Parameters in the widget's five parts, from ``parameter_counts``.

    embeddings = token (V C) + position (T C); attention = L (4 C^2 + 4 C); mlp = L (8 C^2 + 5 C);
    norms = (2 L + 1) 2 C; head = V C untied, 0 tied (the head *is* the token embedding).
    """
    counts = parameter_counts(config, tie_weights)
    return {
        "embeddings": counts["token_embedding"] + counts["position_embedding"],
        "attention": counts["attention"],
        "mlp": counts["mlp"],
        "norms": counts["layer_norm"],
        "head": counts["lm_head"],
    }


def block_parameters(config: GPTConfig) -> int:
    """One transformer block: attention 4 C^2 + 4 C, MLP 8 C^2 + 5 C, two norms 4 C, in all
    12 C^2 + 13 C."""
    counts = parameter_counts(config)
    per_block_norms = (counts["layer_norm"] - 2 * config.n_embd) // config.n_layer
    return (counts["attention"] + counts["mlp"]) // config.n_layer + per_block_norms


def weight_bytes(n_params: int, dtype: str) -> int:
    """N parameters stored as dtype: N x 4 (float32), 2 (bfloat16) or 1 (int8) bytes.

    int8 counts the numbers alone; real int8 formats add a scale per block of weights (Q8_0,
    chapter 9's GGUF file: one float16 per 32 numbers, 6% more).
    """
    return n_params * BYTES_PER_NUMBER[dtype]


def training_bytes(n_params: int) -> dict[str, int]:
    """AdamW in mixed precision: N x (2 + 2 + 4 + 4 + 4) = 16 N bytes, part by part
    (``TRAINING_BYTES``), without activations."""
    return {part: n_params * size for part, size in TRAINING_BYTES.items()}


def kv_cache_bytes(config: GPTConfig, tokens: int = 1, batch: int = 1,
                   dtype: str = KV_CACHE_DTYPE) -> int:  # fmt: skip
    """2 x L x C x bytes per token (a key and a value of width C in each of L layers), for
    ``tokens`` tokens of each of ``batch`` sequences."""
    return 2 * config.n_layer * config.n_embd * BYTES_PER_NUMBER[dtype] * tokens * batch


def matmul_weights(config: GPTConfig) -> int:
    """The weights a token is multiplied by: L x 12 C^2 in the blocks' four matrices (C x 3C,
    C x C, C x 4C, 4C x C) and V x C in the output head, tied or not.

    Embedding lookups multiply nothing; biases and norms are additions, a few per number of
    width C, left out like the softmax and GELU (with C = 768 they are under 1%).
    """
    C = config.n_embd
    return config.n_layer * 12 * C * C + config.vocab_size * C


def forward_flops(config: GPTConfig, context: int | None = None) -> dict[str, int]:
    """FLOPs for one token's forward pass, when it attends to ``context`` tokens (itself
    included; default the full context T).

    matmul: 2 x matmul_weights (one multiply and one add per weight): about 2N.
    attention: 4 x L x t x C: its query against t keys is 2 t C for the scores and 2 t C for the
    mix of t values, in each of L layers (all heads together: H heads of C / H).

    A token generated with a KV cache at position t does exactly this. A training step on
    sequences of T tokens computes the full T x T scores and masks half (as ``lmlab`` does), so
    each token costs t = T; Kaplan et al. (2020, Table 1) write 2 L T C, the causal average.
    """
    t = config.block_size if context is None else context
    counts = {
        "matmul": 2 * matmul_weights(config),
        "attention": 4 * config.n_layer * t * config.n_embd,
    }
    counts["total"] = counts["matmul"] + counts["attention"]
    return counts


def training_flops(config: GPTConfig) -> int:
    """FLOPs to train on one token of a length-T sequence: 3 x the forward pass.

    Backpropagation through a product y = x W needs dx = dy W^T and dW = x^T dy: two products
    the size of the forward one (attention's scores and mix likewise), so forward + backward is
    three forwards. With the attention left out this is the "6N" rule of thumb.
    """
    return 3 * forward_flops(config)["total"]


def matmul_intensity(m: int, k: int, n: int, dtype: str = "bfloat16") -> dict[str, float]:
    """(m, k) @ (k, n): FLOPs per byte moved, if each input is read once and the output written
    once (the least any implementation moves).

    flops = 2 m k n; bytes = (m k + k n + m n) x bytes per number; intensity = flops / bytes.
    """
    flops = 2 * m * k * n
    moved = (m * k + k * n + m * n) * BYTES_PER_NUMBER[dtype]
    return {"flops": flops, "bytes": moved, "intensity": flops / moved}


def ridge_point(flops_per_second: float = A100_BF16_FLOPS,
                bytes_per_second: float = A100_BYTES_PER_SECOND) -> float:  # fmt: skip
    """FLOPs per byte at which arithmetic and memory take equal time: below it a product waits
    for memory (memory-bound), above it for arithmetic (compute-bound). A100, bf16: 156."""
    return flops_per_second / bytes_per_second


def roofline_share(intensity: float, ridge: float) -> float:
    """The largest fraction of peak FLOP/s a product of this intensity can reach: the bytes
    arrive at intensity x bandwidth FLOPs per second, so min(1, intensity / ridge)."""
    return min(1.0, intensity / ridge)


def settings_problems(settings: dict) -> list[dict[str, str]]:
    """[{field, message}] for every setting out of ``LIMITS`` or not a whole number, and for a
    width that the heads do not divide; [] when the settings make a GPT."""
    problems = []
    for field, (label, low, high) in LIMITS.items():
        value = settings[field]
        whole = isinstance(value, int | float) and math.isfinite(value) and value == int(value)
        if not whole or not low <= value <= high:
            problems.append({"field": field, "message": f"{label} must be a whole number from "
                             f"{low:,} to {high:,}{_not(value)}."})  # fmt: skip
    if not problems and settings["n_embd"] % settings["n_head"]:
        width, heads = settings["n_embd"], settings["n_head"]
        problems.append({"field": "n_head", "message": f"Heads must divide the width: {width:,} "
                         f"numbers do not split into {heads:,} equal heads."})  # fmt: skip
    return problems


def _not(value: object) -> str:
    """": 2.5 is not" for a number, "" for a blank or something else."""
    if isinstance(value, int | float) and math.isfinite(value):
        return f": {value:,} is not" if value == int(value) else f": {value} is not"
    return ""


def size_view(preset: str = "gpt2", n_layer: float | None = None, n_embd: float | None = None,
              n_head: float | None = None, vocab_size: float | None = None,
              block_size: float | None = None, tie_weights: bool = True,
              batch: float = 8) -> dict:  # fmt: skip
    """The gpt-size widget's numbers: a preset's configuration with any of its fields replaced.

    -> {preset, presets, limits, settings, tie_weights, matches, problems} and, when there are no
    problems, {total, parts, per_block, memory, flops, intensity, summary}: counts as ints and
    the text the page shows for each (so the page and the prose print the same figures).
    ``presets``: [{name, label, settings: the preset's shape}], so that the page can show a
    preset's settings the moment it is chosen. ``matches``: the preset whose configuration the
    settings are (None if none is).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; there are {', '.join(PRESETS)}")
    base = PRESETS[preset][1]
    asked = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head, "vocab_size": vocab_size,
             "block_size": block_size, "batch": batch}  # fmt: skip
    settings = {field: getattr(base, field) if value is None else value
                for field, value in asked.items()}  # fmt: skip
    view = {
        "preset": preset,
        "presets": [{"name": name, "label": label, "settings": shape(config)}
                    for name, (label, config) in PRESETS.items()],
        "limits": {field: [label, low, high] for field, (label, low, high) in LIMITS.items()},
        "tie_weights": bool(tie_weights),
        "problems": settings_problems(settings),
    }
    if view["problems"]:
        return {**view, "settings": settings, "matches": None}
    settings = {field: int(value) for field, value in settings.items()}
    batch = settings.pop("batch")
    config = GPTConfig(**settings)
    matches = [name for name, (_, c) in PRESETS.items() if c == config]
    view.update(settings={**settings, "batch": batch}, matches=matches[0] if matches else None)
    return {**view, **_sizes(config, bool(tie_weights), batch)}


def shape(config: GPTConfig) -> dict[str, int]:
    """The five settings of a GPT the widget's fields show."""
    return {field: getattr(config, field)
            for field in ("n_layer", "n_embd", "n_head", "vocab_size", "block_size")}


PART_LABELS = {"embeddings": "Embeddings", "attention": "Attention", "mlp": "MLP",
               "norms": "Layer norms", "head": "Output head"}  # fmt: skip


def _sizes(config: GPTConfig, tie_weights: bool, batch: int) -> dict:
    parts = part_counts(config, tie_weights)
    total = sum(parts.values())
    T = config.block_size
    kv_token = kv_cache_bytes(config)
    memory = [
        *({"label": f"Weights in {dtype} ({size} byte{'s' if size > 1 else ''} each)",
           "bytes": weight_bytes(total, dtype)} for dtype, size in BYTES_PER_NUMBER.items()),
        {"label": "Training with AdamW, mixed precision (16 bytes per parameter, "
                  "without activations)", "bytes": sum(training_bytes(total).values())},
        {"label": f"KV cache, {KV_CACHE_DTYPE}, per token", "bytes": kv_token},
        {"label": f"KV cache, one sequence of {T:,} tokens", "bytes": kv_token * T},
        {"label": f"KV cache, a batch of {batch:,} sequences of {T:,} tokens",
         "bytes": kv_token * T * batch},
    ]  # fmt: skip
    for row in memory:
        row["text"] = human(row["bytes"], "B")
    forward = forward_flops(config)
    flops = {**forward, "training": training_flops(config), "six_n": 6 * total}
    return {
        "total": total,
        "total_text": human(total, ""),
        "parts": [{"name": name, "label": PART_LABELS[name], "params": count,
                   "text": f"{count:,}", "share": count / total,
                   "share_text": percent(count / total)}
                  for name, count in parts.items()],  # fmt: skip
        "per_block": block_parameters(config),
        "memory": memory,
        "flops": {**flops, "text": {key: human(value, "FLOP") for key, value in flops.items()}},
        "intensity": _intensity(config, batch, total),
        "summary": f"{total:,} parameters ({human(total, '')}); "
                   f"{human(weight_bytes(total, 'bfloat16'), 'B')} in bfloat16.",
    }


def _intensity(config: GPTConfig, batch: int, total: int) -> dict:
    """The MLP's first product, (tokens, C) @ (C, 4C) in bfloat16, when generating one token
    (batch 1) and when training on ``batch`` sequences of T tokens, against the A100's ridge."""
    ridge = ridge_point()
    C = config.n_embd
    cases = {"generation": 1, "training": batch * config.block_size}
    view = {"ridge": ridge, "ridge_text": f"{ridge:.0f}", "cases": []}
    for name, tokens in cases.items():
        product = matmul_intensity(tokens, C, 4 * C)
        share = roofline_share(product["intensity"], ridge)
        view["cases"].append({
            "name": name, "tokens": tokens, "shape": [tokens, C, 4 * C], **product,
            "intensity_text": figure(product["intensity"]),
            "bound": "memory" if product["intensity"] < ridge else "compute",
            "peak_share": share, "peak_share_text": percent(share),
        })  # fmt: skip
    # Generating a token reads every weight once (batch 1); memory bandwidth bounds the rate.
    seconds = weight_bytes(total, "bfloat16") / A100_BYTES_PER_SECOND
    view["token_seconds"] = seconds
    view["machine"] = {"name": "NVIDIA A100", "flops_text": human(A100_BF16_FLOPS, "FLOP/s"),
                       "bandwidth_text": human(A100_BYTES_PER_SECOND, "B/s")}  # fmt: skip
    view["token_seconds_text"] = human(seconds, "s")
    return view


PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
            (1e-3, "m"), (1e-6, "µ")]
COUNT_PREFIXES = {"T": " T", "G": " B", "M": " M", "k": " k", "": ""}  # counts: billions, B


def human(value: float, unit: str) -> str:
    """A number with a decimal prefix and 4 significant digits at most: 124.4 M, 497.8 MB,
    1.991 GB, 175 ms. A count (unit "") uses B for billions: 174.6 B."""
    if value == 0:
        return f"0 {unit}".strip()
    for scale, prefix in PREFIXES:
        if abs(value) >= scale * 0.99995 or scale == PREFIXES[-1][0]:
            digits = f"{value / scale:.4g}"
            if unit == "":
                return digits + COUNT_PREFIXES.get(prefix, prefix)
            return f"{digits} {prefix}{unit}"
    raise AssertionError("unreachable")


def figure(x: float) -> str:
    """A positive number to 3 significant digits, in full: 0.998, 66.8, 572, 6,140."""
    decimals = max(0, 2 - math.floor(math.log10(float(f"{x:.3g}"))))
    return f"{float(f'{x:.3g}'):,.{decimals}f}"


def percent(share: float) -> str:
    """0.3158 -> "31.6%"; shares under 0.1% keep one significant digit: "0.03%"."""
    if share in (0, 1):
        return f"{share * 100:.0f}%"
    if share < 0.001:
        return f"{share * 100:.1g}%"
    return f"{share * 100:.1f}%"

