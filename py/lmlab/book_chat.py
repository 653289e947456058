"""The book's chat model: the book's GPT (lmlab.book_model) instruction-tuned on the play's own
dialogue (lmlab.finetune), then taught a preference with DPO (lmlab.preference), trained once by
the book's build, like the GPT itself.

The preference stands in for what human raters would say: the play's own reply to a line is
preferred to the fine-tuned model's greedy reply to it, which often repeats one word over and over
("Nay, sir, sir, sir, sir."). Pairs of a human-written answer over the model's own are a common
way to make preference data (as in SPIN, Chen and colleagues, 2024); the rule makes what DPO
should change known in advance, so it can be measured: how often the greedy replies repeat.

Everything about the run is in BOOK_CHAT. Fine-tuning takes about half a minute of CPython, but a
step of it in the browser's numpy is ten times slower than on the build machine, so a page shows a
few steps live and loads the rest. Training is in float64 for the reason the GPT's is: the numbers
the chapter prints must not depend on the machine that built the book.
"""

import copy
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lmlab import finetune, preference
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
    dpo_steps: int = 100
    preference_pairs: int = 320  # made from the training text's lines (and 100 held out)
    dpo_pairs: int = 8  # preference pairs per DPO step
    dpo_lr: float = 1e-4
    beta: float = 0.1  # how firmly DPO holds the model near the fine-tuned reference
    seed: int = 0


BOOK_CHAT = BookChatSettings()


def conversations(pairs: list[tuple[str, str]], tokenizer: finetune.ChatTokenizer,
                  block_size: int) -> list[Example]:
    """Dialogue pairs as training examples, those that fit the model's context."""
    examples = (tokenizer.example(line, reply) for line, reply in pairs)
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


# A word three times in a row ("sir, sir, sir"): the fine-tuned model's commonest fault.
REPEAT = re.compile(r"\b(\w+)\b(?:\W+\1\b){2,}", re.I)


def prompt_lines(pairs: list[tuple[str, str]], tokenizer: finetune.ChatTokenizer,
                 block_size: int) -> list[str]:
    """The lines whose prompt fills at most half the context, so a reply has room."""
    return [line for line, _ in pairs if len(tokenizer.prompt(line)) <= block_size // 2]


def preference_pairs(model: GPT, tokenizer: finetune.ChatTokenizer,
                     pairs: list[tuple[str, str]], count: int) -> list[tuple[str, str, str]]:
    """(line, chosen, rejected) for the first ``count`` usable lines: the play's reply chosen
    over the model's greedy reply. Lines whose reply does not fit the context, or where the two
    replies agree, are left out."""
    block = model.config.block_size
    replies = dict(pairs)
    out = []
    for line in prompt_lines(pairs, tokenizer, block):
        chosen = replies[line]
        if len(tokenizer.example(line, chosen)[0]) > block + 1:
            continue
        rejected = finetune.reply(model, tokenizer, line, max_new_tokens=block)
        if rejected != chosen:
            out.append((line, chosen, rejected))
        if len(out) == count:
            break
    return out


def preference_batch(tokenizer: finetune.ChatTokenizer, triples: list[tuple[str, str, str]]
                     ) -> tuple[preference.Batch, preference.Batch]:
    """Pairs -> (chosen, rejected): (inputs, targets, mask) of (B, T) each, padded to one T."""
    chosen = [tokenizer.example(line, c) for line, c, _ in triples]
    rejected = [tokenizer.example(line, r) for line, _, r in triples]
    inputs, targets, mask = finetune.batch(chosen + rejected)
    B = len(triples)
    return (inputs[:B], targets[:B], mask[:B]), (inputs[B:], targets[B:], mask[B:])


@dataclass
class BookChat:
    model: GPT  # the fine-tuned GPT, vocabulary 512 + 3
    aligned: GPT  # the same after DPO, with the fine-tuned model as its reference
    tokenizer: finetune.ChatTokenizer
    losses: list[float]  # the fine-tuning loss at every step
    dpo_losses: list[float]  # the DPO loss at every step
    dpo_margins: list[float]  # the mean implicit reward margin at every step
    # (line, chosen, rejected): the play's reply over the fine-tuned model's greedy one
    triples: list[tuple[str, str, str]]  # from the training text, DPO's data
    test_triples: list[tuple[str, str, str]]  # from the held-out text
    scores: dict[str, float]  # held-out measurements, from score()
    settings: BookChatSettings


def split(book: BookModel, text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The dialogue pairs of the text's training part and of its held-out part (book's split)."""
    train_text, test_text = split_text(text, book.settings.held_out)
    return finetune.dialogue_pairs(train_text), finetune.dialogue_pairs(test_text)


def fine_tune(model: GPT, tokenizer: finetune.ChatTokenizer, train: list[Example],
              settings: BookChatSettings, progress: Callable[[int, float], None] | None = None
              ) -> list[float]:
    """Instruction-tune the model in place on the examples; -> the loss at every step."""
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
    return losses


def align(model: GPT, tokenizer: finetune.ChatTokenizer, triples: list[tuple[str, str, str]],
          settings: BookChatSettings) -> tuple[GPT, list[float], list[float]]:
    """DPO on the preference triples, starting from the model and holding it near a frozen copy
    of it. -> (the aligned model, the loss and the mean margin at every step)."""
    aligned = copy.deepcopy(model)
    rng = np.random.default_rng(settings.seed)
    optimizer = AdamW(aligned, lr=settings.dpo_lr, betas=(0.9, 0.95), weight_decay=0.0)
    losses, margins = [], []
    for _ in range(settings.dpo_steps):
        rows = rng.choice(len(triples), settings.dpo_pairs, replace=False)
        chosen, rejected = preference_batch(tokenizer, [triples[i] for i in rows])
        ref_chosen = preference.response_logprobs(model, chosen)
        ref_rejected = preference.response_logprobs(model, rejected)
        loss, margin = preference.dpo_step(aligned, optimizer, chosen, rejected, ref_chosen,
                                           ref_rejected, settings.beta, settings.max_grad_norm)
        losses.append(loss)
        margins.append(margin)
    return aligned, losses, margins


def prefers_chosen(model: GPT, tokenizer: finetune.ChatTokenizer,
                   triples: list[tuple[str, str, str]]) -> float:
    """The share of pairs whose chosen reply the model finds more likely than the rejected."""
    chosen, rejected = preference_batch(tokenizer, triples)
    return float((preference.response_logprobs(model, chosen)
                  > preference.response_logprobs(model, rejected)).mean())


def repeat_rate(model: GPT, tokenizer: finetune.ChatTokenizer, lines: list[str]) -> float:
    """The share of the model's greedy replies to the lines that say a word three times in a
    row."""
    block = model.config.block_size
    return float(np.mean([bool(REPEAT.search(finetune.reply(model, tokenizer, line,
                                                            max_new_tokens=block)))
                          for line in lines]))


def score(book: BookModel, chat: BookChat, text: str, sft_before: GPT | None = None
          ) -> dict[str, float]:
    """What the chapter reports, on the held-out part of the text: the answers' and the text's
    loss of the fine-tuned model (and, given it, of the model before fine-tuning); how often the
    fine-tuned and the aligned model find the play's reply likelier than the fine-tuned model's
    greedy one; how often each one's greedy replies repeat a word."""
    _, test_pairs = split(book, text)
    test = conversations(test_pairs, chat.tokenizer, book.settings.block_size)
    test_ids = book.tokenizer.encode(split_text(text, book.settings.held_out)[1])
    lines = [line for line, _, _ in chat.test_triples]
    scores = {
        "test_conversations": len(test),
        "answer_loss": answer_loss(chat.model, test), "text_loss": mean_loss(chat.model, test_ids),
        "prefers_chosen": prefers_chosen(chat.model, chat.tokenizer, chat.test_triples),
        "aligned_prefers_chosen": prefers_chosen(chat.aligned, chat.tokenizer, chat.test_triples),
        "repeat_rate": repeat_rate(chat.model, chat.tokenizer, lines),
        "aligned_repeat_rate": repeat_rate(chat.aligned, chat.tokenizer, lines),
    }
    if sft_before is not None:
        scores |= {"answer_loss_before": answer_loss(sft_before, test),
                   "text_loss_before": mean_loss(sft_before, test_ids)}
    return scores


def train_book_chat(book: BookModel, text: str, settings: BookChatSettings = BOOK_CHAT,
                    progress: Callable[[int, float], None] | None = None) -> BookChat:
    """Fine-tune the book's GPT (changed in place) on the dialogue of the text's training part,
    make preference pairs from its greedy replies, align it with DPO; score both on the
    held-out part."""
    model = book.model
    tokenizer = finetune.ChatTokenizer(book.tokenizer)
    train_pairs, test_pairs = split(book, text)
    finetune.add_special_tokens(model, len(finetune.SPECIAL_TOKENS))
    before = copy.deepcopy(model)
    train = conversations(train_pairs, tokenizer, book.settings.block_size)
    losses = fine_tune(model, tokenizer, train, settings, progress)
    round_to_float16(model)  # go on from, and score, the weights the file will hold
    triples = preference_pairs(model, tokenizer, train_pairs, settings.preference_pairs)
    test_triples = preference_pairs(model, tokenizer, test_pairs, 100)
    aligned, dpo_losses, margins = align(model, tokenizer, triples, settings)
    round_to_float16(aligned)
    chat = BookChat(model, aligned, tokenizer, losses, dpo_losses, margins, triples,
                    test_triples, {}, settings)
    chat.scores = {"conversations": len(train)} | score(book, chat, text, before)
    return chat


def save(chat: BookChat) -> bytes:
    """Both models' weights (float16), the settings, the training traces and the scores, as
    .npz. The tokenizer is the book GPT's (its file) plus the special tokens."""
    out = io.BytesIO()
    np.savez_compressed(
        out, **float16_weights(chat.model, "sft"), **float16_weights(chat.aligned, "dpo"),
        **settings_arrays(chat.settings),
        losses=np.array(chat.losses), dpo_losses=np.array(chat.dpo_losses),
        dpo_margins=np.array(chat.dpo_margins),
        triples=np.array(chat.triples), test_triples=np.array(chat.test_triples),
        score_names=np.array(list(chat.scores)), score_values=np.array(list(chat.scores.values())),
    )
    return out.getvalue()


def load(source: bytes | str, book: BookModel, dtype: type = np.float32) -> BookChat:
    """A BookChat from save's bytes or path; ``book`` (lmlab.book_model.load) gives the
    tokenizer and the shape the weights fit."""
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source) as f:
        models = []
        for prefix in ("sft", "dpo"):
            model = GPT(book.settings.config(), rng=0, dtype=dtype)
            finetune.add_special_tokens(model, len(finetune.SPECIAL_TOKENS))
            read_weights(f, model, prefix)
            models.append(model)
        scores = dict(zip(f["score_names"].tolist(), f["score_values"].tolist(), strict=True))
        return BookChat(*models, finetune.ChatTokenizer(book.tokenizer), f["losses"].tolist(),
                        f["dpo_losses"].tolist(), f["dpo_margins"].tolist(),
                        [tuple(t) for t in f["triples"].tolist()],
                        [tuple(t) for t in f["test_triples"].tolist()], scores,
                        read_settings(f, BookChatSettings))
