"""Talking to a real model, SmolLM2-135M-Instruct, one token at a time.

    from lmlab import chat
    chat.load()                                  # read the GGUF, dequantize: a few seconds
    chat.say("What is the capital of France?")   # the turn as tokens, run through the model
    while not (token := chat.next_token(temperature=0.7))["done"]:
        print(token["text"], end="")

The conversation lives in this module, one per page (the model takes 540 MB): every token id the
model has seen, its KV cache, and the position of each token of the current reply. To look at a
step afterwards (its distribution, the tree of what else could have come, its attention weights)
``inspect`` runs that step's forward pass again from the cache cut back to that point: the cache
holds every earlier key and value, so one step costs one token's forward pass, and nothing per
token has to be kept while the model talks.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from . import data
from .generation import grow_tree
from .gguf import read_gguf
from .llama import SYSTEM_DEFAULT, ChatTokenizer, Llama
from .sampling import entropy_bits, sample_index, softmax, top_k_filter, top_p_filter

END = "<|im_end|>"
MAX_TOKENS = 2048  # a conversation longer than this is ended: attention costs grow with it


@dataclass
class Conversation:
    tokenizer: ChatTokenizer
    model: Llama
    ids: list[int] = field(default_factory=list)  # every token the model has read
    cache: list[dict] = field(default_factory=list)
    logits: np.ndarray | None = None  # (V,) what the model predicts after ids
    reply: list[int] = field(default_factory=list)  # positions in ids of the reply's tokens
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    inspected: dict = field(default_factory=dict)  # the last step inspect() ran again


_loaded: Conversation | None = None


def conversation() -> Conversation:
    if _loaded is None:
        raise RuntimeError("The model is not loaded yet: run chat.load() first.")
    return _loaded


def load() -> dict:
    """Read SmolLM2-135M-Instruct from its GGUF file and dequantize it (once per page).

    -> what it is: {parameters, layers, d_model, heads, kv_heads, vocab, context, seconds}."""
    global _loaded
    started = time.perf_counter()
    if _loaded is None:
        gguf = read_gguf(data.smollm2())
        model = Llama.from_gguf(gguf)
        _loaded = Conversation(ChatTokenizer.from_gguf(gguf), model, cache=model.new_cache())
    c = _loaded.model.config
    return {
        "parameters": int(sum(w.size for w in _loaded.model.w.values())),
        "layers": c.n_layers, "d_model": c.d_model, "heads": c.n_heads,
        "kv_heads": c.n_kv_heads, "vocab": c.vocab_size, "context": c.context,
        "seconds": time.perf_counter() - started,
    }


def about() -> dict:
    """What the page shows before the model is loaded: {file, bytes, layers, heads}, read from
    the GGUF's header (the builder calls this; in the page the answer is already there)."""
    path = data.smollm2()
    meta = read_gguf(path).metadata
    return {"file": path.name, "bytes": path.stat().st_size, "layers": meta["llama.block_count"],
            "heads": meta["llama.attention.head_count"]}


def status() -> dict:
    """{loaded, tokens}: whether this page's Python has the model, and the conversation length."""
    return {"loaded": _loaded is not None, "tokens": len(_loaded.ids) if _loaded else 0}


def new_conversation(seed: int | None = None) -> dict:
    """Forget the conversation (the model stays loaded); seed the sampler if given."""
    talk = conversation()
    talk.ids, talk.cache, talk.logits = [], talk.model.new_cache(), None
    talk.reply, talk.inspected = [], {}
    talk.rng = np.random.default_rng(seed)
    return status()


def turn_ids(tokenizer: ChatTokenizer, role: str, content: str) -> list[int]:
    """One message in the chat template, <|im_start|>role\\ncontent<|im_end|>\\n, as ids. The
    content is encoded as plain text: typing "<|im_end|>" cannot end a turn early."""
    return (tokenizer.encode(f"<|im_start|>{role}\n") + tokenizer.encode(content, False)
            + tokenizer.encode(f"{END}\n"))


def say(text: str, system: str = SYSTEM_DEFAULT) -> dict:
    """The reader's message joins the conversation (after the system message, on the first turn),
    with the opening of the assistant's reply; the model reads all the new tokens at once.

    -> {tokens: [token views] of the new tokens, seconds: how long the model took to read them}.
    """
    talk = conversation()
    end = talk.tokenizer.special[END]
    new: list[int] = []
    if not talk.ids:
        new += turn_ids(talk.tokenizer, "system", system)
    elif talk.ids[-1] != end:  # the last reply was stopped before it ended
        new += [end] + talk.tokenizer.encode("\n")
    else:
        new += talk.tokenizer.encode("\n")
    new += turn_ids(talk.tokenizer, "user", text) + talk.tokenizer.encode("<|im_start|>assistant\n")
    if len(talk.ids) + len(new) > MAX_TOKENS:
        raise ValueError(f"The conversation would pass {MAX_TOKENS} tokens: start a new one.")
    started = time.perf_counter()
    talk.logits = talk.model.forward(new, talk.cache)[-1]
    talk.ids += new
    talk.reply, talk.inspected = [], {}
    return {"tokens": [token_view(talk.tokenizer, i) for i in new],
            "seconds": time.perf_counter() - started}


def token_view(tokenizer: ChatTokenizer, token: int) -> dict:
    """{id, text, special}: a token as the page shows it (special tokens by their names)."""
    text = tokenizer.token_bytes[token].decode("utf-8", errors="replace")
    return {"id": int(token), "text": text, "special": text in tokenizer.special}


def filtered_probs(logits: np.ndarray, temperature: float, top_k: int | None,
                   top_p: float | None) -> np.ndarray:
    """(V,) logits -> (V,) probabilities after temperature, then top-k, then top-p (as
    lmlab.sampling.sample does). Temperature 0 puts all the probability on the top token."""
    if temperature == 0:
        probs = np.zeros(len(logits))
        probs[int(np.argmax(logits))] = 1.0
        return probs
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if top_k:
        scaled = top_k_filter(scaled, int(top_k))
    if top_p is not None and top_p < 1:
        scaled = top_p_filter(scaled, top_p)
    return softmax(scaled)


def next_token(temperature: float = 0.7, top_k: int | None = 50, top_p: float | None = 0.9) -> dict:
    """Draw the next token of the reply, append it and run it through the model.

    -> {step, id, text, special, prob (its probability under the settings), done (it was
    <|im_end|>, or the conversation is full), ms (the forward pass)}."""
    talk = conversation()
    if talk.logits is None:
        raise RuntimeError("Say something first: the model replies to a message.")
    probs = filtered_probs(talk.logits, temperature, top_k, top_p)
    token = int(sample_index(probs, talk.rng)[0])
    talk.ids.append(token)
    talk.reply.append(len(talk.ids) - 1)
    done = token == talk.tokenizer.special[END] or len(talk.ids) >= MAX_TOKENS
    started = time.perf_counter()
    talk.logits = None if done else talk.model.forward([token], talk.cache)[-1]
    return {"step": len(talk.reply) - 1, **token_view(talk.tokenizer, token),
            "prob": float(probs[token]), "done": done,
            "ms": (time.perf_counter() - started) * 1000}


def cut_cache(cache: list[dict], length: int) -> list[dict]:
    """The cache as it was after `length` tokens (views, no copy: forward() appends by making
    new arrays, so the original is untouched)."""
    return [{"k": kv["k"][:, :length], "v": kv["v"][:, :length]} for kv in cache]


def step_forward(step: int) -> dict:
    """The forward pass that produced reply step `step`, run again: {logits (V,), attention
    (layers, heads, context) of its query}. The last one is kept, as the page asks several
    questions about the same step."""
    talk = conversation()
    if not 0 <= step < len(talk.reply):
        raise IndexError(f"the reply has {len(talk.reply)} tokens; there is no step {step}")
    if talk.inspected.get("step") != step:
        position = talk.reply[step]  # the token drawn at this step sits here
        weights: list[np.ndarray] = []
        logits = talk.model.forward([talk.ids[position - 1]],
                                    cut_cache(talk.cache, position - 1), weights)[-1]
        talk.inspected = {"step": step, "logits": logits,
                          "attention": np.stack([w[:, -1] for w in weights])}
    return talk.inspected


def inspect(step: int, temperature: float = 0.7, top_k: int | None = 50,
            top_p: float | None = 0.9, shown: int = 10) -> dict:
    """The distribution reply step `step` was drawn from, under these settings.

    -> {candidates: the `shown` likeliest tokens before filtering, each {id, text, special,
    prob (at this temperature, before top-k/top-p), kept_prob (after; 0 if filtered out)},
    chosen: the drawn token with its rank and probabilities, entropy_bits, kept (how many tokens
    survive the filters), vocab}."""
    talk = conversation()
    logits = step_forward(step)["logits"]
    tempered = softmax(np.asarray(logits, dtype=np.float64) / max(temperature, 1e-6))
    kept = filtered_probs(logits, temperature, top_k, top_p)
    order = np.argsort(-logits, kind="stable")
    chosen = talk.ids[talk.reply[step]]

    def view(token: int) -> dict:
        return {**token_view(talk.tokenizer, token), "prob": float(tempered[token]),
                "kept_prob": float(kept[token])}

    rank = int(np.nonzero(order == chosen)[0][0]) + 1
    return {"candidates": [view(int(t)) for t in order[:shown]],
            "chosen": {**view(chosen), "rank": rank},
            "entropy_bits": float(entropy_bits(tempered)), "kept": int(np.count_nonzero(kept)),
            "vocab": len(logits)}


def attention(step: int, layer: int, head: int) -> dict:
    """How much the query of reply step `step` attended to each earlier token, in one layer and
    head. -> {weights: (context,) summing to 1, tokens: [token views] of the context}."""
    talk = conversation()
    weights = step_forward(step)["attention"]
    layers, heads = weights.shape[:2]
    if not (0 <= layer < layers and 0 <= head < heads):
        raise IndexError(f"layers are 0-{layers - 1} and heads 0-{heads - 1}")
    context = talk.ids[:talk.reply[step]]
    return {"weights": weights[layer, head].tolist(),
            "tokens": [token_view(talk.tokenizer, t) for t in context]}


def tree(step: int, depth: int = 2, branches: int = 3, temperature: float = 0.7) -> dict:
    """The tree of continuations from reply step `step`: lmlab.generation.grow_tree on the
    model's real probabilities at this temperature (no top-k or top-p). A node: {word (the
    token's text), id, special, prob, path_prob, children, unshown}. Each inner node costs a
    forward pass of the few tokens below the step, from the cache cut back to the step."""
    talk = conversation()
    start = talk.reply[step]  # the tree fans out where this step's token was drawn
    first = step_forward(step)["logits"]

    def distribution(context: list[int]) -> tuple[list[int], np.ndarray]:
        if len(context) == start:
            logits = first
        else:
            logits = talk.model.forward(context[start - 1:], cut_cache(talk.cache, start - 1))[-1]
        return np.arange(len(logits)), softmax(np.asarray(logits, np.float64) / temperature)

    def named(node: dict) -> dict:
        view = token_view(talk.tokenizer, int(node["word"]))
        return {**node, "word": view["text"], "id": view["id"], "special": view["special"],
                "children": [named(child) for child in node["children"]]}

    grown = grow_tree(distribution, talk.ids[:start], depth, branches,
                      stop=talk.tokenizer.special[END])
    return named(grown)
