"""Instruction tuning (supervised fine-tuning, SFT) of the book's GPT into a model that takes turns.

A pretrained model continues text; a chat model answers and then stops. Nothing new is learned
about language in between: the model is shown conversations laid out by a *chat template*, and
trained with the same next-token loss, counted only on the answers (the *loss mask*).

The template marks who speaks with three tokens the pretrained model never saw, appended to its
vocabulary (ids 512, 513, 514 for the book's model):

    <|user|> what the user said <|assistant|> the model's reply <|end|>

No text can produce them: the tokenizer turns the characters ``<|end|>`` typed by a user into
ordinary byte tokens, so a user cannot fake the end of a turn. The conversations are the play
itself: each speech in tiny-shakespeare and the next one, by another speaker, is a user's line and
the assistant's reply.
"""

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from lmlab.book_model import BookTokenizer
from lmlab.bpe import encode
from lmlab.gpt import GPT
from lmlab.optim import SGD, AdamW, clip_grad_norm

USER, ASSISTANT, END = "<|user|>", "<|assistant|>", "<|end|>"
SPECIAL_TOKENS = (USER, ASSISTANT, END)

_SPEECH = re.compile(r"([A-Z][A-Za-z ]*):\n(.+)", re.S)


def speeches(text: str) -> list[tuple[str, str]]:
    """The play as (speaker, speech) pairs, in order: tiny-shakespeare writes every speech as
    ``NAME:`` on its own line, the lines spoken, then a blank line."""
    return [(m.group(1), m.group(2).strip())
            for block in text.split("\n\n") if (m := _SPEECH.match(block))]


def dialogue_pairs(text: str) -> list[tuple[str, str]]:
    """(line, reply): every speech followed by one from a different speaker."""
    said = speeches(text)
    return [(line, reply) for (a, line), (b, reply) in zip(said[:-1], said[1:], strict=True)
            if a != b]


class ChatTokenizer:
    """The book's tokenizer plus the three special tokens, which only the template can write."""

    def __init__(self, tokenizer: BookTokenizer) -> None:
        self.base = tokenizer
        self.special = {name: tokenizer.vocab_size + i for i, name in enumerate(SPECIAL_TOKENS)}
        self.names = {i: name for name, i in self.special.items()}

    @property
    def vocab_size(self) -> int:
        return self.base.vocab_size + len(self.special)

    def encode(self, text: str) -> np.ndarray:
        """Plain text -> ids (N,): never a special token, whatever the text says.

        A message is short, and on a short text applying the merges earliest-first, pair by pair
        (bpe.encode), is several times faster than the base tokenizer's pass per merge over the
        whole text; both give the same ids.
        """
        return np.array(encode(text, self.base.merges), dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """ids -> text, special tokens written as their names."""
        parts, run = [], []
        for i in map(int, ids):
            if i in self.names:
                parts += [self.base.decode(run), self.names[i]]
                run = []
            else:
                run.append(i)
        return "".join([*parts, self.base.decode(run)])

    def prompt(self, line: str) -> np.ndarray:
        """What the model reads before it replies: <|user|> line <|assistant|>. -> ids (N,)"""
        return np.concatenate([[self.special[USER]], self.encode(line),
                               [self.special[ASSISTANT]]]).astype(np.int64)

    def example(self, line: str, reply: str) -> tuple[np.ndarray, np.ndarray]:
        """One training conversation -> (ids (N,), answer (N,) bool): answer marks the reply's
        tokens and the closing <|end|>, the tokens the model must learn to write."""
        prompt = self.prompt(line)
        answer = np.concatenate([self.encode(reply), [self.special[END]]]).astype(np.int64)
        ids = np.concatenate([prompt, answer])
        return ids, np.arange(len(ids)) >= len(prompt)


def add_special_tokens(model: GPT, count: int) -> np.ndarray:
    """Grow the model's vocabulary by ``count`` tokens, in place -> their ids (count,).

    Each new row of the (tied) embedding starts as the mean of the old rows: a token the model
    has no opinion about yet, whose logit starts near the average one instead of at a random
    value that could be huge.
    """
    wte = model.wte
    old = wte.params["weight"]
    rows = np.repeat(old.mean(axis=0, keepdims=True), count, axis=0)
    wte.weight = wte.add_param("weight", np.concatenate([old, rows]))
    wte.num_embeddings += count
    model.config = replace(model.config, vocab_size=model.config.vocab_size + count)
    return np.arange(len(old), len(old) + count)


def batch(examples: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Conversations of different lengths -> inputs, targets, mask: (B, T), T the longest minus one.

    Targets are the inputs shifted by one; the mask is 1 where the target is part of an answer,
    0 on the user's line, the template's tokens before the answer, and the padding.
    """
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = np.zeros((len(examples), T), dtype=np.int64)
    targets = np.zeros((len(examples), T), dtype=np.int64)
    mask = np.zeros((len(examples), T))
    for row, (ids, answer) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n], targets[row, :n], mask[row, :n] = ids[:-1], ids[1:], answer[1:]
    return inputs, targets, mask


def sft_step(model: GPT, optimizer: SGD | AdamW, inputs: np.ndarray, targets: np.ndarray,
             mask: np.ndarray, max_grad_norm: float | None = 1.0) -> float:
    """One step of instruction tuning: the pretraining step, with the loss counted only where
    mask is 1. Returns the loss before the update."""
    optimizer.zero_grad()
    _, loss = model.forward(inputs, targets, loss_mask=mask)
    model.backward()
    if max_grad_norm is not None:
        clip_grad_norm(model, max_grad_norm)
    optimizer.step()
    return loss


def reply(model: GPT, tokenizer: ChatTokenizer, line: str, max_new_tokens: int = 40,
          temperature: float = 0.0, seed: int | None = None) -> str:
    """The model's reply to one line: generated after <|user|> line <|assistant|>, up to its
    <|end|> (or max_new_tokens; the prompt and the reply must fit the model's context)."""
    prompt = tokenizer.prompt(line)
    budget = min(max_new_tokens, model.config.block_size - len(prompt))
    ids = model.generate(prompt, budget, temperature=temperature, seed=seed)[len(prompt):]
    end = np.flatnonzero(ids == tokenizer.special[END])
    return tokenizer.decode(ids[: end[0]] if len(end) else ids)
