"""The autoregressive loop, step by step and as a tree, on a model small enough to read.

The model is a next-word table, {word: {next word: probability}}, as in chapter 1: it looks only at
the last word of the context. Generation asks it for a distribution, draws one word, appends it
and asks again. ``generation_trace`` records every step of one such run (the draw included, so it
can be shown); ``sampling_tree`` lays out the continuations a run could have taken instead, each
edge with its probability and each path with the product of its edges.
"""

from collections.abc import Callable

import numpy as np

from .sampling import sample_index, softmax

Table = dict[str, dict[str, float]]
STOP = "."


def next_distribution(table: Table, context: list[str], temperature: float = 1.0) -> tuple:
    """The words that may follow the context, and their probabilities at temperature T.

    Returns (words (V,), probs (V,)) in the table's order, which is the order a draw walks them.
    The table's probabilities are the model's; log-probabilities are its logits.
    """
    options = table.get(context[-1])
    if not options:
        raise KeyError(f"the table says nothing about what follows {context[-1]!r}")
    words = [word for word, p in options.items() if p > 0]
    logits = np.log([options[word] for word in words])
    return words, softmax(logits, temperature)


def generation_trace(
    table: Table, prompt: list[str], steps: int, temperature: float = 1.0, seed: int = 0
) -> list[dict]:
    """Run the loop for up to ``steps`` words (fewer if STOP is drawn) and record each step.

    Each step: {context (the words so far), candidates [{word, prob}] in the order the draw walks
    them, roll (u ~ U[0, 1) of the inverse-CDF draw), chosen (index into candidates), word, prob,
    path_prob (the product of the chosen probabilities so far)}. The same seed draws the same
    words as lmlab.sampling.sample(np.log(probs), temperature=T, rng=np.random.default_rng(seed)).
    """
    rng = np.random.default_rng(seed)
    context, path_prob, trace = list(prompt), 1.0, []
    for _ in range(steps):
        words, probs = next_distribution(table, context, temperature)
        index, roll = sample_index(probs, rng)
        index = int(index)
        path_prob *= float(probs[index])
        candidates = [{"word": w, "prob": float(p)} for w, p in zip(words, probs, strict=True)]
        trace.append({
            "context": list(context),
            "candidates": candidates,
            "roll": float(roll),
            "chosen": index,
            "word": words[index],
            "prob": float(probs[index]),
            "path_prob": path_prob,
        })
        context.append(words[index])
        if words[index] == STOP:
            break
    return trace


def sampling_tree(
    table: Table, prompt: list[str], depth: int, branches: int, temperature: float = 1.0
) -> dict:
    """Every continuation of the prompt, ``depth`` words deep, keeping the ``branches`` most
    likely next words at each node (ties in table order).

    A node: {word, prob (of this word given its parent's context), path_prob (the product from
    the root), children, unshown (the probability of the next words not drawn)}; STOP has no
    children. The root is the prompt's last word, with prob and path_prob 1.
    """
    return grow_tree(lambda context: next_distribution(table, context, temperature), prompt,
                     depth, branches)


def grow_tree(
    distribution: Callable[[list], tuple[list, np.ndarray]], prompt: list, depth: int,
    branches: int, stop: object = STOP,
) -> dict:
    """The tree of sampling_tree for any model: ``distribution(context)`` gives (next items (V,),
    probs (V,)) for a context (a list of items: words here, token ids for a real model)."""
    if depth < 0 or branches < 1:
        raise ValueError(f"need depth >= 0 and branches >= 1, got {depth} and {branches}")

    def grow(context: list, prob: float, path_prob: float, levels: int) -> dict:
        node = {"word": context[-1], "prob": prob, "path_prob": path_prob, "children": [],
                "unshown": 0.0}
        if levels == 0 or context[-1] == stop:
            return node
        words, probs = distribution(context)
        top = np.argsort(-probs, kind="stable")[:branches]
        node["children"] = [
            grow(context + [words[i]], float(probs[i]), path_prob * float(probs[i]), levels - 1)
            for i in top
        ]
        node["unshown"] = max(0.0, 1.0 - float(probs[top].sum()))
        return node

    return grow(list(prompt), 1.0, 1.0, depth)


def generation_explorer(
    table: Table, prompt: list[str], depth: int = 3, branches: int = 2,
    temperature: float = 1.0, seed: int = 0,
) -> dict:
    """What the generation explorer widget draws: {tree, trace}, the tree ``depth`` words deep
    and one seeded run of the loop as long as the tree is deep."""
    return {
        "tree": sampling_tree(table, prompt, depth, branches, temperature),
        "trace": generation_trace(table, prompt, depth, temperature, seed),
    }


SUM_TOLERANCE = 1e-6  # a row's probabilities must add up to 1 within this


def table_problems(table: object, prompt: list[str]) -> list[str]:
    """What stops a reader's next-word table from driving the loop, as sentences they can act on
    (empty when it can): it must be a dict {word: {next word: probability}}, every row's
    probabilities numbers >= 0 that add up to 1 within SUM_TOLERANCE, the prompt's last word and
    every word a row can lead to (STOP aside) must have a row of their own."""
    if not isinstance(table, dict) or not table:
        return [f"The table should be a dict such as {{'the': {{'cat': 0.6, 'dog': 0.4}}}}, one "
                f"entry per word; this is a {type(table).__name__}."]
    problems = []
    for word, row in table.items():
        if not isinstance(row, dict) or not row:
            problems.append(f"The row for {word!r} should be a dict of next words and their "
                            f"probabilities, such as {{'sat': 0.5, 'ran': 0.5}}.")
            continue
        bad = [nxt for nxt, p in row.items()
               if isinstance(p, bool) or not isinstance(p, int | float) or not p >= 0]
        if bad:
            problems.append(f"After {word!r} the probability of {bad[0]!r} is {row[bad[0]]!r}: "
                            "each one must be a number, 0 or more.")
            continue
        total = sum(row.values())
        if abs(total - 1) > SUM_TOLERANCE:
            problems.append(f"The probabilities after {word!r} add up to {total:.6g}, not 1: "
                            f"{'take' if total > 1 else 'add'} {abs(total - 1):.6g} "
                            f"{'from' if total > 1 else 'to'} them.")
    ends = {}  # word without a row -> a word whose row leads to it
    for word, row in table.items():
        for nxt, p in (row.items() if isinstance(row, dict) else ()):
            if nxt != STOP and nxt not in table and isinstance(p, int | float) and p > 0:
                ends.setdefault(nxt, word)
    for nxt, word in ends.items():
        problems.append(f"{nxt!r} can follow {word!r}, but the table has no row for {nxt!r}: "
                        f"add one (it may lead to {STOP!r} to end the sentence), or the loop "
                        "would be stuck there.")
    if prompt and prompt[-1] not in table:
        problems.append(f"The prompt ends with {prompt[-1]!r}, but the table has no row for it: "
                        "add one, so the loop can take the first step.")
    return problems


def reader_explorer(
    table: object, prompt: list[str], depth: int = 3, branches: int = 2,
    temperature: float = 1.0, seed: int = 0,
) -> dict:
    """The generation explorer on a table the reader's cell made ("Use my table"): {problems}
    when table_problems finds any, else generation_explorer's {tree, trace} with problems []."""
    problems = table_problems(table, prompt)
    if problems:
        return {"problems": problems}
    return {**generation_explorer(table, prompt, depth, branches, temperature, seed),
            "problems": []}
