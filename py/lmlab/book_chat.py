"""The book's chat model: the book's GPT (lmlab.book_model) instruction-tuned on the play's own
dialogue (lmlab.finetune), trained once by the book's build, like the GPT itself.

Everything about the run is in BOOK_CHAT. Fine-tuning takes about half a minute of CPython, but a
step of it in the browser's numpy is ten times slower than on the build machine, so a page shows a
few steps live and loads the rest. Training is in float64 for the reason the GPT's is: the numbers
the chapter prints must not depend on the machine that built the book.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lmlab import finetune
from lmlab.book_model import (
    BookModel,
    float16_weights,
    mean_loss,
    read_settings,
    read_weights,
    round_to_float16,
    settings_arrays,
    split_text,
)
from lmlab.gpt import GPT
from lmlab.optim import AdamW

Example = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class BookChatSettings:
    steps: int = 150
    batch_size: int = 16
    lr: float = 3e-4  # a tenth of pretraining's peak: enough to learn the format, forgetting little
    max_grad_norm: float = 1.0
    seed: int = 0


BOOK_CHAT = BookChatSettings()


def conversations(text: str, tokenizer: finetune.ChatTokenizer,
                  block_size: int) -> list[Example]:
    """The text's dialogue pairs as training examples, those that fit the model's context."""
    examples = (tokenizer.example(line, reply) for line, reply in finetune.dialogue_pairs(text))
    return [ex for ex in examples if len(ex[0]) <= block_size + 1]


def answer_loss(model: GPT, examples: list[Example], batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per token) on the answers' tokens only, as the fine-tuning loss
    counts them."""
    total = count = 0.0
    for i in range(0, len(examples), batch_size):
        inputs, targets, mask = finetune.batch(examples[i : i + batch_size])
        _, loss = model.forward(inputs, targets, loss_mask=mask)
        total, count = total + loss * mask.sum(), count + mask.sum()
    return total / count


@dataclass
class BookChat:
    model: GPT  # the fine-tuned GPT, vocabulary 512 + 3
    tokenizer: finetune.ChatTokenizer
    losses: list[float]  # the fine-tuning loss at every step
    # nats per token on the held-out part of the text, before and after fine-tuning:
    answer_loss_before: float  # on the held-out conversations' answers
    answer_loss: float
    text_loss_before: float  # on the held-out text itself, as pretraining scored it
    text_loss: float
    settings: BookChatSettings


def train_book_chat(book: BookModel, text: str, settings: BookChatSettings = BOOK_CHAT,
                    progress: Callable[[int, float], None] | None = None) -> BookChat:
    """Fine-tune the book's GPT (changed in place) on the dialogue of the text's training part;
    score it on the held-out part's dialogue and text before and after."""
    model, block_size = book.model, book.settings.block_size
    tokenizer = finetune.ChatTokenizer(book.tokenizer)
    train_text, test_text = split_text(text, book.settings.held_out)
    train = conversations(train_text, tokenizer, block_size)
    test = conversations(test_text, tokenizer, block_size)
    test_ids = book.tokenizer.encode(test_text)
    finetune.add_special_tokens(model, len(finetune.SPECIAL_TOKENS))
    before = answer_loss(model, test), mean_loss(model, test_ids)
    rng = np.random.default_rng(settings.seed)
    optimizer = AdamW(model, lr=settings.lr, betas=(0.9, 0.95), weight_decay=0.0)
    losses = []
    for step in range(settings.steps):
        rows = rng.choice(len(train), settings.batch_size, replace=False)
        inputs, targets, mask = finetune.batch([train[i] for i in rows])
        losses.append(finetune.sft_step(model, optimizer, inputs, targets, mask,
                                        settings.max_grad_norm))
        if progress is not None:
            progress(step, losses[-1])
    round_to_float16(model)  # score the weights the file will hold
    return BookChat(model, tokenizer, losses, before[0], answer_loss(model, test), before[1],
                    mean_loss(model, test_ids), settings)


def save(chat: BookChat) -> bytes:
    """The fine-tuned weights (float16), the settings, the loss trace and the scores, as .npz.
    The tokenizer is the book GPT's (its file) plus the special tokens."""
    out = io.BytesIO()
    np.savez_compressed(
        out, **float16_weights(chat.model), **settings_arrays(chat.settings),
        losses=np.array(chat.losses, dtype=np.float32),
        scores=np.array([chat.answer_loss_before, chat.answer_loss, chat.text_loss_before,
                         chat.text_loss]),
    )
    return out.getvalue()


def load(source: bytes | str, book: BookModel, dtype: type = np.float32) -> BookChat:
    """A BookChat from save's bytes or path; ``book`` (lmlab.book_model.load) gives the
    tokenizer and the shape the fine-tuned weights fit."""
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source) as f:
        settings = read_settings(f, BookChatSettings)
        model = GPT(book.settings.config(), rng=0, dtype=dtype)
        finetune.add_special_tokens(model, len(finetune.SPECIAL_TOKENS))
        read_weights(f, model)
        return BookChat(model, finetune.ChatTokenizer(book.tokenizer), f["losses"].tolist(),
                        *map(float, f["scores"]), settings)
