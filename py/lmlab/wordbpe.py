"""BPE as GPT-2 trains it: merges learned inside pre-tokenized pieces, never across them.

bpe.py learns merges on a text as one stream, so a merge may swallow a space and glue two words
together (" low low"). GPT-2 first cuts the text into pieces with its regular expression (a word
with its leading space, a number, a run of punctuation: gpt2.PRETOKENIZER) and merges only inside
a piece. Training then needs each distinct piece once, with how often it occurs: a table of word
frequencies, in which a pair's count is the sum of the counts of the pieces holding it.

Symbols are characters (level "chars") or UTF-8 bytes (level "bytes", each a one-byte `bytes`).
A merged symbol is the concatenation of its pair, so every token reads as the text it covers.

Tie-break, as in bpe.py: the most frequent pair; among pairs with the same count, the one that
occurs first in the text (pieces in order of first appearance, then position inside the piece).

Two trainers learn the same merges: learn, here, is the textbook loop that recounts every pair
at every step (and can run on a reader's own get_pair_counts and merge_pair); train, the
visualizer and the vocabulary-size sweep use wordbpe_fast.IncrementalTrainer, which keeps the
counts and changes them only where a merge changed the text.

Encoding replays the merges by rank (the earliest learned first). That gives exactly the
segmentation training reached, because a merge only creates pairs that contain its new token,
and such pairs can only have been learned later.
"""

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

from lmlab import bpe
from lmlab.bpe import get_pair_counts, merge_pair
from lmlab.gpt2 import PRETOKENIZER, GPT2Tokenizer
from lmlab.wordbpe_fast import IncrementalTrainer, RecordedRun

Symbol = str | bytes
Pair = tuple[Symbol, Symbol]
LEVELS = ("chars", "bytes")


def split_pieces(text: str) -> list[str]:
    """GPT-2's pre-tokenization: "Hello world!!" -> ["Hello", " world", "!!"]."""
    return PRETOKENIZER.findall(text)


def to_symbols(piece: str, level: str = "chars") -> list[Symbol]:
    """A piece as base symbols: its characters, or its UTF-8 bytes (one `bytes` each)."""
    if level == "chars":
        return list(piece)
    if level == "bytes":
        return [bytes([b]) for b in piece.encode("utf-8")]
    raise ValueError(f"level must be 'chars' or 'bytes', got {level!r}")


def show(symbol: Symbol) -> str:
    """A symbol as text; bytes that are not whole UTF-8 characters show as escapes (\\xe2)."""
    if isinstance(symbol, bytes):
        return symbol.decode("utf-8", errors="backslashreplace")
    return symbol


def piece_table(text: str, level: str = "chars") -> tuple[list[list[Symbol]], list[int]]:
    """Distinct pieces as symbol lists, in order of first appearance, and how often each occurs.

    -> (words: P lists of symbols, counts: P ints); sum(counts) = len(split_pieces(text)).
    """
    counts = Counter(split_pieces(text))  # a Counter keeps the order of first appearance
    return [to_symbols(piece, level) for piece in counts], list(counts.values())


def pair_counts(words: Sequence[Sequence[Symbol]], counts: Sequence[int]) -> Counter:
    """{pair: occurrences}, each piece's pairs weighted by how often the piece occurs."""
    totals: Counter = Counter()
    for word, count in zip(words, counts, strict=True):
        for pair in zip(word, word[1:], strict=False):
            totals[pair] += count
    return totals


def learn(
    words: list[list[Symbol]],
    counts: Sequence[int],
    num_merges: int | None = None,
    min_count: int = 2,
    top_n: int = 0,
) -> Iterator[dict]:
    """Learn merges on a word-frequency table (words are changed in place), one dict per merge:

    {pair, count, tied (every pair with the same count, the chosen one first, in text order),
    num_tokens (tokens of the whole text after this merge), top (the top_n pairs by count just
    before this merge, as [(pair, count)], when top_n > 0)}.

    Stops after num_merges merges, or when the best pair occurs fewer than min_count times.
    This is the textbook loop: every step counts every pair of every word again (weighted by
    the word's count) and merges the best pair in every word that holds it.
    wordbpe_fast.IncrementalTrainer learns the same merges without the recount. A dict keeps
    the order in which pairs were first counted, and max and a stable sort keep the first of
    equals: that is the tie-break, the pair that occurs first.
    """
    done = 0
    while num_merges is None or done < num_merges:
        pairs_of = [get_pair_counts(word) for word in words]  # {pair: times} for each word
        totals: dict[Pair, int] = {}
        for pairs, count in zip(pairs_of, counts, strict=True):
            for pair, times in pairs.items():
                totals[pair] = totals.get(pair, 0) + times * count
        if not totals:
            return
        best = max(totals, key=totals.get)
        if totals[best] < min_count:
            return
        tied = [pair for pair, total in totals.items() if total == totals[best]]
        top = sorted(totals.items(), key=lambda item: -item[1])[:top_n]
        for w, pairs in enumerate(pairs_of):
            if best in pairs:
                words[w] = merge_pair(words[w], best, best[0] + best[1])
        done += 1
        num_tokens = sum(len(word) * count for word, count in zip(words, counts, strict=True))
        yield {"pair": best, "count": totals[best], "tied": tied, "num_tokens": num_tokens,
               "top": top}


def train(text: str, num_merges: int | None = None, level: str = "chars",
          min_count: int = 2) -> list[Pair]:
    """The merges learned on a text's pieces, in the order learned: [(left, right)]."""
    trainer = IncrementalTrainer(*piece_table(text, level))
    return [merge["pair"] for merge in trainer.learn(num_merges, min_count)]


def encode_piece(piece: str, ranks: dict[Pair, int], level: str = "chars") -> list[Symbol]:
    """One piece's tokens: merge the adjacent pair of lowest rank until no known pair is left."""
    parts = to_symbols(piece, level)
    unknown = len(ranks)
    while len(parts) > 1:
        pair = min(zip(parts, parts[1:], strict=False), key=lambda p: ranks.get(p, unknown))
        if pair not in ranks:
            break
        parts = merge_pair(parts, pair, pair[0] + pair[1])
    return parts


def encode(text: str, merges: Sequence[Pair], level: str = "chars") -> list[Symbol]:
    """A text's tokens under learned merges, piece by piece. -> list of symbols."""
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    return [token for piece in split_pieces(text) for token in encode_piece(piece, ranks, level)]


def tokens_per_vocab_size(text: str, sizes: Sequence[int], level: str = "bytes") -> dict:
    """How many tokens the text takes when BPE is trained on it up to each vocabulary size.

    -> {"base": base vocabulary size, "tokens": [tokens at each size], "pieces": pieces}.
    Sizes below the base vocabulary (256 bytes, or the text's distinct characters) are refused.
    """
    words, counts = piece_table(text, level)
    base = 256 if level == "bytes" else len({ch for word in words for ch in word})
    if min(sizes) < base:
        raise ValueError(f"the base vocabulary already has {base} tokens")
    trainer = IncrementalTrainer(words, counts)
    after = [trainer.num_tokens]
    for merge in trainer.learn(max(sizes) - base, min_count=1):
        after.append(merge["num_tokens"])
    # A text too short to reach a size keeps its last count (no pair is left to merge).
    return {"base": base, "tokens": [after[min(s - base, len(after) - 1)] for s in sizes],
            "pieces": sum(counts)}


# The BpeVisualizer widget.


@lru_cache(maxsize=4)
def _background(corpus_chars: int) -> str:
    from lmlab import data

    return data.read_text("shakespeare.txt")[:corpus_chars]


@lru_cache(maxsize=4)
def _background_pieces(corpus_chars: int) -> Counter:
    return Counter(split_pieces(_background(corpus_chars)))


@lru_cache(maxsize=8)
def _background_run(corpus_chars: int, level: str, num_merges: int, top_n: int) -> RecordedRun:
    """The background's word table trained once per corpus, level and length (see RecordedRun):
    each call of bpe_visualizer adds the reader's words to it."""
    table = _background_pieces(corpus_chars)
    trainer = IncrementalTrainer([to_symbols(piece, level) for piece in table],
                                 list(table.values()))
    return RecordedRun(trainer, num_merges, head=top_n + 10)


def prepare_visualizer(level: str = "chars", num_merges: int = 100, corpus_chars: int = 10_000,
                       top_n: int = 6) -> None:
    """Train the background once now (see _background_run), so that the reader's first keystroke
    in the BpeVisualizer costs what the later ones cost. The widget calls it when Python is
    ready."""
    _background_run(corpus_chars, level, num_merges + 1, top_n)


class OnIds:
    """A reader's get_pair_counts and merge_pair, written for lists of integer ids as chapter 3's
    exercise asks, used on symbols: each symbol is numbered as the exercise numbers it (a byte
    by its value, a character by its place in the sorted alphabet), and each merged symbol gets
    the next id the first time it is made, so ids follow the order the merges are learned."""

    def __init__(self, base: Sequence[Symbol], get_pair_counts: Callable | None,
                 merge_pair: Callable | None) -> None:
        self.symbols = list(base)
        self.ids = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.theirs_count = get_pair_counts
        self.theirs_merge = merge_pair

    def id_of(self, symbol: Symbol) -> int:
        """A symbol's id; a symbol not seen before (a merge's new one) gets the next id."""
        if symbol not in self.ids:
            self.ids[symbol] = len(self.symbols)
            self.symbols.append(symbol)
        return self.ids[symbol]

    def symbol(self, value: object, said: str) -> Symbol:
        """The symbol of an id the reader's function returned; a readable error if it is none."""
        known = isinstance(value, int) and not isinstance(value, bool)
        if known and 0 <= value < len(self.symbols):
            return self.symbols[value]
        raise ValueError(f"{said}, but {value!r} is not the id of any token here")

    def get_pair_counts(self, word: list[Symbol]) -> dict[Pair, int]:
        ids = [self.id_of(s) for s in word]
        counts = self.theirs_count(ids)
        said = f"get_pair_counts({ids}) returned {counts!r}"
        if not isinstance(counts, dict):
            raise TypeError(f"{said}: it should return a dict {{(a, b): count}}")
        neighbours = set(zip(ids, ids[1:], strict=False))
        pairs = {}
        for pair, times in counts.items():
            if not (isinstance(pair, tuple) and isinstance(times, int) and times > 0):
                raise TypeError(f"{said}: each key should be a pair (a, b), each value a count")
            if pair not in neighbours:
                raise ValueError(f"{said}, but {pair!r} are not neighbours in that list")
            pairs[self.symbol(pair[0], said), self.symbol(pair[1], said)] = times
        return pairs

    def merge_pair(self, word: list[Symbol], pair: Pair, new: Symbol) -> list[Symbol]:
        args = ([self.id_of(s) for s in word], (self.ids[pair[0]], self.ids[pair[1]]),
                self.id_of(new))
        merged = self.theirs_merge(*args)
        said = "merge_pair({}, {}, {}) returned {!r}".format(*args, merged)
        if not isinstance(merged, list):
            raise TypeError(f"{said}: it should return a list of ids")
        return [self.symbol(i, said) for i in merged]


def first_difference(mine: Sequence[Pair], reference: Sequence[Pair]) -> int | None:
    """The first step (counting from 1) at which two lists of merges differ, or None."""
    for step, (a, b) in enumerate(zip(mine, reference, strict=False), start=1):
        if a != b:
            return step
    return None if len(mine) == len(reference) else min(len(mine), len(reference)) + 1


def bpe_visualizer(text: str, level: str = "chars", num_merges: int = 100,
                   corpus_chars: int = 10_000, top_n: int = 6,
                   get_pair_counts: Callable | None = None,
                   merge_pair: Callable | None = None) -> dict:
    """Every step of BPE learned on the first corpus_chars characters of tiny-shakespeare plus the
    reader's text, pre-split as GPT-2 does, and the reader's text under each step's merges.

    -> {level, base_vocab, corpus: {chars, pieces, distinct}, text_symbols, final (the reader's
    text under all merges, by rank), steps: [{step, pair, new_token, count, tied, top, vocab_size,
    corpus_tokens, tokens (the reader's text now), merged_at (indices of tokens just made),
    num_tokens, compression}], mine} with every symbol shown as text (see show()).
    Step 0 is the start; steps[k]["top"] are the pair counts that choose merge k + 1.

    By default the merges come from the background's RecordedRun (trained once) plus the word
    counts of the reader's text. With a reader's get_pair_counts and/or merge_pair (exercise
    functions on integer ids, see OnIds) an IncrementalTrainer counts and merges with them
    instead (ties are still broken by lmlab's rule), and mine = {"first_difference": the first
    step whose merge differs from lmlab's, or None}; otherwise mine is None.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 'chars' or 'bytes', got {level!r}")
    background = _background(corpus_chars)
    alphabet = sorted(set(background) | set(text) | {"\n"})
    base = [bytes([b]) for b in range(256)] if level == "bytes" else alphabet
    added = Counter(split_pieces("\n" + text))
    added_words = [to_symbols(piece, level) for piece in added]
    added_counts = list(added.values())
    run = _background_run(corpus_chars, level, num_merges + 1, top_n)
    table = run.start
    start_tokens = table.num_tokens + sum(
        len(word) * count for word, count in zip(added_words, added_counts, strict=True))
    pieces_seen = sum(table.counts) + sum(added_counts)
    distinct = len(table.words) + sum(tuple(word) not in table.index for word in added_words)
    # One merge more than shown: its "top" table is the pair counts of the last state.
    lmlab_merges = run.learn(added_words, added_counts, num_merges + 1, min_count=2, top_n=top_n)
    merge_text = bpe.merge_pair  # (merge_pair is the reader's here)
    if get_pair_counts is None and merge_pair is None:
        merges = list(lmlab_merges)
        mine = None
    else:
        theirs = OnIds(base, get_pair_counts, merge_pair)
        own = (get_pair_counts and theirs.get_pair_counts, merge_pair and theirs.merge_pair)
        everything = _background_pieces(corpus_chars) + added
        trainer = IncrementalTrainer([to_symbols(piece, level) for piece in everything],
                                     list(everything.values()), *own)
        merges = list(trainer.learn(num_merges + 1, min_count=2, top_n=top_n))
        if merge_pair is not None:
            merge_text = theirs.merge_pair
        mine = {"first_difference": first_difference(
            [merge["pair"] for merge in merges[:num_merges]],
            [merge["pair"] for merge in lmlab_merges][:num_merges])}
    pieces = [to_symbols(piece, level) for piece in split_pieces(text)]
    text_symbols = sum(len(piece) for piece in pieces)
    steps = []
    for k in range(min(len(merges), num_merges) + 1):
        made = None
        if k > 0:
            made = merges[k - 1]["pair"]
            pieces = [merge_text(piece, made, made[0] + made[1]) if made[0] in piece else piece
                      for piece in pieces]
        tokens = [token for piece in pieces for token in piece]
        table = merges[k]["top"] if k < len(merges) else []
        leader = merges[k] if k < len(merges) else None
        steps.append({
            "step": k,
            "pair": made and [show(made[0]), show(made[1])],
            "new_token": made and show(made[0] + made[1]),
            "count": merges[k - 1]["count"] if k else None,
            "top": [[show(a), show(b), c] for (a, b), c in table],
            "tied": leader and [[show(a), show(b)] for a, b in leader["tied"]],
            "vocab_size": len(base) + k,
            "corpus_tokens": merges[k - 1]["num_tokens"] if k else start_tokens,
            "tokens": tokens if level == "chars" else [show(token) for token in tokens],
            "merged_at": [i for i, t in enumerate(tokens) if made and t == made[0] + made[1]],
            "num_tokens": len(tokens),
            "compression": 1 - len(tokens) / text_symbols if text_symbols else 0.0,
        })
    shown = [merge["pair"] for merge in merges[:num_merges]]
    return {
        "level": level,
        "base_vocab": len(base),
        "corpus": {"chars": len(background), "pieces": pieces_seen, "distinct": distinct},
        "text_symbols": text_symbols,
        "final": [show(token) for token in encode(text, shown, level)],
        "steps": steps,
        "mine": mine,
    }


# The GPT-2 tokenizer playground.


@lru_cache(maxsize=1)
def gpt2_tokenizer() -> GPT2Tokenizer:
    """GPT-2's tokenizer from the book's data files (loaded once)."""
    from lmlab import data

    files = data.gpt2_files()
    return GPT2Tokenizer.from_files(files["encoder.json"], files["vocab.bpe"])


@lru_cache(maxsize=4)
def book_merges(num_merges: int = 500, corpus_chars: int = 100_000) -> tuple[Pair, ...]:
    """Byte-level merges learned on the first corpus_chars characters of tiny-shakespeare."""
    return tuple(train(_background(corpus_chars), num_merges, "bytes"))


def playground(text: str, num_merges: int = 500, corpus_chars: int = 100_000) -> dict:
    """A text under GPT-2's tokenizer and under the book's small byte-level BPE.

    -> {chars, bytes, gpt2: {tokens, ids}, book: {tokens, ids, merges, corpus_chars}}; tokens
    as text (show()); the book's ids are bytes 0..255, then 256 + the merge's rank.
    """
    gpt2 = gpt2_tokenizer()
    ids = gpt2.encode(text)
    merges = book_merges(num_merges, corpus_chars)
    new_ids = {pair[0] + pair[1]: 256 + rank for rank, pair in enumerate(merges)}
    book = encode(text, merges, "bytes")
    return {
        "chars": len(text),
        "bytes": len(text.encode("utf-8")),
        "gpt2": {"tokens": gpt2.token_strings(ids), "ids": ids},
        "book": {"tokens": [show(t) for t in book],
                 "ids": [t[0] if len(t) == 1 else new_ids[t] for t in book],
                 "merges": len(merges), "corpus_chars": corpus_chars},
    }
