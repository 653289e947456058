"""Every number in chapter 1's prose, recomputed with lmlab from the chapter's own cells."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import generation, sampling
from printed import RELATIVE_MARGIN, fixed

PATH = REPO / "web/chapters/01-what-is-a-language-model.md"
CHAPTER = load(PATH)

GIVENS = [
    "offers three guesses: *5*, *a*, *10*",
    "Chapter 2", "Chapter 3", "Chapter 9", "(90-talk-to-a-real-model.html)",
    "$$P(x_t \\mid x_1, x_2, \\dots, x_{t-1})$$",
    "\\sum_{j=1}^{V}",
    'continue "2 + 3 =" may well answer "23"',
    "$T < 1$", "$T > 1$", "$T = 1$", "$T = 0.1$", "$T = 3$", "$k = 3$", "$p = 0.9$",
    "With seed 0 the explorer", "Set the temperature to 0.1", "At 3 the branches",
    "Raise **Branches** to 4",
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def nucleus_size(logits, p: float, temperature: float = 1.0) -> int:
    """How many tokens top-p keeps; refused when a running sum of the ranked probabilities lies
    so close to p that another machine's last bits could keep one token more or fewer."""
    scaled = np.asarray(logits) / temperature
    running = np.cumsum(np.sort(sampling.softmax(scaled))[::-1])
    on_edge = np.abs(running - p).min() <= RELATIVE_MARGIN
    assert not on_edge, f"p = {p} is on a boundary at T = {temperature}"
    return int(np.isfinite(sampling.top_p_filter(scaled, p)).sum())


def claims(page: dict, gpt2_vocabulary: int) -> list[str]:
    tokens, logits = page["tokens"], page["logits"]
    probs = sampling.softmax(logits)
    top = int(probs.argmax())
    second, third = np.argsort(-probs)[1:3]
    stats = {t: sampling.temperature_explorer(logits.tolist(), t) for t in (0.1, 1.0, 3.0)}
    top3 = sampling.softmax(sampling.top_k_filter(logits, 3))
    kept = np.flatnonzero(top3)
    sentence = page["sentence"]
    two_words = [(first["word"], second["word"], second["path_prob"])
                 for first in page["tree"]["children"] for second in first["children"]]
    likeliest = max(two_words, key=lambda path: path[2])
    V, d = page["V"], page["d"]
    digits = 10
    return [
        f"## From ten digits to {V:,} tokens",
        f"with one class per token: GPT-2 is a classifier\nwith {V:,} classes",
        f"the {d} numbers GPT-2 has at the end of its network to {V:,} logits takes {d} × {V:,} =\n"
        f"{d * V:,} weights, where ten digits from the same {d} numbers would take {d * digits:,}",
        f"writes: {V:,} exponentials where the digit classifier needs {digits}, about "
        f"{round(V / digits):,} times the work",
        f'The likeliest continuation, "the {likeliest[0]} {likeliest[1]}", has probability '
        f"{fixed(likeliest[2], 2)}",
        f"add up to {fixed(sum(path[2] for path in two_words), 2)}",
        f"GPT-2's vocabulary has {gpt2_vocabulary:,} tokens",
        f"one for each of its {gpt2_vocabulary:,} tokens",
        f'"{tokens[top]}" is the favourite with probability {fixed(probs[top], 3)}',
        f'"{tokens[second]}" ({fixed(probs[second], 3)}) and '
        f'"{tokens[third]}" ({fixed(probs[third], 3)})',
        f"One sentence of {len(sentence)} tokens gives {len(sentence) - 1} examples",
        f'At $T = 0.1$ "{tokens[top]}" takes {fixed(stats[0.1]["top_prob"], 3)} of the '
        "probability",
        f'$T = 3$ it keeps only {fixed(stats[3.0]["top_prob"], 3)}',
        f'For our logits it is {fixed(stats[1.0]["effective_tokens"], 2)} at $T = 1$ (entropy '
        f'{fixed(stats[1.0]["entropy"], 2)} nats), '
        f'{fixed(stats[0.1]["effective_tokens"], 2)} at $T = 0.1$, '
        f'and {fixed(stats[3.0]["effective_tokens"], 2)} at $T = 3$, close to the {len(tokens)} '
        "candidates there are",
        "With $k = 3$ our distribution becomes "
        + ", ".join(f'"{tokens[i]}" {fixed(top3[i], 3)}' for i in kept[:-1])
        + f' and "{tokens[kept[-1]]}" {fixed(top3[kept[-1]], 3)}',
        f"With $p = 0.9$ the open context keeps {nucleus_size(logits, 0.9)} tokens and "
        f'"Once upon a" keeps {nucleus_size(page["once_logits"], 0.9)}',
        f"the same $p$ keeps {nucleus_size(logits, 0.9, 0.5)} tokens at $T = 0.5$ and "
        f"{nucleus_size(logits, 0.9, 2.0)} at $T = 2$",
    ]


@pytest.fixture(scope="module")
def gpt2_vocabulary(gpt2_files) -> int:
    return len(json.loads(gpt2_files["encoder.json"].read_text()))


def test_the_classes_cell_takes_gpt2s_vocabulary_from_lmlab(page, gpt2_vocabulary):
    """V in the cell is lmlab's GPT-2 setting, and it is the size of GPT-2's own tokenizer file;
    the cell's softmax gives distributions over both sizes."""
    assert page["V"] == gpt2_vocabulary
    code = next(code for code, _ in CHAPTER.cells if "GPT2_SMALL" in code)
    assert "V = GPT2_SMALL.vocab_size" in code and "50257" not in code.replace(",", "")
    for size in (10, page["V"]):
        p = page["softmax"](np.random.default_rng(1).normal(size=size))
        assert p.shape == (size,) and abs(p.sum() - 1) < 1e-12 and (p > 0).all()


def test_every_claim_is_in_the_prose(page, gpt2_vocabulary):
    assert missing_phrases(CHAPTER, claims(page, gpt2_vocabulary)) == []


def test_no_number_in_the_prose_goes_unchecked(page, gpt2_vocabulary):
    assert unchecked_numbers(CHAPTER, claims(page, gpt2_vocabulary) + GIVENS) == []


def test_statements_in_words(page):
    probs = sampling.softmax(page["logits"])
    assert probs.max() < 1 / 3  # "it gets less than a third of the total"
    # "sampling has become greedy decoding": the widget's first draws at T = 0.1 are all the top
    # token, as the chapter tells the reader to try.
    draws = {sampling.sample_token(page["logits"].tolist(), 0.1, seed) for seed in range(20)}
    assert draws == {int(probs.argmax())}
    # "greedy decoding goes round that circle forever": the->cat->sat->on->the, again and again.
    context = ["the"]
    for _ in range(12):
        options = page["next_word"][context[-1]]
        context.append(list(options)[int(sampling.greedy(np.log(list(options.values()))))])
    assert context[:5] == ["the", "cat", "sat", "on", "the"] and context[4:] == context[:-4]


def test_the_widget_shows_the_cells_example(page):
    match = re.search(r"^::: widget temperature-explorer (.*)$", PATH.read_text(), re.M)
    config = json.loads(match.group(1))
    assert config["tokens"] == page["tokens"]
    assert config["kwargs"]["logits"] == page["logits"].tolist()
    assert callable(page[config["reader"]["fn"]])


def test_the_generation_explorer_replays_the_loop_cell():
    """The widget runs lmlab.generation on the chapter's own table and, with seed 0, draws what
    the loop cell drew ("the same words as the loop cell above")."""
    match = re.search(r"^::: widget generation-explorer (.*)$", PATH.read_text(), re.M)
    kwargs = json.loads(match.group(1))["kwargs"]
    # The page as it stands right after the loop cell (later cells reuse its names).
    loop = next(i for i, (code, _) in enumerate(CHAPTER.cells) if "for step in range" in code)
    after_loop = run_cells(replace(CHAPTER, cells=CHAPTER.cells[: loop + 1]))
    assert kwargs["table"] == after_loop["next_word"]
    assert kwargs["prompt"] == after_loop["prompt"] and kwargs["seed"] == 0
    trace = generation.generation_trace(kwargs["table"], kwargs["prompt"], kwargs["depth"], 1.0, 0)
    drawn = after_loop["context"][len(after_loop["prompt"]):]
    assert [step["word"] for step in trace] == drawn[: kwargs["depth"]]
