"""Every number in chapter 9's prose, recomputed with lmlab from the chapter's own cells."""

import math

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import scaling
from lmlab.scaling import CHINCHILLA, chinchilla_loss, compute_optimal, training_flops

PATH = REPO / "web/chapters/09-from-gpt-to-chatgpt.md"
CHAPTER = load(PATH)

GIVENS = [
    # longer phrases first: each phrase is masked out of the prose in turn
    "Chapter 8 ended", "chapters 6 and 8", "SmolLM2-135M-Instruct",
    "[talk page](90-talk-to-a-real-model.html)",
    "[Talk to a real model](90-talk-to-a-real-model.html)",
    # why 6 N D: 2 FLOPs forward (a multiply and an add per weight), 4 backward
    "about 6 floating-point\noperations (FLOPs) per parameter: 2 in the forward pass",
    "and 4\nin the backward pass",
    "$$C \\approx 6 N D \\ \\text{FLOPs}.$$", "$6ND = C$", "$6ND$",
    # history and the literature: authors and years; published model sizes (lmlab.scaling.MODELS
    # holds the same figures, checked below)
    "In 2020, Kaplan", "In 2022, Hoffmann", "a 2024 replication",
    "(Schaeffer and colleagues, 2023)", "SPIN, 2024,", "In 2023, Rafailov",
    "GPT-3 (175 billion parameters)", "Gopher (280 billion)", "about 300 billion tokens",
    "Llama 3 8B was trained\non 15 trillion tokens",
    # the chat template's tokens, and the model's context, as the cells print them
    "a **mask** of 0s and 1s", "every log-ratio is 0", "every margin is 0",
    "-\\log \\sigma(0) = \\log 2 \\approx 0.693", "$\\log 2 \\approx 0.693$",
    # the author's choices in the cells, named in the prose
    "Three steps of it, on batches of 8 conversations",
    # the exercises and their hints
    "as large as ±1000", "`np.log(1 + np.exp(-m))` overflows once $-m$ passes\nabout 710",
    "`np.logaddexp(0, -m)`", "$\\log(e^0 + e^{-m})$", "$-\\log \\sigma(m) = \\log(1 + e^{-m})$",
    "`np.mean(np.logaddexp(0, -margin))`", "the loss is $\\log 2$",
    "a GPT-3.5 model", "GPT-3", "SmolLM2",
    # GPT-3's training data, quoted from the paper (its Table 2.2 gives the passes over each set;
    # the cell prints the sizes and weights) and an outside estimate of its cost
    "(Brown and\ncolleagues, 2020, its Table 2.2)", "drew them from five sets",
    "Three small, cleaner sets", "WebText2", "Books1",
    "the paper counts 2.9, 1.9 and 3.4 passes over them during training, against 0.44 of\none pass",
    "(Lambda Labs, 2020)", "about $4.6 million", "Those 300 billion tokens",
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def claims(page: dict) -> list[str]:
    fit = CHINCHILLA
    C = training_flops(70e9, 1.4e12)
    N_opt, D_opt = compute_optimal(C)
    models = {m.key: m for m in scaling.MODELS}
    llama3 = models["llama3-8b"]
    chat, s = page["chat"], page["s"]
    return [
        f"$L \\propto C^{{-{scaling.KAPLAN_EXPONENT:.3f}}}$",
        f"$E$ = {fit.E}, $A$ = {fit.A}, $B$ = {fit.B}, $\\alpha$ = {fit.alpha}, "
        f"$\\beta$ = {fit.beta}",
        f"close to {round(llama3.tokens / llama3.params, -3):,.0f} per parameter",
        f"about {scaling.TOKENS_PER_PARAM_RULE} tokens per parameter",
        f"(Chinchilla: about\n{scaling.TOKENS_PER_PARAM_RULE} tokens per parameter)",
        f"(each 10x of compute buys about {math.sqrt(10):.0f}x more parameters and "
        f"{math.sqrt(10):.0f}x more tokens)",
        f"appended to its vocabulary of {page['book'].settings.config().vocab_size}",
        f"The model reads at most {s.block_size} tokens",
        f"the build ran {chat.settings.steps} of them, on batches of {chat.settings.batch_size}",
    ], (C, N_opt, D_opt, models)


def test_every_claim_is_in_the_prose(page):
    phrases, _ = claims(page)
    assert missing_phrases(CHAPTER, phrases) == []


def test_no_number_is_unchecked(page):
    phrases, _ = claims(page)
    assert unchecked_numbers(CHAPTER, phrases + GIVENS) == []


def test_the_published_figures_the_prose_quotes_are_lmlabs(page):
    _, (C, N_opt, D_opt, models) = claims(page)
    assert (models["gpt3"].params, models["gpt3"].tokens) == (175e9, 300e9)
    assert (models["gopher"].params, models["gopher"].tokens) == (280e9, 300e9)
    assert (models["llama3-8b"].params, models["llama3-8b"].tokens) == (8e9, 15e12)


def test_what_the_prose_says_in_words(page):
    """The relations the prose states without a number, on the chapter's own results."""
    _, (C, N_opt, D_opt, models) = claims(page)
    # Chinchilla: a quarter of Gopher's parameters, almost five times the tokens, about the
    # same compute, and a lower predicted loss ("the smaller model wins")
    assert 70e9 / 280e9 == 0.25 and 4.5 < 1.4e12 / 300e9 < 5
    assert abs(training_flops(280e9, 300e9) / C - 1) < 0.2
    assert chinchilla_loss(70e9, 1.4e12) < chinchilla_loss(280e9, 300e9)
    # "puts it elsewhere" and "a model twice the optimal size loses almost nothing"
    assert D_opt / N_opt > 2 * scaling.TOKENS_PER_PARAM_RULE
    assert 1.8 < 70e9 / N_opt < 2.5 and chinchilla_loss(70e9, 1.4e12) - chinchilla_loss(
        N_opt, D_opt) < 0.01
    # the book's model: "the bottom-left corner" (fewest parameters and FLOPs of all)
    book = models["book"]
    assert all(book.params <= m.params and book.tokens <= m.tokens for m in models.values())
    assert page["gpt"].num_parameters() == book.params
    # new rows: the old logits do not change at all
    assert np.array_equal(page["after"][..., :512], page["before"])
    chat = page["chat"]
    scores = chat.scores
    # "the answers became much more predictable"; "the loss on ordinary text went *up*"
    assert scores["answer_loss"] < scores["answer_loss_before"] - 1
    assert scores["text_loss"] > scores["text_loss_before"]
    # the greedy replies "very often" repeat a word; "in most held-out pairs ... after it, in few";
    # "stopped repeating"
    assert scores["repeat_rate"] > 0.3
    assert scores["prefers_chosen"] < 0.5 < scores["aligned_prefers_chosen"]
    assert scores["aligned_repeat_rate"] <= 0.02
    # the reward model "ranks pairs it never saw"; the wrong reply "wins about as often"
    assert page["reward"].accuracy(page["test_c"], page["test_r"]) > 0.9
    assert 0.3 < (page["wrong"] > page["right"]).mean() < 0.7
    # DPO's first step: the policy is the reference, the loss log 2
    # "a small change on top of a big one"
    kl = page["preference"].kl_to_reference
    assert kl(page["logits_dpo"], page["logits_sft"], page["mask"]) < kl(
        page["logits_sft"], page["logits_pre"], page["mask"])
