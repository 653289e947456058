"""One line, three models: the book's GPT before and after instruction tuning and after DPO.

``stages_view`` gives chapter 9's chat-stages widget everything it draws for a line the reader
types: the pretrained GPT (lmlab.book_model) given the plain line, which it can only continue;
the fine-tuned model and the aligned one (lmlab.book_chat) given the chat template's
``<|user|> line <|assistant|>``, each replying up to its ``<|end|>`` or until the context is
full. All three sample with the same temperature and seed. For the two chat models' replies it
adds the log-probability of each reply under both models (the numbers DPO's implicit reward is
made of) and marks the fault the preference data taught the aligned model to avoid: a word said
three times in a row (lmlab.book_chat.REPEAT).

Writing the three replies takes Pyodide about half a second, so the widget asks for them a few
tokens at a time with ``stages_stream``, as a chat page streams its reply; ``stages_view`` is
that stream run to its end. Each model writes with one ``GPT.stream``, whose KV cache waits here
between calls (for the KEEP most recent requests).

The models are loaded once per process, in float64, as the build trained them: the page's words
then agree with CPython's whatever the machine's float32 rounding.
"""

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from lmlab import book_chat, finetune, preference
from lmlab.gpt import GPT
from lmlab.gpt_lens import book_model, token_pieces

MAX_NEW_TOKENS = 40
MAX_TEMPERATURE = 1.5
MIN_ROOM = 8  # tokens of the context a line must leave for the reply
# New tokens per column per stages_stream call. In Pyodide a token takes one model about 2 ms
# (its prompt about 10 ms, a whole reply's log-probability under one model up to 20 ms, so a
# call scores at most one); the widget's bar is 50 ms from an input to its redraw, and on a
# loaded machine one token a call kept a call's p95 near 20 ms in Pyodide (2 tokens: near 37).
TOKENS_PER_CALL = 1
KEEP = 4  # requests whose replies are kept between calls, the least recently asked dropped
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
SCORERS = ("fine-tuned", "aligned")  # the models each chat reply's log-probability is taken under
# A call by which every reply is written and scored: the last reply starts at call 1 + the
# fine-tuned one's (see tokens_by), then its longest, then one call per log-probability of the
# two chat replies.
LAST_CALL = len(STAGES) - 2 + -(-MAX_NEW_TOKENS // TOKENS_PER_CALL) + 2 * len(SCORERS)


@cache
def chat_models() -> book_chat.BookChat:
    """The fine-tuned and the aligned model as the build trained them, in float64."""
    from lmlab import data

    return book_chat.load(str(data.path("book-chat.npz")), book_model(), np.float64)


@cache
def play_replies() -> dict[str, str]:
    """The play's own reply to each held-out line of the preference pairs."""
    return {line: chosen for line, chosen, _ in chat_models().test_triples}


@dataclass
class Reply:
    """One model's reply as far as it is written."""

    steps: Iterator[np.ndarray] | None  # GPT.stream writing the rest; None once the reply is done
    end: int | None  # the token that ends a reply (kept); None: the model has none
    ids: list[int] = field(default_factory=list)
    logprob: dict[str, float] = field(default_factory=dict)  # a chat model's finished reply's
    # log-probability under each model by name, as far as computed


@dataclass
class Writing:
    """The three replies to one line, temperature and seed."""

    plain: np.ndarray  # (N,) the line alone, as the pretrained model reads it
    prompt: np.ndarray  # (N + 2,) <|user|> line <|assistant|>, as the chat models read it
    budget: int  # the most new tokens a reply can have
    replies: list[Reply]  # pretrained, fine-tuned, aligned


_writings: OrderedDict[tuple[str, float, int], Writing] = OrderedDict()


def writing(line: str, temperature: float, seed: int) -> Writing:
    """The replies asked for with these arguments, started if they are new (the least recently
    asked ones dropped beyond KEEP)."""
    key = (line, temperature, seed)
    if key in _writings:
        _writings.move_to_end(key)
        return _writings[key]
    book, chat = book_model(), chat_models()
    block = book.model.config.block_size
    prompt = chat.tokenizer.prompt(line)
    plain = prompt[1:-1]
    budget = min(MAX_NEW_TOKENS, block - len(prompt))
    if budget < MIN_ROOM:
        raise ValueError(f"this line is {len(plain)} tokens; the models read {block} in all, "
                         f"so keep it to {block - 2 - MIN_ROOM} to leave room for a reply")
    end = chat.tokenizer.special[finetune.END]
    readers = [(book.model, plain, None), (chat.model, prompt, end), (chat.aligned, prompt, end)]
    _writings[key] = Writing(plain, prompt, budget, [
        Reply(model.stream(ids[None], budget, temperature=temperature, seed=seed), stop)
        for model, ids, stop in readers])
    while len(_writings) > KEEP:
        _writings.popitem(last=False)
    return _writings[key]


def tokens_by(call: int, i: int) -> int:
    """How many new tokens reply i has by call `call`, if it is that long: reply i starts at call
    i, so that no call reads more than one prompt (a prompt is several tokens' worth of work), and
    call 0 already brings the pretrained model's first token."""
    return max(0, call + 1 - i) * TOKENS_PER_CALL


def advance(writing: Writing, calls: int) -> list[tuple[int, str]]:
    """Write each reply up to tokens_by(calls) new tokens, its end or the budget (a reply done
    lets go of its KV cache), and compute the log-probabilities due by that call.
    -> those: [(reply index, model name)], see scores_due."""
    for i, reply in enumerate(writing.replies):
        while reply.steps is not None and len(reply.ids) < tokens_by(calls, i):
            reply.ids.append(int(next(reply.steps)[0]))
            if len(reply.ids) == writing.budget or reply.ids[-1] == reply.end:
                reply.steps = None
    chat = chat_models()
    scorers = {"fine-tuned": chat.model, "aligned": chat.aligned}
    due = scores_due(writing, calls)
    for i, name in due:
        reply = writing.replies[i]
        if name not in reply.logprob:
            under = reply_logprobs([scorers[name]], writing.prompt, [np.array(reply.ids)])
            reply.logprob[name] = float(under[0, 0])
    return due


def scores_due(writing: Writing, calls: int) -> list[tuple[int, str]]:
    """The log-probabilities a stream has by its call `calls`: one per call, of one finished chat
    reply under one model, from the call after the one that wrote the reply's last token, in the
    order the replies ended (a whole reply through a model is a call's worth of work)."""
    ended_at = {i: i - 1 + -(-len(reply.ids) // TOKENS_PER_CALL)
                for i, reply in enumerate(writing.replies)
                if reply.end is not None and reply.steps is None}
    queue, due = [], []
    for call in range(1, calls + 1):
        queue += [(i, name) for i, at in ended_at.items() if at == call - 1 for name in SCORERS]
        if queue:
            due.append(queue.pop(0))
    return due


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


def column(stage: str, prompt: np.ndarray, reply: Reply, tokens: int, scored: list[str],
           budget: int, tokenizer: finetune.ChatTokenizer) -> dict:
    """One model's answer, its first `tokens` new tokens, as the widget draws it; its
    log-probabilities once those under every model in `scored` are."""
    ids = reply.ids[:tokens]
    ended = None if reply.end is None else bool(ids) and ids[-1] == reply.end
    done = len(ids) == budget or bool(ended)
    text = tokenizer.decode(ids[:-1] if ended else ids)
    # A repeat is marked once the reply is done: the next token could still undo it.
    unmarked = [[text, False]] if text else []
    col = {"stage": stage, "prompt_tokens": pieces(prompt, tokenizer.names),
           "reply_tokens": pieces(ids, tokenizer.names), "reply": text,
           "parts": marked(text) if done else unmarked,
           "repeats": bool(book_chat.REPEAT.search(text)) if done else None,
           "new_tokens": len(ids), "ended": ended, "budget": budget, "done": done}
    if reply.end is not None and set(scored) == set(SCORERS):
        col["logprob"] = {name: reply.logprob[name] for name in SCORERS}
    return col


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


def stages_at(line: str, temperature: float, seed: int, calls: int) -> dict:
    """stages_stream's answer to its call `calls` (see there)."""
    temperature, seed = checked(line, temperature, seed)
    written = writing(line, temperature, seed)
    due = advance(written, calls)
    tokenizer = chat_models().tokenizer
    reads = [written.plain, written.prompt, written.prompt]
    columns = [column(stage, ids, reply, tokens_by(calls, i),
                      [name for j, name in due if j == i], written.budget, tokenizer)
               for i, (stage, ids, reply) in enumerate(zip(STAGES, reads, written.replies,
                                                             strict=True))]
    block = book_model().model.config.block_size
    return {"line": line, "temperature": temperature, "seed": seed, "presets": list(PRESETS),
            "play_reply": play_replies().get(line), "block_size": block,
            "max_new_tokens": MAX_NEW_TOKENS, "columns": columns,
            "done": all(col["done"] for col in columns) and len(due) == 2 * len(SCORERS)}


def stages_view(line: str = PRESETS[0], temperature: float = 0.0, seed: int = 0) -> dict:
    """What the chat-stages widget draws: one line answered by the three stages of the book's
    model, with the same temperature (0: greedy) and seed.

    -> {"line", "temperature", "seed", "presets": held-out lines to choose from, "play_reply":
    the play's own reply to the line if it is one of the held-out preference lines (else None),
    "block_size", "max_new_tokens", "done": True once every reply is (always here, see
    stages_stream), "columns": three dicts, pretrained, fine-tuned, aligned:
    {"stage", "prompt_tokens": what the model reads, [[text, special], ...] (special: a chat
    template token), "reply_tokens": what it wrote, the same way (<|end|> included),
    "reply": the reply as text (without <|end|>), "parts": the reply cut into [[text, repeats]]
    (repeats: a word three or more times in a row, book_chat.REPEAT), "repeats", "new_tokens",
    "ended": True if the reply ended with <|end|>, False if it ran out of room, None for the
    pretrained model (it has no end token), "budget": the most new tokens it could write,
    "done": True},
    and for the two chat models "logprob": {"fine-tuned", "aligned"}: the reply's
    log-probability (nats, summed over its tokens) under each of the two models}.
    """
    return stages_at(line, temperature, seed, LAST_CALL)


def stages_stream(line: str = PRESETS[0], temperature: float = 0.0, seed: int = 0,
                  calls: int = 0) -> dict:
    """stages_view as it is written: after `calls` earlier calls for the same line, temperature
    and seed, reply i (pretrained, fine-tuned, aligned) has its first (calls + 1 - i) *
    TOKENS_PER_CALL new tokens (or all of them).

    Call with calls = 0, 1, 2, ... until "done": each call writes at most TOKENS_PER_CALL more
    tokens per reply, carrying on from the last, and reads at most one prompt: calls=0 gives the
    prompts and the pretrained model's first token, calls=1 the fine-tuned model's first too. A
    column not done yet has "done": False, "parts" unmarked, "repeats" None and no "logprob"
    ("ended": False while a chat model writes). A chat reply's "logprob" comes a call or a few
    after its last token: each call computes at most one of the four log-probabilities. The
    last answer equals stages_view's. The same arguments give the same answer whenever asked.
    """
    if int(calls) != calls or calls < 0:
        raise ValueError(f"calls must be a whole number from 0, got {calls}")
    return stages_at(line, temperature, seed, int(calls))
