"""Counting: the n-gram language model over characters.

The simplest language model counts. To predict the next character of a name, look at the last
n - 1 characters (the context), count what followed that context in the training names, and turn
the counts into probabilities. With n = 2 this is the bigram model of makemore.

Every name is wrapped in the special character "." (as in makemore): n - 1 dots in front, so the
first letter has a context too, and one dot behind, so the model also learns when a name ends.
"emma" as a bigram model sees the pairs .e em mm ma a. and as a trigram model the triples
..e .em emm mma ma. -- so "." must not occur inside the names themselves.

The table has one entry per possible n-gram: V**n entries for V characters. That is fine for
bigrams (27 * 27 = 729) and hopeless for long contexts, which is why neural models replace
counting with learned functions that generalise.
"""

import copy
import functools
from collections.abc import Callable, Sequence

import numpy as np

from lmlab import data
from lmlab.sampling import sample_index, temper

BOUNDARY = "."
MAX_TABLE_ENTRIES = 5_000_000  # about 40 MB of counts and as much again of probabilities


def table_size(n: int, vocab_size: int = 27) -> int:
    """Entries in a full n-gram count table: vocab_size ** n (an exact Python int)."""
    return vocab_size**n


def table_growth(vocab_size: int = 27, max_n: int = 10) -> list[dict]:
    """[{n, contexts, entries}] for n = 1..max_n: how fast counting longer contexts explodes.

    contexts = vocab_size ** (n - 1) rows, each with vocab_size entries.
    """
    return [
        {"n": n, "contexts": table_size(n - 1, vocab_size), "entries": table_size(n, vocab_size)}
        for n in range(1, max_n + 1)
    ]


def build_alphabet(words: Sequence[str]) -> list[str]:
    """The boundary "." first, then every character of the words in sorted order."""
    chars = set("".join(words))
    if BOUNDARY in chars:
        raise ValueError(f"the words must not contain the boundary character {BOUNDARY!r}")
    return [BOUNDARY, *sorted(chars)]


class NGramModel:
    """Character n-gram counts and probabilities with add-k smoothing.

    counts[c1, ..., c_{n-1}, next] is how often ``next`` followed the context c1..c_{n-1};
    probs is the same table with k added to every count and each context's row divided by its
    total. With k = 0 a continuation never seen gets probability 0 (and an infinite loss); k = 1
    is Laplace smoothing. A context never seen at all gets a row of zeros when k = 0.
    """

    def __init__(
        self,
        words: Sequence[str],
        n: int = 2,
        k: float = 0.0,
        alphabet: Sequence[str] | None = None,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if not k >= 0:
            raise ValueError(f"smoothing k must be >= 0, got {k}")
        if len(words) == 0 or not all(isinstance(w, str) and w for w in words):
            raise ValueError("words must be a non-empty list of non-empty strings")
        self.n = n
        self.k = k
        self.chars = list(alphabet) if alphabet is not None else build_alphabet(words)
        if self.chars[0] != BOUNDARY:
            raise ValueError(f"the alphabet must start with the boundary {BOUNDARY!r}")
        self.index = {c: i for i, c in enumerate(self.chars)}
        size = table_size(n, len(self.chars))
        if size > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"a {n}-gram table over {len(self.chars)} characters has {size:,} entries, "
                f"more than the {MAX_TABLE_ENTRIES:,} this model allows: counting long "
                "contexts explodes"
            )
        self.counts = np.zeros((len(self.chars),) * n, dtype=np.int64)
        np.add.at(self.counts, tuple(self.ngrams(words).T), 1)
        smoothed = self.counts + k
        totals = smoothed.sum(axis=-1, keepdims=True)
        self.probs = np.divide(
            smoothed, totals, out=np.zeros(smoothed.shape), where=totals > 0
        )

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Character ids of a string. text: str -> (len(text),) ints."""
        try:
            return np.array([self.index[c] for c in text], dtype=np.int64)
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the model's alphabet") from None

    def ngrams(self, words: Sequence[str]) -> np.ndarray:
        """Every (context, next) window of the padded words. -> (M, n) ints, M = sum(len+1).

        The words are padded and joined into one long id sequence; a window is kept when it
        starts inside a word's own padded segment (so no window straddles two names).
        """
        pad = BOUNDARY * (self.n - 1)
        ids = self.encode("".join(pad + w + BOUNDARY for w in words))
        lengths = np.array([len(w) for w in words])
        segment = lengths + self.n  # n - 1 leading dots, the word, one trailing dot
        offset_in_segment = np.arange(len(ids)) - np.repeat(np.cumsum(segment) - segment, segment)
        starts_window = offset_in_segment <= np.repeat(lengths, segment)
        windows = np.lib.stride_tricks.sliding_window_view(ids, self.n)
        return windows[starts_window[: len(windows)]]

    def context(self, prefix: str) -> str:
        """The n - 1 characters the model looks at after ``prefix`` (dots before the start)."""
        return (BOUNDARY * (self.n - 1) + prefix)[len(prefix) :]

    def next_probs(self, prefix: str) -> np.ndarray:
        """P(next char | context(prefix)). prefix: the name so far -> (V,)."""
        return self.probs[tuple(self.encode(self.context(prefix)))]

    def nll(self, words: Sequence[str]) -> float:
        """Average negative log-likelihood per predicted character (end markers included).

        Lower is better; ln(V) is what a uniform guess scores. A continuation of probability 0
        makes it infinite, which is what add-k smoothing prevents.
        """
        grams = self.ngrams(words)
        with np.errstate(divide="ignore"):
            return float(np.log(1 / self.probs[tuple(grams.T)]).mean())

    def score_word(self, word: str) -> list[dict]:
        """Per step of one word: {context, char, prob, nll}, to show where the loss comes from."""
        grams = self.ngrams([word])
        probs = self.probs[tuple(grams.T)]
        with np.errstate(divide="ignore"):
            nlls = np.log(1 / probs)  # -log p, written so that p = 1 gives 0.0 rather than -0.0
        return [
            {
                "context": "".join(self.chars[i] for i in gram[:-1]),
                "char": self.chars[gram[-1]],
                "prob": float(p),
                "nll": float(loss),
            }
            for gram, p, loss in zip(grams, probs, nlls, strict=True)
        ]

    def sample_trace(
        self,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        top: int = 5,
        max_length: int = 50,
        temperature: float = 1.0,
    ) -> list[dict]:
        """Generate one name step by step, recording every choice.

        Each step: {context (the last n - 1 chars), candidates (the ``top`` most likely next chars
        as [{char, prob}]), probs (all V probabilities, in alphabet order: the order the sampler
        walks them), roll (the uniform draw), chosen, prob}. The probabilities are the row's,
        reshaped by ``temperature`` (sampling.temper). The name ends when "." is drawn, or after
        ``max_length`` characters.
        """
        if rng is None:
            rng = np.random.default_rng(seed)
        name = ""
        steps = []
        while len(name) < max_length:
            row = self.next_probs(name)
            if not row.sum() > 0:
                raise ValueError(f"the table has no counts after {self.context(name)!r}, so the "
                                 f"name {name!r} cannot go on")
            probs = temper(row, temperature)
            index, roll = sample_index(probs, rng)
            best = np.argsort(-probs, kind="stable")[:top]
            steps.append(
                {
                    "context": self.context(name),
                    "candidates": [{"char": self.chars[i], "prob": float(probs[i])} for i in best],
                    "probs": probs.tolist(),
                    "roll": float(roll),
                    "chosen": self.chars[index],
                    "prob": float(probs[index]),
                }
            )
            if index == 0:
                break
            name += self.chars[index]
        return steps

    def sample(
        self,
        rng: np.random.Generator | None = None,
        seed: int | None = None,
        max_length: int = 50,
        temperature: float = 1.0,
    ) -> str:
        """One generated name (without its boundary dots)."""
        steps = self.sample_trace(
            rng=rng, seed=seed, top=0, max_length=max_length, temperature=temperature
        )
        return "".join(step["chosen"] for step in steps if step["chosen"] != BOUNDARY)

    def sample_names(
        self, count: int, seed: int | None = None, temperature: float = 1.0
    ) -> list[str]:
        """``count`` names drawn from one seeded stream."""
        rng = np.random.default_rng(seed)
        return [self.sample(rng=rng, temperature=temperature) for _ in range(count)]

    def nonzero_fraction(self) -> float:
        """Share of table entries ever observed: it collapses as n grows."""
        return float(np.count_nonzero(self.counts) / self.counts.size)


# The book's names (lmlab.data.names) as models and widget answers. Widgets call plain functions
# by dotted path with JSON arguments, so these build the model once and keep it.


@functools.lru_cache(maxsize=8)
def names_model(n: int = 2, k: float = 0.0) -> NGramModel:
    """The n-gram model of every name in lmlab.data.names(), with add-k smoothing (kept)."""
    return NGramModel(data.names(), n=n, k=k)


# The last reader's counter and its counts: a widget asks again for every new name, and counting
# 8,403 names in the reader's pure-Python loop takes a tenth of a second in the browser. Running
# the cell again defines a new function object, which is counted afresh.
_last_counted: list = [None, None]


def reader_counts(counter: Callable, k: float = 0.0) -> np.ndarray:
    """A reader's counter(words, chars) -> (V, V) counts of the names, checked: the right shape,
    numbers, none negative. Raises ValueError with a sentence the reader can act on."""
    model = names_model(2, float(k))
    if _last_counted[0] is counter:
        return _last_counted[1]
    counts = np.asarray(counter(data.names(), list(model.chars)))
    if counts.shape != model.counts.shape:
        raise ValueError(f"the counts should have shape {model.counts.shape} (one row and "
                         f"one column per character), not {counts.shape}")
    if not np.issubdtype(counts.dtype, np.number) or (counts < 0).any():
        raise ValueError("counts must be numbers, none of them negative")
    _last_counted[:] = [counter, counts]
    return counts


def counts_to_probs(counts: np.ndarray, k: float = 0.0) -> np.ndarray:
    """Add-k smoothing and each row divided by its total. counts (V, V) -> probs (V, V); a row
    with no counts at all stays zeros."""
    smoothed = counts + k
    totals = smoothed.sum(axis=1, keepdims=True)
    return np.divide(smoothed, totals, out=np.zeros(smoothed.shape), where=totals > 0)


def bigram_table(k: float = 0.0, counter: Callable | None = None) -> dict:
    """The names' bigram table for the BigramTable widget.

    -> {chars (V,), counts (V, V) ints, probs (V, V), row_totals (V,)}; rows are the current
    character, columns the next one. ``counter``, when given, is a reader's function
    counter(words, chars) -> (V, V) counts, used instead of lmlab's counting (the same add-k
    smoothing turns its counts into probabilities).
    """
    model = names_model(2, float(k))
    counts = model.counts if counter is None else reader_counts(counter, k)
    probs = counts_to_probs(counts, k)
    return {
        "chars": model.chars,
        "counts": counts.tolist(),
        "probs": probs.tolist(),
        "row_totals": counts.sum(axis=1).tolist(),
        "differs": int(np.count_nonzero(counts != model.counts)),
    }


def draw_from_row(probs: Sequence[float], seed: int) -> dict:
    """One draw from a row of probabilities (V,), as the sampler makes it: walking the row in
    order. -> {probs (V,), roll (the uniform draw), index}."""
    row = np.asarray(probs, dtype=np.float64)
    index, roll = sample_index(row, np.random.default_rng(seed))
    return {"probs": row.tolist(), "roll": float(roll), "index": int(index)}


def draw_next(char: str, seed: int, temperature: float = 1.0, k: float = 0.0) -> dict:
    """One draw from the names' bigram row of ``char``, as the sampler makes it.

    -> {probs (V,) in alphabet order, roll (the uniform draw), index, chosen}.
    """
    model = names_model(2, float(k))
    probs = temper(model.next_probs(char if char != BOUNDARY else ""), temperature)
    drawn = draw_from_row(probs, seed)
    return {**drawn, "chosen": model.chars[drawn["index"]]}


def name_trace(
    seed: int, temperature: float = 1.0, k: float = 0.0, top: int = 5,
    counter: Callable | None = None,
) -> dict:
    """One name generated by the names' bigram model, every step recorded (NameGenerator).

    ``counter``, when given, is a reader's counter(words, chars) -> (V, V) counts (their
    bigram_counts): the name is then drawn from their table. -> {chars (V,), steps:
    NGramModel.sample_trace(...), name, differs (cells where the counts are not lmlab's)}.
    """
    model = names_model(2, float(k))
    differs = 0
    if counter is not None:
        counts = reader_counts(counter, k)
        differs = int(np.count_nonzero(counts != model.counts))
        model = copy.copy(model)  # the cached model keeps lmlab's own table
        model.counts, model.probs = counts, counts_to_probs(counts, k)
    steps = model.sample_trace(seed=seed, top=top, temperature=temperature)
    name = "".join(step["chosen"] for step in steps if step["chosen"] != BOUNDARY)
    return {"chars": model.chars, "steps": steps, "name": name, "differs": differs}
