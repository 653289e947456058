"""One line, three models: the book's GPT before and after instruction tuning and after DPO.

``stages_view`` gives chapter 9's chat-stages widget everything it draws for a line the reader
types: the pretrained GPT (lmlab.book_model) given the plain line, which it can only continue;
the fine-tuned model and the aligned one (lmlab.book_chat) given the chat template's
``<|user|> line <|assistant|>``, each replying up to its ``<|end|>`` or until the context is
full. All three sample with the same temperature and seed. For the two chat models' replies it
adds the log-probability of each reply under both models (the numbers DPO's implicit reward is
made of) and marks the fault the preference data taught the aligned model to avoid: a word said
three times in a row (lmlab.book_chat.REPEAT).

The models are loaded once per process, in float64, as the build trained them: the page's words
then agree with CPython's whatever the machine's float32 rounding. Answers are cached per line,
temperature and seed.
"""

from functools import cache, lru_cache

import numpy as np

from lmlab import book_chat, finetune, preference
from lmlab.gpt import GPT
from lmlab.gpt_lens import book_model, token_pieces

MAX_NEW_TOKENS = 40
MAX_TEMPERATURE = 1.5
MIN_ROOM = 8  # tokens of the context a line must leave for the reply
CHUNK = 8  # new tokens per GPT.generate call of a chat model: it stops soon after <|end|>
# Lines from the held-out part of the play (the models never trained on them); to each, the
# fine-tuned model's greedy reply says one word over and over.
PRESETS = (
    "How now, my friend! why dost thou look so pale?",
    "Lucentio is your name; of whence, I pray?",
    "Good morrow, neighbour Baptista.",
    "Asses are made to bear, and so are you.",
    "Well ta'en, and like a buzzard.",
)
STAGES = ("pretrained", "fine-tuned", "aligned")


@cache
def chat_models() -> book_chat.BookChat:
    """The fine-tuned and the aligned model as the build trained them, in float64."""
    from lmlab import data

    return book_chat.load(str(data.path("book-chat.npz")), book_model(), np.float64)


@cache
def play_replies() -> dict[str, str]:
    """The play's own reply to each held-out line of the preference pairs."""
    return {line: chosen for line, chosen, _ in chat_models().test_triples}


def generate_reply(model: GPT, prompt: np.ndarray, budget: int, temperature: float, seed: int,
                   end: int | None = None) -> tuple[np.ndarray, bool]:
    """Up to ``budget`` tokens after the prompt (N,), stopping at ``end`` (kept) if given.

    -> (the new ids (n,), whether ``end`` was written). The tokens are GPT.generate's for the
    seed: the chat models generate CHUNK tokens at a time with one random generator, which
    draws as one call for the whole budget would, and stop after the chunk that holds ``end``.
    """
    rng = np.random.default_rng(seed)
    ids = prompt
    while len(ids) - len(prompt) < budget:
        step = budget - (len(ids) - len(prompt)) if end is None else CHUNK
        step = min(step, budget - (len(ids) - len(prompt)))
        ids = model.generate(ids, step, temperature=temperature, seed=rng)
        ends = np.flatnonzero(ids[len(prompt):] == end)
        if len(ends):
            return ids[len(prompt): len(prompt) + ends[0] + 1], True
    return ids[len(prompt):], False


def pieces(ids: np.ndarray, names: dict[int, str]) -> list[list]:
    """ids (n,) -> [[text, special], ...]: each token as text, whitespace visible, and whether
    it is one of the chat template's tokens."""
    base = token_pieces()
    return [[names[i], True] if i in names else [base[i], False] for i in map(int, ids)]


def marked(text: str) -> list[list]:
    """The text cut into [[part, repeats], ...]: repeats is True on each run of one word said
    three or more times in a row."""
    parts, at = [], 0
    for m in book_chat.REPEAT.finditer(text):
        parts += [[text[at: m.start()], False], [m.group(0), True]]
        at = m.end()
    parts.append([text[at:], False])
    return [part for part in parts if part[0]]


def column(stage: str, prompt: np.ndarray, reply: np.ndarray, ended: bool | None, budget: int,
           tokenizer: finetune.ChatTokenizer) -> dict:
    """One model's answer as the widget draws it (ended None: the model has no end token)."""
    names = tokenizer.names
    text = tokenizer.decode(reply[:-1] if ended else reply)
    return {"stage": stage, "prompt_tokens": pieces(prompt, names),
            "reply_tokens": pieces(reply, names), "reply": text, "parts": marked(text),
            "repeats": bool(book_chat.REPEAT.search(text)), "new_tokens": len(reply),
            "ended": ended, "budget": budget}


def reply_logprobs(models: list[GPT], prompt: np.ndarray, replies: list[np.ndarray]
                   ) -> np.ndarray:
    """log p(reply | prompt), summed over the reply's tokens (its <|end|> included), of each
    reply under each model -> (len(models), len(replies))."""
    examples = [(np.concatenate([prompt, r]), np.arange(len(prompt) + len(r)) >= len(prompt))
                for r in replies]
    batch = finetune.batch(examples)
    return np.stack([preference.response_logprobs(m, batch) for m in models])


def checked(line: str, temperature: float, seed: int) -> tuple[float, int]:
    if not isinstance(line, str) or not line.strip():
        raise ValueError("type a line for the models to answer")
    temperature = float(temperature)
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be 0 to {MAX_TEMPERATURE}, got {temperature}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"the seed must be a whole number from 0, got {seed}")
    return temperature, int(seed)


@lru_cache(maxsize=32)
def _view(line: str, temperature: float, seed: int) -> dict:
    book, chat = book_model(), chat_models()
    tokenizer = chat.tokenizer
    block = book.model.config.block_size
    prompt = tokenizer.prompt(line)
    plain = prompt[1:-1]  # the line alone, as the pretrained model reads it
    budget = min(MAX_NEW_TOKENS, block - len(prompt))
    if budget < MIN_ROOM:
        raise ValueError(f"this line is {len(plain)} tokens; the models read {block} in all, "
                         f"so keep it to {block - 2 - MIN_ROOM} to leave room for a reply")
    end = tokenizer.special[finetune.END]
    continuation, _ = generate_reply(book.model, plain, budget, temperature, seed)
    tuned = generate_reply(chat.model, prompt, budget, temperature, seed, end)
    aligned = generate_reply(chat.aligned, prompt, budget, temperature, seed, end)
    logprobs = reply_logprobs([chat.model, chat.aligned], prompt, [tuned[0], aligned[0]])
    columns = [column("pretrained", plain, continuation, None, budget, tokenizer),
               column("fine-tuned", prompt, *tuned, budget, tokenizer),
               column("aligned", prompt, *aligned, budget, tokenizer)]
    for i, col in enumerate(columns[1:]):
        col["logprob"] = {"fine-tuned": float(logprobs[0, i]), "aligned": float(logprobs[1, i])}
    return {"line": line, "temperature": temperature, "seed": seed, "presets": list(PRESETS),
            "play_reply": play_replies().get(line), "block_size": block,
            "max_new_tokens": MAX_NEW_TOKENS, "columns": columns}


def stages_view(line: str = PRESETS[0], temperature: float = 0.0, seed: int = 0) -> dict:
    """What the chat-stages widget draws: one line answered by the three stages of the book's
    model, with the same temperature (0: greedy) and seed.

    -> {"line", "temperature", "seed", "presets": held-out lines to choose from, "play_reply":
    the play's own reply to the line if it is one of the held-out preference lines (else None),
    "block_size", "max_new_tokens", "columns": three dicts, pretrained, fine-tuned, aligned:
    {"stage", "prompt_tokens": what the model reads, [[text, special], ...] (special: a chat
    template token), "reply_tokens": what it wrote, the same way (<|end|> included),
    "reply": the reply as text (without <|end|>), "parts": the reply cut into [[text, repeats]]
    (repeats: a word three or more times in a row, book_chat.REPEAT), "repeats", "new_tokens",
    "ended": True if the reply ended with <|end|>, False if it ran out of room, None for the
    pretrained model (it has no end token), "budget": the most new tokens it could write},
    and for the two chat models "logprob": {"fine-tuned", "aligned"}: the reply's
    log-probability (nats, summed over its tokens) under each of the two models}.
    """
    temperature, seed = checked(line, temperature, seed)
    return _view(line, temperature, seed)
