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

Encoding replays the merges by rank (the earliest learned first). That gives exactly the
segmentation training reached, because a merge only creates pairs that contain its new token,
and such pairs can only have been learned later.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from functools import lru_cache

from lmlab.bpe import merge_pair
from lmlab.gpt2 import PRETOKENIZER, GPT2Tokenizer

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
    Counts are kept up to date instead of recounted: a merge touches only the words holding it.
    """
    totals: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = defaultdict(set)  # pair -> indices of the words holding it
    # Pairs by count, so the leader and every pair tied with it are one lookup away. No count
    # ever rises above the current best (a new pair occurs at most as often as the merge that
    # made it), so the best count only ever goes down.
    bucket: dict[int, set[Pair]] = defaultdict(set)

    def tally(w: int, sign: int) -> None:
        """Add (sign +1) or take away (-1) the pairs of word w."""
        word, n = words[w], sign * counts[w]
        for pair in zip(word, word[1:], strict=False):
            old = totals.get(pair, 0)
            if old:
                bucket[old].discard(pair)
            new = old + n
            if new:
                totals[pair] = new
                bucket[new].add(pair)
                if sign > 0:
                    where[pair].add(w)
                else:
                    where[pair].discard(w)
            else:
                del totals[pair], where[pair]

    def first_place(pair: Pair) -> tuple[int, int]:
        w = min(where[pair])
        word = words[w]
        return w, next(i for i in range(len(word) - 1) if (word[i], word[i + 1]) == pair)

    def leaders(n: int) -> list[tuple[Pair, int]]:
        """The n most frequent pairs, [(pair, count)], ties in text order."""
        found: list[tuple[Pair, int]] = []
        for count in range(best_count, 0, -1):
            found += [(p, count) for p in sorted(bucket.get(count, ()), key=first_place)]
            if len(found) >= n:
                break
        return found[:n]

    for w in range(len(words)):
        tally(w, +1)
    num_tokens = sum(len(word) * count for word, count in zip(words, counts, strict=True))
    best_count = max(totals.values(), default=0)
    done = 0
    while totals and (num_merges is None or done < num_merges):
        while not bucket.get(best_count):
            best_count -= 1
        if best_count < min_count:
            return
        tied = sorted(bucket[best_count], key=first_place)
        best = tied[0]
        top = leaders(top_n) if top_n else []
        for w in sorted(where[best]):
            tally(w, -1)
            before = len(words[w])
            words[w] = merge_pair(words[w], best, best[0] + best[1])
            num_tokens -= (before - len(words[w])) * counts[w]
            tally(w, +1)
        done += 1
        yield {"pair": best, "count": best_count, "tied": tied, "num_tokens": num_tokens,
               "top": top}


def train(text: str, num_merges: int | None = None, level: str = "chars",
          min_count: int = 2) -> list[Pair]:
    """The merges learned on a text's pieces, in the order learned: [(left, right)]."""
    words, counts = piece_table(text, level)
    return [merge["pair"] for merge in learn(words, counts, num_merges, min_count)]


def encode_piece(piece: str, ranks: dict[Pair, int], level: str = "chars") -> list[Symbol]:
    """One piece's tokens: merge the adjacent pair of lowest rank until no known pair is left."""
    parts = to_symbols(piece, level)
    while len(parts) > 1:
        rank, pair = min((ranks.get(p, len(ranks)), p) for p in zip(parts, parts[1:], strict=False))
        if rank == len(ranks):
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
    after = [sum(len(word) * count for word, count in zip(words, counts, strict=True))]
    for merge in learn(words, counts, max(sizes) - base, min_count=1):
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


def bpe_visualizer(text: str, level: str = "chars", num_merges: int = 100,
                   corpus_chars: int = 10_000, top_n: int = 6) -> dict:
    """Every step of BPE learned on the first corpus_chars characters of tiny-shakespeare plus the
    reader's text, pre-split as GPT-2 does, and the reader's text under each step's merges.

    -> {level, base_vocab, corpus: {chars, pieces, distinct}, text_symbols, final (the reader's
    text under all merges, by rank), steps: [{step, pair, new_token, count, tied, top, vocab_size,
    corpus_tokens, tokens (the reader's text now), merged_at (indices of tokens just made),
    num_tokens, compression}]} with every symbol shown as text (see show()).
    Step 0 is the start; steps[k]["top"] are the pair counts that choose merge k + 1.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 'chars' or 'bytes', got {level!r}")
    background = _background(corpus_chars)
    table = _background_pieces(corpus_chars) + Counter(split_pieces("\n" + text))
    words = [to_symbols(piece, level) for piece in table]
    counts = list(table.values())
    base_vocab = 256 if level == "bytes" else len(set(background) | set(text) | {"\n"})
    start_tokens = sum(len(word) * count for word, count in zip(words, counts, strict=True))
    # One merge more than shown: its "top" table is the pair counts of the last state.
    merges = list(learn(words, counts, num_merges + 1, min_count=2, top_n=top_n))
    pieces = [to_symbols(piece, level) for piece in split_pieces(text)]
    text_symbols = sum(len(piece) for piece in pieces)
    steps = []
    for k in range(min(len(merges), num_merges) + 1):
        made = None
        if k > 0:
            made = merges[k - 1]["pair"]
            pieces = [merge_pair(piece, made, made[0] + made[1]) for piece in pieces]
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
            "vocab_size": base_vocab + k,
            "corpus_tokens": merges[k - 1]["num_tokens"] if k else start_tokens,
            "tokens": [show(token) for token in tokens],
            "merged_at": [i for i, t in enumerate(tokens) if made and t == made[0] + made[1]],
            "num_tokens": len(tokens),
            "compression": 1 - len(tokens) / text_symbols if text_symbols else 0.0,
        })
    shown = [merge["pair"] for merge in merges[:num_merges]]
    return {
        "level": level,
        "base_vocab": base_vocab,
        "corpus": {"chars": len(background), "pieces": sum(counts),
                   "distinct": len(words)},
        "text_symbols": text_symbols,
        "final": [show(token) for token in encode(text, shown, level)],
        "steps": steps,
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
