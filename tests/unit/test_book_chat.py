"""The book's chat model (lmlab.book_chat): fine-tuning, preference pairs, DPO, saving and loading.

The first tests run the whole recipe on a tiny model in a few seconds, so they also run inside
Pyodide. Those marked `built` check the models the build trains (data set book_chat).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from lmlab import book_chat, finetune
from lmlab.book_model import BOOK_MODEL, train_book_model

REPO = Path(__file__).resolve().parents[2]
SCENE = (
    "FIRST CITIZEN:\nBefore we proceed any further, hear me speak.\n\nALL:\nSpeak, speak.\n\n"
    "FIRST CITIZEN:\nYou are all resolved rather to die than to famish?\n\nALL:\nResolved. "
    "resolved.\n\nFIRST CITIZEN:\nFirst, you know Caius Marcius is chief enemy to the people.\n\n"
    "ALL:\nWe know't, we know't.\n\n"
)
TINY_GPT = dataclasses.replace(BOOK_MODEL, num_merges=40, block_size=64, n_layer=1, n_head=2,
                               n_embd=16, steps=30, batch_size=4, warmup_steps=5, held_out=0.2)
TINY_CHAT = book_chat.BookChatSettings(steps=6, batch_size=2, preference_pairs=4, dpo_steps=3,
                                       dpo_pairs=2)


@pytest.fixture(scope="module")
def tiny():
    book = train_book_model(SCENE * 6, TINY_GPT)
    return book, book_chat.train_book_chat(book, SCENE * 6, TINY_CHAT)


def test_the_recipe_fine_tunes_then_aligns_a_copy(tiny):
    book, chat = tiny
    assert chat.model is book.model and chat.model.config.vocab_size == 40 + 256 + 3
    assert len(chat.losses) == 6 and len(chat.dpo_losses) == len(chat.dpo_margins) == 3
    assert chat.dpo_losses[0] == pytest.approx(np.log(2))  # the policy starts as the reference
    differs = [not np.array_equal(a, b) for (_, a, _), (_, b, _) in
               zip(chat.model.named_parameters(), chat.aligned.named_parameters(), strict=True)]
    assert any(differs)


def test_preference_pairs_are_the_plays_reply_over_the_models_greedy_one(tiny):
    book, chat = tiny
    replies = dict(book_chat.split(book, SCENE * 6)[0])
    assert chat.triples
    for line, chosen, rejected in chat.triples:
        assert chosen == replies[line]
        assert rejected == finetune.reply(chat.model, chat.tokenizer, line, max_new_tokens=64)
        assert rejected != chosen


def test_saving_and_loading_keeps_both_models_and_everything_measured(tiny):
    book, chat = tiny
    loaded = book_chat.load(book_chat.save(chat), book, np.float64)
    for model, again in [(chat.model, loaded.model), (chat.aligned, loaded.aligned)]:
        for (name, a, _), (_, b, _) in zip(model.named_parameters(), again.named_parameters(),
                                           strict=True):
            np.testing.assert_array_equal(a.astype(np.float16), b, err_msg=name)
    assert loaded.triples == chat.triples and loaded.test_triples == chat.test_triples
    assert loaded.scores == chat.scores and loaded.settings == chat.settings
    assert loaded.losses == pytest.approx(chat.losses, rel=1e-12)


def test_repetition_is_a_word_three_times_in_a_row():
    assert book_chat.REPEAT.search("Nay, sir, sir, sir.")
    assert book_chat.REPEAT.search("No, no, NO!")
    assert not book_chat.REPEAT.search("Sir, I say, sir, to you, sir.")
    assert not book_chat.REPEAT.search("Speak, speak.")


# The models the build trains.


@pytest.fixture(scope="module")
def built():
    if sys.platform != "emscripten":
        sys.path.insert(0, str(REPO / "build"))
        import data as book_data

        book_data.prepare(["book_chat"])
    from lmlab import book_model, data

    book = book_model.load(data.path("book-gpt.npz"), np.float64)
    text = data.read_text("shakespeare.txt")
    return book, book_chat.load(data.path("book-chat.npz"), book, np.float64), text


@pytest.mark.built
def test_built_scores_are_what_the_shipped_models_compute(built):
    """The chapter prints the scores stored in the file; recomputed from the file's weights.
    Losses agree to far below the 4 decimals printed. A rate counts greedy replies, and a greedy
    choice between two nearly tied tokens can go either way with another machine's rounding, so
    a rate may differ by one reply in a hundred."""
    book, chat, text = built
    again = book_chat.score(book, chat, text)
    for name in ("answer_loss", "text_loss"):
        assert again[name] == pytest.approx(chat.scores[name], abs=1e-6), name
    for name in ("prefers_chosen", "aligned_prefers_chosen", "repeat_rate", "aligned_repeat_rate"):
        assert again[name] == pytest.approx(chat.scores[name], abs=0.011), name
    assert again["test_conversations"] == chat.scores["test_conversations"]


@pytest.mark.built
def test_built_chat_model_learned_the_format_and_dpo_the_preference(built):
    book, chat, _ = built
    s = chat.scores
    assert s["answer_loss"] < s["answer_loss_before"] - 1  # the answers became far likelier
    assert s["text_loss"] > s["text_loss_before"]  # and plain text a little less: forgetting
    assert s["aligned_prefers_chosen"] > s["prefers_chosen"] + 0.5
    assert s["aligned_repeat_rate"] < s["repeat_rate"] / 2
    prompt = chat.tokenizer.prompt("What is your name?")
    ids = chat.model.generate(prompt, 64 - len(prompt), temperature=0)[len(prompt):]
    assert chat.tokenizer.special["<|end|>"] in ids  # it ends its turn before running out of room
