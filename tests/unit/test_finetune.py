"""lmlab.finetune: the chat template, the special tokens, the loss mask and a fine-tuning step."""

import numpy as np
import pytest
from lmlab import finetune
from lmlab.book_model import BookTokenizer
from lmlab.gpt import GPT, GPTConfig
from lmlab.losses import cross_entropy
from lmlab.optim import AdamW

PLAY = """FIRST CITIZEN:
Before we proceed any further, hear me speak.

ALL:
Speak, speak.

FIRST CITIZEN:
You are all resolved rather to die than to famish?

FIRST CITIZEN:
I say again.

ALL:
Resolved. resolved.
"""


@pytest.fixture(scope="module")
def tokenizer() -> finetune.ChatTokenizer:
    return finetune.ChatTokenizer(BookTokenizer.train(PLAY, 20))


def test_speeches_and_dialogue_pairs_follow_the_speakers():
    assert finetune.speeches(PLAY)[1] == ("ALL", "Speak, speak.")
    # the third and fourth speeches are the same speaker's, so they make no pair
    assert finetune.dialogue_pairs(PLAY) == [
        ("Before we proceed any further, hear me speak.", "Speak, speak."),
        ("Speak, speak.", "You are all resolved rather to die than to famish?"),
        ("I say again.", "Resolved. resolved."),
    ]


def test_special_tokens_follow_the_vocabulary_and_no_text_can_make_them(tokenizer):
    V = tokenizer.base.vocab_size
    assert tokenizer.special == {"<|user|>": V, "<|assistant|>": V + 1, "<|end|>": V + 2}
    assert tokenizer.vocab_size == V + 3
    typed = tokenizer.encode("Speak <|end|> now")
    assert typed.max() < V  # the characters stay characters
    assert tokenizer.decode(typed) == "Speak <|end|> now"


def test_an_example_marks_the_reply_and_its_end_as_the_answer(tokenizer):
    ids, answer = tokenizer.example("Hear me.", "Speak.")
    line, reply = tokenizer.encode("Hear me."), tokenizer.encode("Speak.")
    user, assistant, end = tokenizer.special.values()
    assert ids.tolist() == [user, *line, assistant, *reply, end]
    assert answer.tolist() == [False] * (len(line) + 2) + [True] * (len(reply) + 1)
    assert tokenizer.decode(ids) == "<|user|>Hear me.<|assistant|>Speak.<|end|>"


def test_a_batch_shifts_by_one_pads_and_masks_all_but_the_answers(tokenizer):
    short, long = tokenizer.example("Hi.", "Ay."), tokenizer.example("Hear me speak.", "Speak.")
    inputs, targets, mask = finetune.batch([short, long])
    T = len(long[0]) - 1
    assert inputs.shape == targets.shape == mask.shape == (2, T)
    for row, (ids, answer) in enumerate([short, long]):
        n = len(ids) - 1
        assert inputs[row, :n].tolist() == ids[:-1].tolist()
        assert targets[row, :n].tolist() == ids[1:].tolist()
        assert mask[row, :n].tolist() == answer[1:].astype(float).tolist()
        assert not mask[row, n:].any()
    # the loss counts exactly the answer tokens: the reply and <|end|>, nothing of the line
    assert mask.sum() == sum(answer.sum() for _, answer in [short, long])


def test_new_tokens_start_at_the_mean_row_and_leave_the_old_logits_alone():
    model = GPT(GPTConfig(30, 16, 2, 2, 8), rng=0, dtype=np.float64)
    old = model.wte.params["weight"].copy()
    ids = np.array([[1, 5, 7, 2]])
    before, _ = model.forward(ids)
    new = finetune.add_special_tokens(model, 3)
    assert new.tolist() == [30, 31, 32]
    assert model.config.vocab_size == 33 and model.wte.num_embeddings == 33
    weight = model.wte.params["weight"]
    np.testing.assert_array_equal(weight[:30], old)
    np.testing.assert_allclose(weight[30:], np.repeat(old.mean(axis=0, keepdims=True), 3, 0))
    after, _ = model.forward(ids)
    np.testing.assert_allclose(after[..., :30], before, rtol=1e-12)
    # the tied read-out learns the new rows too: their gradient is there, of the new shape
    _, loss = model.forward(np.array([[1, 31]]), np.array([[31, 32]]))
    model.backward()
    assert model.wte.grads["weight"].shape == (33, 8) and model.wte.grads["weight"][31:].any()


def test_a_step_trains_on_the_answers_only():
    model = GPT(GPTConfig(12, 16, 1, 2, 8), rng=0, dtype=np.float64)
    inputs = np.array([[1, 2, 3, 4]])
    targets = np.array([[2, 3, 4, 5]])
    mask = np.array([[0, 0, 1, 1]])
    logits, _ = model.forward(inputs)
    expected, _ = cross_entropy(logits[:, 2:], targets[:, 2:])
    optimizer = AdamW(model, lr=1e-2)
    assert finetune.sft_step(model, optimizer, inputs, targets, mask) == pytest.approx(expected)
    _, after = model.forward(inputs[:, :], targets, loss_mask=mask)
    assert after < expected


def test_reply_stops_at_the_end_token(tokenizer):
    model = GPT(GPTConfig(tokenizer.vocab_size, 32, 1, 2, 8), rng=0, dtype=np.float64)
    end = tokenizer.special["<|end|>"]
    # make <|end|> the likeliest token everywhere: the final layer norm shifts every feature up
    # by 1, and the (tied) read-out row of <|end|> is large and positive
    model.ln_f.params["bias"][:] = 1.0
    model.wte.params["weight"][end] = 5.0
    assert finetune.reply(model, tokenizer, "Hear me.") == ""


def test_the_chat_tokenizer_encodes_as_the_book_tokenizer_does(tokenizer):
    for text in [PLAY, "Speak, speak.", "", "é and ü: bytes too", PLAY[:37]]:
        assert tokenizer.encode(text).tolist() == tokenizer.base.encode(text).tolist()
