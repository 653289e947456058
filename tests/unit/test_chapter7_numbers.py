"""Every number in chapter 7's prose, recomputed with lmlab from the chapter's own cells."""

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import attention_lm
from lmlab.attention import scaled_dot_product_attention, scaling_effect
from lmlab.sampling import softmax
from printed import fixed

PATH = REPO / "web/chapters/07-attention.md"
CHAPTER = load(PATH)

GIVENS = [
    # longer phrases first: each phrase is masked out of the prose in turn
    "Divided by 8 (as for $d_k$ = 64)",
    # what a softmax and a mask do, in words
    "sum to 1", "sums to 1", "sum to\n1", "spread 1", "nearly 1", "nearly 0", "exactly 0",
    "Chapter 6 ended", "(chapter 8)", "Chapter 6 trained", "both models of chapter 6",
    "than chapter 6's MLP", "(a softmax, as in\nchapter 1)",
    "GloVe vectors from chapter 4",
    "(chapter 5)", "the temperature of chapter 1", "the recurrent network of\nchapter 6",
    "Chapter 8 puts it together with the\npositions of chapter 5",
    # the author's examples and notation
    "$S = XX^\\top$", "$W_Q$", "$W_K$", "$W_V$", "$q = xW_Q$", "$k = xW_K$", "$v = xW_V$",
    "$QK^\\top$", "$S_{ij} = S_{ji}$", "$\\sqrt{d_k}$", "$d_k$", "$p_i(\\delta_{ij} - p_j)$",
    "$p_i$", "$z_j$", "$1/\\sqrt{d_k}$", "$-\\infty$", "$T$", "$h$", "$C$", "$d_k = C/h$",
    "$C \\times C$",
    "$$\\mathrm{Attention}(Q, K, V) = "
    "\\mathrm{softmax}\\!\\left(\\frac{QK^\\top}{\\sqrt{d_k}}\\right) V$$",
    "the word at position 3 could\nattend to position 4", "weight 1)",
    "The scores 22, −15, 3 and 8",
    "Here are six words", "50 numbers\neach",
    "map the 50 numbers of GloVe to a query and a key of 16",
    "Six words in, six vectors out", "changes what is stored",
    # the exercises' notation
    "(Tq, d_k)", "(Tk, d_k)", "(Tk, d_v)", "(Tq, d_v)", "(T, T)", "row\n$t$", "after $t$",
    "query $t$", "key $s$", "(T, C)", "(n_heads, T, C // n_heads)", "head $h$", "$hD$",
    "$(h+1)D - 1$", "$D$", "`axis=1, keepdims=True`", "`np.exp(-np.inf)` is 0",
    "`np.tril(np.ones((T, T), dtype=bool))`", "`x.reshape(T, n_heads, D)`", "`.transpose(1, 0, 2)`",
    "`scores = q @ k.T / np.sqrt(q.shape[1])`",
    # check yourself
    "$S_{ij} = x_i \\cdot x_j = x_j \\cdot x_i = S_{ji}$", "word $i$", "word $j$", "$j$", "$i$",
    "have 1,024 numbers", "Eight heads of 64 numbers or one head of 512",
    "the projections are 512 × 512 either way", "so eight different\nplaces to look",
    "eight separate softmaxes",
    # the attention model: chapter 6's scores (checked in that chapter's prose below), settings
    "the MLP\nover a window of three characters (2.1636 per character) and the recurrent network "
    "(2.1344)", "one layer of causal attention", "1,000 steps of AdamW",
    "a quarter of the heads,\ncan go for about 1% more loss", "(Michel, Levy and Neubig, 2019)",
]

CHAPTER6_SCORES = ["scores 2.1636 on names it never saw", "scores 2.1344"]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def model_claims() -> list[str]:
    """The attention model on the names (the cell's and the widget's, trained once and kept)."""
    a = attention_lm.head_ablation()
    top = a["looked_at"]["top"]
    previous = [h for h, t in enumerate(top) if t["kind"] == "back" and t["back"] == 1]
    assert previous == [3] and all(t["kind"] == "start" for t in top[:3])  # head 4; heads 1-3
    cheap = [w - a["all"] for w in a["without"][:3]]
    assert max(cheap) / a["all"] < 0.0125 and a["without"][3] == max(a["without"])  # "about 1%"
    return [
        f"With {a['parameters']:,} weights it scores {fixed(a['all'], 4)}",
        f"scores {fixed(a['none'], 4)}: the attention layer is worth "
        f"{fixed(a['none'] - a['all'], 4)} per character",
        f"with {a['n_head']} heads lets every position",
        f"previous\ncharacter at {top[3]['share']:.0%} of positions",
        f"the loss rises to\n{fixed(a['without'][3], 4)}, "
        f"by {fixed(a['without'][3] - a['all'], 4)}",
        f"Heads 1 to {len(cheap)}", f"costs only {fixed(min(cheap), 4)} to {fixed(max(cheap), 4)}",
        f"Head {previous[0] + 1} puts",
    ]


def claims(page: dict) -> list[str]:
    weights = softmax(page["keys"] @ page["query"])
    S, W, sentence = page["S"], page["W"], page["sentence"]
    cat, sat = sentence.index("cat"), sentence.index("sat")
    off_diagonal = np.where(np.eye(len(S), dtype=bool), -np.inf, S)
    S_qk = page["S_qk"]
    rows = {row["d_k"]: row for row in scaling_effect(d_k_values=(4, 16, 64, 256, 1024))}
    spread = [row["score_std_scaled"] for row in rows.values()]
    largest = [row["max_weight_scaled"] for row in rows.values()]
    z = np.array([22.0, -15.0, 3.0, 8.0])
    soft = softmax(z / 8)

    def largest_gradient(p: np.ndarray) -> float:
        return np.abs(np.diag(p) - np.outer(p, p)).max()

    the = [i for i, w in enumerate(sentence) if w == "the"]
    C = page["C"]
    return [
        f"(score {(page['keys'] @ page['query'])[0]:.0f}) and takes {weights[0]:.3f} of the "
        f"weight, \"door\" takes "
        f"{weights[1]:.3f}",
        f"\"cat\" gives {W[cat, cat]:.2f} to\n\"cat\"",
        f"its squared length, {S[cat, cat]:.2f} for \"cat\"",
        f"(at most {off_diagonal[cat].max():.2f})",
        f"each giving {W[the[0], the[0]]:.2f} to itself and {W[the[0], the[1]]:.2f} to the other",
        f"asks of \"sat\" ({S_qk[cat, sat]:.2f}) now differs from what \"sat\" asks of \"cat\" "
        f"({S_qk[sat, cat]:.2f})".replace("-", "−"),
        f"only {int((S_qk.argmax(axis=1) == np.arange(len(S_qk))).sum())} of the "
        f"{len(sentence)} words scores itself highest",
        f"At $d_k$ = 1024 the raw scores spread by {rows[1024]['score_std_unscaled']:.1f} and the "
        f"largest weight averages {rows[1024]['max_weight_unscaled']:.2f}",
        f"the spread stays between {min(spread):.2f} and {max(spread):.2f}, and the\n"
        f"largest weight between {min(largest):.2f} and {max(largest):.2f}",
        f"give the first key {softmax(z)[0]:.8f} of the weight",
        f"no entry of the\nsoftmax's gradient is larger than {largest_gradient(softmax(z)):.2g}",
        "the same scores give weights of " + ", ".join(f"{p:.2f}" for p in soft[:3]) +
        f" and {soft[3]:.2f}, and gradients up to {largest_gradient(soft):.2f}",
        f"whatever $h$ is ({4 * C * C:,} numbers here)",
        f"about {np.sqrt(1024):.0f} times wider than for one number",
        f"each facing {round(np.exp(rows[4]['max_entropy']))} keys",
        *model_claims(),
        f"The key \"key\" matches best (score {(page['keys'] @ page['query'])[0]:.0f})",
    ]


def test_raw_attention_stares_at_itself_and_is_symmetric(page):
    """What the prose says in words about the six GloVe vectors."""
    S, W = page["S"], page["W"]
    assert np.allclose(S, S.T)
    assert (W.argmax(axis=1) == np.arange(len(W))).sum() >= len(W) - 2  # the "the"s tie
    assert np.allclose(page["out"], W @ page["X"])
    torch = pytest.importorskip("torch")
    X = torch.tensor(page["X"])
    reference = torch.nn.functional.scaled_dot_product_attention(X[None], X[None], X[None],
                                                                 scale=1.0)[0]
    assert np.allclose(reference.numpy(), page["out"])


def test_the_mask_keeps_earlier_outputs(page):
    out, out2 = page["out_c"], page["out2"]
    assert np.allclose(out[:5], out2[:5]) and not np.allclose(out[5], out2[5])
    _, W = scaled_dot_product_attention(page["X"], page["X"], page["X"], mask=page["mask"])
    assert W[~page["mask"]].max() == 0.0


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_is_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_chapter_6s_scores_are_those_chapter_6_states():
    """The two scores quoted from chapter 6 are in chapter 6's prose, which its test computes."""
    chapter6 = load(REPO / "web/chapters/06-neural-next-token-prediction.md")
    assert missing_phrases(chapter6, CHAPTER6_SCORES) == []
