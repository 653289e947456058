"""Every number in the prose of "Talk to a real model", read from the model file and the page's
own cells (run with the kernel the book uses), and the statements it makes in words."""

import re

import numpy as np
import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab.gguf import TYPES_BY_NAME
from lmlab.sampling import sample
from printed import fixed

PATH = REPO / "web/chapters/90-talk-to-a-real-model.md"
CHAPTER = load(PATH)

GIVENS = [
    "SmolLM2-135M-Instruct", "SmolLM2's makers", "released by Hugging Face in 2024",
    "chapter 1's loop", "chapter 1's temperature explorer", "(RoPE, chapter 5)",
    "the GPT of chapter 8", "most open models since 2023", "a 32-bit float",
    "Temperature 0.2 and top-p 0.9",  # the model card's suggestion, as the cell uses them
    "SmolLM2", "Chapter 4 ended with a promise", "a base model does\n(chapter 1)",
    "after \"17 + 28 =\"", "\"17 + 28 =\" followed by a number",
]

# Float32 through 30 layers: CPython's einsum and Pyodide's sum in other orders, and the last
# digits of a probability differ by about 1e-6 of it. A printed value must be further than that
# from a rounding edge to read the same in the browser.
FLOAT32_MARGIN = 1e-4

pytestmark = pytest.mark.pretrained


@pytest.fixture(scope="module")
def page(smollm2_file) -> dict:
    return run_cells(CHAPTER)


def claims(page: dict, smollm2) -> list[str]:
    config = page["model"].config
    gguf = smollm2[0]
    kinds = {info.type_name for info in gguf.tensors.values() if len(info.shape) == 2}
    block = TYPES_BY_NAME["Q4_1"][1]
    assert kinds == {"Q4_1", "Q8_0"} and TYPES_BY_NAME["Q8_0"][1] == block
    cosine, river, money, stream = page["cosine"], page["river"], page["money"], page["stream"]
    last = config.n_layers
    small_sum = page["continue_text"]("17 + 28 =").split()[0].rstrip(".")
    return [
        f"The model writes {small_sum} after \"17 + 28 =\"",
        f"though the answer is {4738 * 2951:,}",
        f"its {config.n_heads} query heads share\n{config.n_kv_heads} key/value heads",
        f"cosine {fixed(cosine(river[0], money[0]), 3, FLOAT32_MARGIN)}. As",
        f"their cosine has fallen to {fixed(cosine(river[last], money[last]), 3, FLOAT32_MARGIN)}",
        f"stay close, at {fixed(cosine(river[last], stream[last]), 3, FLOAT32_MARGIN)}",
        "The file stores most weights in 4 bits: blocks of "
        f"{block} numbers share one scale and one minimum",
    ]


def test_every_claim_is_in_the_prose(page, smollm2):
    assert missing_phrases(CHAPTER, claims(page, smollm2)) == []


def test_no_number_in_the_prose_goes_unchecked(page, smollm2):
    assert unchecked_numbers(CHAPTER, claims(page, smollm2) + GIVENS) == []


def test_statements_in_words(page, smollm2):
    model, tokenizer = page["model"], page["tokenizer"]
    gguf = smollm2[0]
    # "most weights in 4 bits": Q4_1 holds most of the numbers
    counts: dict[str, int] = {}
    for info in gguf.tensors.values():
        counts[info.type_name] = counts.get(info.type_name, 0) + int(np.prod(info.shape))
    assert counts["Q4_1"] > sum(counts.values()) / 2
    # "the KV cache three times smaller", "about five times more memory in the page than on disk"
    assert model.config.n_heads // model.config.n_kv_heads == 3
    in_page = sum(w.nbytes for w in model.w.values())
    assert round(in_page / gguf.data.nbytes) == 5
    # '"The" is barely ahead of "L"', and the seed decides between English and French
    probs = page["probs"]  # the third cell's: what comes after the chat prompt
    first, second = np.argsort(-probs)[:2]
    assert [tokenizer.decode([int(first)]), tokenizer.decode([int(second)])] == ["The", "L"]
    assert probs[first] - probs[second] < 0.02
    ids = page["ids"]  # the chat prompt of the second cell
    starts = set()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        token = int(sample(model.forward(ids)[-1], temperature=0.2, top_p=0.9, rng=rng))
        starts.add(tokenizer.decode([token]))
    assert starts == {"The", "L"}
    # Paris and cold as expected; the sum wrong; the product not a number at all
    said = {text: page["continue_text"](text) for text in
            ["The Eiffel Tower is in the city of", "The opposite of hot is", "4738 * 2951 ="]}
    assert said["The Eiffel Tower is in the city of"].startswith(" Paris")
    assert said["The opposite of hot is"].startswith(" cold")
    assert re.match(r" \d+ \* \d", said["4738 * 2951 ="])  # another product, not an answer
    assert page["continue_text"]("17 + 28 =").split()[0].rstrip(".") != str(17 + 28)
    # "drift apart" as the layers read the context; the two banks of water stay closer throughout
    cosine, river, money, stream = page["cosine"], page["river"], page["money"], page["stream"]
    assert cosine(river[0], money[0]) == pytest.approx(1) == cosine(river[0], stream[0])
    assert cosine(river[-1], money[-1]) < cosine(river[5], money[5]) < cosine(river[1], money[1])
    assert all(cosine(river[i], stream[i]) > cosine(river[i], money[i]) for i in range(5, 31))


def test_the_printed_figures_read_the_same_in_the_browser(page):
    cosine, river = page["cosine"], page["river"]
    for layer in [0, 1, 5, 10, 20, 30]:
        for other in (page["money"], page["stream"]):
            fixed(cosine(river[layer], other[layer]), 3, relative_margin=FLOAT32_MARGIN)
    probs = page["probs"]  # the third cell's: what comes after the chat prompt
    for i in np.argsort(-probs)[:5]:
        fixed(probs[i], 3, relative_margin=FLOAT32_MARGIN)
