"""The book's own GPT (lmlab.book_model): its tokenizer, its training, saving and loading.

The first tests train a tiny model on a short text in a second, so they also run inside
Pyodide. Those marked `built` check the model the build trains (build/data.py, data set
book_gpt): the fixture prepares it, which trains it when .cache/ does not have it yet (a few
minutes), so they run on CPython only.
"""

import ast
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from lmlab import bpe
from lmlab.book_model import (
    BOOK_MODEL,
    load,
    mean_loss,
    prompt_ids,
    round_to_float16,
    save,
    split_text,
    train_book_model,
)
from lmlab.gpt import parameter_counts

REPO = Path(__file__).resolve().parents[2]
TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. "
    "resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n"
) * 6
TINY = dataclasses.replace(BOOK_MODEL, num_merges=40, block_size=16, n_layer=2, n_head=2,
                           n_embd=16, steps=40, batch_size=4, warmup_steps=5, held_out=0.2)


@pytest.fixture(scope="module")
def tiny():
    return train_book_model(TEXT, TINY)


def test_merge_pair_array_equals_merge_pair():
    rng = np.random.default_rng(0)
    for _ in range(300):
        ids = rng.integers(0, 3, size=rng.integers(0, 30)).tolist()
        pair = tuple(int(i) for i in rng.integers(0, 3, size=2))
        assert bpe.merge_pair_array(np.array(ids, dtype=np.int64), pair, 9).tolist() == \
            bpe.merge_pair(ids, pair, 9), (ids, pair)


def test_encode_fast_equals_encode():
    rng = np.random.default_rng(1)
    for _ in range(20):
        text = "".join(rng.choice(list("ab c\né"), size=200))
        merges = bpe.train_bpe(text[:120], 15)
        assert bpe.encode_fast(text, merges).tolist() == bpe.encode(text, merges)


def test_the_book_model_has_about_half_a_million_parameters():
    assert BOOK_MODEL.config().vocab_size == 512
    assert 300_000 < parameter_counts(BOOK_MODEL.config())["total"] < 600_000


def test_the_held_out_text_is_the_tail_starting_at_a_line():
    train, test = split_text(TEXT, 0.2)
    assert train + test == TEXT and train.endswith("\n")
    assert abs(len(test) - 0.2 * len(TEXT)) < 80


def test_tokenizer_round_trips_and_compresses(tiny):
    ids = tiny.tokenizer.encode(TEXT)
    assert tiny.tokenizer.decode(ids) == TEXT
    assert len(ids) < 0.6 * len(TEXT.encode())
    assert tiny.tokenizer.vocab_size == 256 + 40
    assert "".join(tiny.tokenizer.tokens("Citizen: you")) == "Citizen: you"
    assert tiny.tokenizer.decode(tiny.tokenizer.encode("é, ü")) == "é, ü"  # any text: bytes


def test_training_is_deterministic_and_learns(tiny):
    again = train_book_model(TEXT, TINY)
    assert again.losses == tiny.losses
    assert np.mean(tiny.losses[-5:]) < np.mean(tiny.losses[:5]) - 0.5
    assert tiny.losses[0] == pytest.approx(math.log(296), abs=0.1)  # starts near uniform


def test_saved_logits_are_the_trained_models_and_loading_rounds_to_float16(tiny):
    loaded = load(save(tiny))
    ids = prompt_ids(tiny)[None]
    trained_logits, _ = tiny.model.forward(ids)
    np.testing.assert_array_equal(loaded.prompt_logits, trained_logits[0].astype(np.float32))
    assert loaded.losses == pytest.approx(tiny.losses)
    assert loaded.settings == TINY
    assert loaded.tokenizer.merges == tiny.tokenizer.merges
    # Loading gives exactly the float16-rounded weights: the same logits as rounding in place.
    rounded = train_book_model(TEXT, TINY)
    round_to_float16(rounded.model)
    as_float64 = load(save(tiny), np.float64)
    np.testing.assert_allclose(as_float64.model.forward(ids)[0], rounded.model.forward(ids)[0],
                               rtol=0, atol=1e-12)
    # float32 weights hold the same float16 values; only the arithmetic is float32.
    np.testing.assert_allclose(loaded.model.forward(ids)[0], rounded.model.forward(ids)[0],
                               rtol=0, atol=1e-4)


def test_generation_with_the_kv_cache_equals_without(tiny):
    prompt = tiny.tokenizer.encode("First Citizen:\n")
    for temperature in (0, 1.0):
        # 30 new tokens from a 4-token prompt pass block_size 16, so the context slides too.
        cached = tiny.model.generate(prompt, 30, temperature=temperature, seed=3)
        plain = tiny.model.generate(prompt, 30, temperature=temperature, seed=3,
                                    use_cache=False)
        assert cached.tolist() == plain.tolist()


@pytest.mark.parametrize("start, code", [("book_model", "BOOK_GPT_CODE"),
                                         ("book_chat", "BOOK_CHAT_CODE")])
def test_built_models_are_retrained_when_any_module_they_run_changes(start, code):
    """BOOK_GPT_CODE and BOOK_CHAT_CODE, the files whose change makes the build train again,
    list every lmlab module that lmlab.book_model (lmlab.book_chat) imports, directly or not."""
    sys.path.insert(0, str(REPO / "build"))
    import data as book_data

    found, todo = set(), [start]
    while todo:
        name = todo.pop()
        found.add(name)
        tree = ast.parse((REPO / "py" / "lmlab" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.col_offset == 0):
                continue
            if node.module == "lmlab":  # from lmlab import finetune, preference
                modules = [alias.name for alias in node.names]
            elif node.module.startswith("lmlab."):
                modules = [node.module.removeprefix("lmlab.")]
            else:
                modules = []
            todo += [m for m in modules if m not in found]
    assert {f"py/lmlab/{m}.py" for m in found} == set(getattr(book_data, code))


# The model the build trains.


@pytest.fixture(scope="module")
def built():
    if sys.platform != "emscripten":  # Pyodide reads what CPython's build made
        sys.path.insert(0, str(REPO / "build"))
        import data as book_data

        book_data.prepare(["book_gpt"])
    from lmlab import data

    return data.book_gpt(), data.read_text("shakespeare.txt")


@pytest.mark.built
def test_built_model_logits_match_the_trained_model(built):
    book, _ = built
    logits, _ = book.model.forward(prompt_ids(book)[None])
    # Each weight moved by at most 2^-11 of itself when rounded to float16; the trained model's
    # logits reach about 15 in size, and moved by 0.011 at most (measured on the built model).
    assert np.abs(book.prompt_logits).max() > 1
    np.testing.assert_allclose(logits[0], book.prompt_logits, rtol=0, atol=0.02)
    assert (logits[0].argmax(-1) == book.prompt_logits.argmax(-1)).all()


@pytest.mark.built
def test_built_tokenizer_round_trips_the_text(built):
    book, text = built
    ids = book.tokenizer.encode(text)
    assert book.tokenizer.vocab_size == 512
    assert book.tokenizer.decode(ids) == text
    assert len(ids) < 0.55 * len(text.encode())  # 256 merges halve the text


@pytest.mark.built
def test_built_model_beats_uniform_and_bigram_on_held_out_text(built):
    book, text = built
    _, test_text = split_text(text, book.settings.held_out)
    # The stored figure is the trained model's; the float16 weights give nearly the same.
    loss = mean_loss(book.model, book.tokenizer.encode(test_text))
    assert loss == pytest.approx(book.held_out_loss, abs=0.01)
    assert book.held_out_loss < math.log(512) - 2.0  # uniform: ln 512 = 6.24 nats
    assert book.held_out_loss < book.bigram_loss - 0.2


@pytest.mark.built
def test_built_model_generates_the_same_with_and_without_the_kv_cache(built):
    book, _ = built
    prompt = prompt_ids(book)
    for temperature in (0, 0.8):
        cached = book.model.generate(prompt, 80, temperature=temperature, seed=0)
        plain = book.model.generate(prompt, 80, temperature=temperature, seed=0,
                                    use_cache=False)
        assert cached.tolist() == plain.tolist()
