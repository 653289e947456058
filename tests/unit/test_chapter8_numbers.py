"""Every number in chapter 8's prose, recomputed with lmlab from the chapter's own cells."""

import math

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import book_model, data
from lmlab.gpt import GPT2_SMALL, GPTConfig, parameter_counts
from lmlab.inference_cost import cache_speedup
from lmlab.precision import format_facts, lost_update

PATH = REPO / "web/chapters/08-the-transformer.md"
CHAPTER = load(PATH)

GIVENS = [
    # longer phrases first: each phrase is masked out of the prose in turn
    "Chapter 7's model", "chapter 6's plain MLP", "16-bit numbers", "64-bit ones",
    "(chapter 3)", "(chapter 1)", "(chapters 4 and 5)",
    "in its attention, chapter 7)", "(**weight tying**, chapter 4)", "(RoPE, chapter 5)",
    "the loop from chapter 6", "the loop of chapter 6", "Chapter 9 takes",
    "Generating is a loop (chapter 1)", "as chapter 1 predicted",
    # hardware figures quoted from NVIDIA's data sheet (the cell uses the same two)
    "about 312 million million bfloat16 operations a second",
    "about 2 million million bytes a second",
    # what a softmax, an average, GELU and layer norm do, in words
    "sum to 1", "mean 0 and spread 1", "ones become almost 0", "climbs from almost 0",
    "all near 0", "a small gradient becomes 0",
    "$$\\mathrm{LN}(x) = \\gamma \\odot \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + \\beta$$",
    "$$\\mathrm{FFN}(x) = \\mathrm{GELU}(x W_1 + b_1)\\, W_2 + b_2 \\qquad W_1: 96 \\times 384,\\;"
    " W_2: 384 \\times 96$$",
    "$$x \\leftarrow x + \\mathrm{Attention}(\\mathrm{LN}_1(x)) \\qquad x \\leftarrow x + "
    "\\mathrm{FFN}(\\mathrm{LN}_2(x))$$",
    "`x = x + attn(ln_1(x))`", "`x = x + mlp(ln_2(x))`", "`x = LN(x + f(x))`", "`x = x + f(LN(x))`",
    "$W_1$", "$W_2$", "$\\gamma$", "$\\beta$", "$\\mu$", "$\\sigma^2$",
    "Use $\\epsilon$ = 1e-5, as GPT-2 does", "$\\epsilon$",
    # the parameter table's formulas
    "| tied to the token embedding | 0 |", "grow\nwith $L \\cdot C^2$",
    # the model's settings as the prose names them (checked against the config below)
    "(`block_size`)", "(`n_layer`)", "(`n_embd`)",
    # history and the literature
    "The original transformer of 2017", "introduced in 2017", "(Geva et al., 2021)",
    # the author's choices in the cells, named in the prose
    "four times the width", "Twelve freshly made blocks", "A stack of 12 fresh blocks",
    "256 numbers wide", "$0.02\\sqrt{768/256}$", "temperature 0.8",
    "its average over the last 50 steps",
    "a one-token prompt", "$N^2/2$", "$N$ in all", "step $n$", "all $n$ tokens", "$t+1$",
    "tokens $0..t$", "position $t$", "$\\sqrt{2L}$", "$2L$", "$L$",
    "Twenty steps of eight windows", "rounded to 16 bits", "of the weights to 16 bits",
    # the exercises and their hints
    "(T, T)", "(T, 96)", "(T, C)", "C numbers each",
    "the final layer norm (a gain and a shift of C each)",
    "attention's C → 3C and C → C layers, the feed-forward C → 4C and 4C → C layers",
    "two layer norms of 2C each", "`V`", "`T`", "`L`", "`C`", "`chunk`", "as large as 1000",
    "(it should give 502,848)", "`x.mean(axis=-1, keepdims=True)`",
    "`x.var(axis=-1, keepdims=True)`", "`(x - mean) / np.sqrt(var + 1e-5)`",
    "`largest = -np.inf`", "`total = 0.0`",
    "two or so of them", "thousands of tokens", "thousands of times",
    "2 operations per weight of 2 bytes",
    "A hundred updates of 0.001 should take the weight to 1.1", "a small update to a weight of 1",
    "first loss of 25", "billions of tokens", "Half a million parameters",
    "from half a million parameters", "most of the block's weights, two thirds of them here",
    "in 64-bit or 32-bit floating point",
    "GPT-2", "GPT-3", "bfloat16", "float16", "float32", "A100", "T5",
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def claims(page: dict) -> list[str]:
    model, book = page["model"], page["book"]
    c = model.config
    V, T, L, C = c.vocab_size, c.block_size, c.n_layer, c.n_embd
    counts = parameter_counts(c)
    attention = C * 3 * C + 3 * C + C * C + C
    mlp = C * 4 * C + 4 * C + 4 * C * C + C
    block = attention + mlp + 4 * C
    assert block * L + V * C + T * C + 2 * C == counts["total"] == model.num_parameters()
    gpt2 = parameter_counts(GPT2_SMALL)
    gpt3 = parameter_counts(GPTConfig(50257, 2048, 96, 96, 12288))
    share = {k: gpt2[k] / gpt2["total"] for k in gpt2}
    text_bytes = data.path("shakespeare.txt").stat().st_size
    a100 = page["ridge_point"]()
    bf16, f16, f32 = (format_facts(n) for n in ("bfloat16", "float16", "float32"))
    speedups = [cache_speedup(GPT2_SMALL, n) for n in (100, 1000)]
    lost = lost_update(1.0, 1e-3, 100)
    assert lost["bfloat16_only"] == 1.0
    further = page["trace"]
    assert len(further) == 20  # "Twenty steps of eight windows"
    tokens = len(further) * 8 * T
    assert 0.09 < V * C / counts["total"] < 0.1  # "almost a tenth more"
    assert 450_000 < counts["total"] < 550_000  # "half a million parameters"
    return [
        f"tiny-shakespeare ({text_bytes / 1e6:.1f} MB of Shakespeare's plays)",
        f"Its vocabulary has {V} tokens: the {256} bytes and {V - 256} merges",
        f"up to\n{T} tokens at once (`block_size`), has {L} blocks (`n_layer`) of {c.n_head} "
        f"heads each, and carries {C}\nnumbers per token",
        f"Each token's {C} numbers travel",
        f"{C} numbers per token",
        f"each of the model's {2 * L} sub-layers (two per block)",
        f"into {V} scores, one per token of the\nvocabulary",
        f"The same {V} × {C} table",
        f"GPT-2's {gpt2['total'] / 1e6:.0f} million parameters and GPT-3's "
        f"{gpt3['total'] / 1e9:.0f} billion",
        f"With vocabulary $V$ = {V},\ncontext $T$ = {T}, width $C$ = {C} and $L$ = {L} blocks",
        f"| $V \\cdot C$ | {V * C:,} |", f"| $T \\cdot C$ | {T * C:,} |",
        f"| $C \\cdot 3C + 3C$ (queries, keys, values) $+\\; C \\cdot C + C$ (output) | "
        f"{attention:,} |",
        f"| $C \\cdot 4C + 4C + 4C \\cdot C + C$ | {mlp:,} |",
        f"| $2 \\cdot 2C$ | {4 * C} |", f"| $2C$ | {2 * C} |",
        f"Four blocks of {block:,} and the rest: {counts['total']:,}",
        f"GPT-2 small ({GPT2_SMALL.n_layer} blocks of width {GPT2_SMALL.n_embd}, a vocabulary of "
        f"{GPT2_SMALL.vocab_size:,} and a context of {GPT2_SMALL.block_size:,}) has\n"
        f"{gpt2['total']:,} parameters",
        f"{share['attention']:.0%} in\nattention and {share['mlp']:.0%}",
        f"saves\n{parameter_counts(GPT2_SMALL, tie_weights=False)['total'] - gpt2['total']:,}",
        f"{96} blocks of width {12288:,}: {gpt3['total'] / 1e9:.1f} billion",
        f"standard deviation {0.02}",
        f"a stack eight times deeper, like GPT-3's {96} blocks",
        f"a window of {T} tokens", f"one window holds {T} examples",
        f"its {V}\nscores",
        f"exceeds {book.settings.max_grad_norm:g}, they are scaled down to length "
        f"{book.settings.max_grad_norm:g}",
        f"about\n{round(gpt2['total'] / model.num_parameters(), -1):.0f} times as many parameters",
        f"the first {64 * 64:,} tokens of the held-out text",
        f"windows are {tokens:,} tokens, {tokens / len(page['train_ids']):.0%} of one pass",
        f"a learned table of {T} rows", f"longer than {T} tokens",
        f"about {speedups[0]:.0f} times at {100} tokens and {speedups[1]:.0f} times at {1000:,}",
        f"{f32['exponent_bits']} bits of exponent (its range) and {f32['mantissa_bits']} of "
        "mantissa",
        f"keeps only {f16['exponent_bits']} exponent bits",
        f"keeps float32's {bf16['exponent_bits']} exponent bits and cuts the mantissa to\n"
        f"{bf16['mantissa_bits']}",
        f"just over {f16['largest']:,.0f}",
        f"the next number after 1 is {1 + bf16['epsilon']}",
        f"fewer than about {a100:.0f} operations for each byte",
        f"{V} × {C} = {V * C:,} more, almost a\ntenth more",
        f"The book's model has {counts['total']:,} parameters",
        f"each position's {C} numbers", f"$\\ln {V}$",
        f"vocabulary of {GPT2_SMALL.vocab_size:,} tokens",
        f"GPT-3's {gpt3['total'] / 1e9:.0f}\nbillion",
        f"A uniform guess costs ln {50257:,} ≈ {math.log(50257):.1f}",
        f"GPT-2 small's {gpt2['total']:,}",
    ]


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_is_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_what_the_prose_says_in_words(page):
    """The relations the prose states without a number, on the chapter's own results."""
    gathered = page["gathered"]
    assert np.all((page["lowest"] <= gathered) & (gathered <= page["highest"]))
    spread = page["h"][0].std(axis=1)
    assert spread.max() > 3 * spread.min()  # "some tokens' numbers are spread far wider"
    assert np.allclose(page["normalised"][0].std(axis=1), 1, atol=1e-3)
    block = page["model"].h[3]
    share = block.mlp.num_parameters() / block.num_parameters()
    assert 0.6 < share < 0.7  # "two thirds of them here"
    ratios = page["reaching_the_bottom"]
    assert ratios["with residuals"] > 0.9 and ratios["without"] < 0.1  # "a small fraction"
    stds = page["stds"]
    assert all(b > a for a, b in zip(stds["unscaled"], stds["unscaled"][1:], strict=False))
    assert max(abs(v / stds["scaled"][0] - 1) for v in stds["scaled"]) < 0.05  # "as it came in"
    assert abs(page["loss"] - math.log(512)) < 0.05  # the untrained model: near uniform
    book = page["book"]
    assert book.held_out_loss < book.bigram_loss - 0.2  # "well below a bigram model's"
    assert page["difference"] < 0.02  # "changes no prediction"
    assert 0 < page["after"] - page["before"] < 0.05  # "gets slightly *worse*"
    assert np.array_equal(page["cached"], page["recomputed"])
    intensity = page["matmul_intensity"]
    needed = page["ridge_point"]()
    assert intensity(1, 768, 3072)["intensity"] < 2 < needed
    assert needed < intensity(4096, 768, 3072)["intensity"]


def test_greedy_decoding_repeats_itself(page):
    """The greedy text of the cell repeats one short piece (1 to 3 tokens) four times in a row."""
    fresh = book_model.load(data.path("book-gpt.npz"), np.float64).model  # not trained further
    greedy = fresh.generate(page["prompt"], 40, temperature=0)[len(page["prompt"]):]
    tokens = greedy.tolist()
    assert any(tokens[i : i + 4 * p] == tokens[i : i + p] * 4
               for p in (1, 2, 3) for i in range(len(tokens) - 4 * p + 1))
