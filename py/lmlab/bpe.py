"""Byte-pair encoding (BPE): learn subword tokens by merging the most frequent adjacent pair.

Training starts from the text as a list of base ids (its UTF-8 bytes, 0..255, or its characters
numbered by a character alphabet), counts every adjacent pair, replaces the most frequent pair
everywhere by a new id, and repeats. The ordered list of merges *is* the tokenizer: encoding new
text replays the merges by priority (the earliest learned first, as GPT-2 and minbpe do), so the
same text always gives the same tokens. Nothing about it is random.

Tie-break (documented, deterministic): the most frequent pair wins; among pairs with the same
count, the one whose first occurrence in the current sequence comes first. Pairs are counted as
get_pair_counts counts them: every adjacent position, so "aaa" holds the pair (a, a) twice, while
merge_pair replaces non-overlapping occurrences from left to right ("aaa" -> [aa, a]).

Byte-level BPE (GPT-2) can encode any text, because every string is a sequence of bytes.
Character-level BPE is limited to the characters of its alphabet: anything else is unknown, the
same problem as a word tokenizer's [UNK], one level down.
"""

import heapq
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator, Sequence
from typing import TypeVar

import numpy as np

Pair = tuple[int, int]
Symbol = TypeVar("Symbol", bound=Hashable)  # token ids here; GPT-2's tokenizer merges strings
NUM_BYTES = 256


# The five functions of the notebook.


def get_pair_counts(ids: Sequence[int]) -> dict[Pair, int]:
    """How often each adjacent pair occurs, in order of first occurrence. (N,) -> {pair: count}."""
    return Counter(zip(ids, ids[1:], strict=False))


def merge_pair(
    ids: Sequence[Symbol], pair: tuple[Symbol, Symbol], new_id: Symbol
) -> list[Symbol]:
    """Replace every occurrence of ``pair`` (left to right, not overlapping) by ``new_id``."""
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def train_bpe(
    text_or_ids: str | Sequence[int],
    num_merges: int | None = None,
    *,
    vocab_size: int | None = None,
    alphabet: Sequence[str] | None = None,
    min_count: int = 1,
) -> dict[Pair, int]:
    """Learn merges {pair: new_id}, in the order they were learned.

    Byte-level by default (base ids 0..255, new ids from 256); with a character ``alphabet``
    (see char_alphabet) the base ids are positions in it and new ids start at len(alphabet).
    Stops after ``num_merges`` merges (or when the vocabulary reaches ``vocab_size``), when no
    pair is left, or when the best pair occurs fewer than ``min_count`` times.
    """
    learned = learn_merges(
        text_or_ids, num_merges, vocab_size=vocab_size, alphabet=alphabet, min_count=min_count
    )
    return {pair: new_id for pair, new_id, _ in learned}


def encode(text: str, merges: dict[Pair, int], alphabet: Sequence[str] | None = None) -> list[int]:
    """Token ids of a text: its base ids, then the learned merges, earliest merge first."""
    ids = text_to_ids(text, alphabet)
    while len(ids) >= 2:
        counts = get_pair_counts(ids)
        pair = min(counts, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no pair left that the tokenizer knows how to merge
        ids = merge_pair(ids, pair, merges[pair])
    return ids


def decode(ids: Sequence[int], vocab: dict[int, bytes] | dict[int, str]) -> str:
    """Text of a list of token ids. Byte tokens are joined, then decoded as UTF-8."""
    pieces = [vocab[i] for i in ids]
    if pieces and isinstance(pieces[0], bytes):
        return b"".join(pieces).decode("utf-8", errors="replace")
    return "".join(pieces)


# Base ids and the vocabulary.


def char_alphabet(text: str) -> list[str]:
    """The characters of a text, sorted: the base vocabulary of character-level BPE."""
    return sorted(set(text))


def text_to_ids(text: str, alphabet: Sequence[str] | None = None) -> list[int]:
    """Base ids: UTF-8 bytes when alphabet is None, otherwise positions in the alphabet."""
    if alphabet is None:
        return list(text.encode("utf-8"))
    index = {ch: i for i, ch in enumerate(alphabet)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise ValueError(f"characters not in the BPE alphabet: {unknown}")
    return [index[ch] for ch in text]


def build_vocab(
    merges: dict[Pair, int], alphabet: Sequence[str] | None = None
) -> dict[int, bytes] | dict[int, str]:
    """{id: token}: the base tokens, then each merged token as the join of its pair."""
    if alphabet is None:
        vocab = {i: bytes([i]) for i in range(NUM_BYTES)}
    else:
        vocab = dict(enumerate(alphabet))
    for (left, right), new_id in merges.items():
        vocab[new_id] = vocab[left] + vocab[right]
    return vocab


def token_strings(ids: Sequence[int], vocab: dict[int, bytes] | dict[int, str]) -> list[str]:
    """Each token as text. A byte token that is not whole UTF-8 shows its bytes as escapes."""
    return [
        token.decode("utf-8", errors="backslashreplace") if isinstance(token, bytes) else token
        for token in (vocab[i] for i in ids)
    ]


# Fast training.


def learn_merges(
    text_or_ids: str | Sequence[int],
    num_merges: int | None = None,
    *,
    vocab_size: int | None = None,
    alphabet: Sequence[str] | None = None,
    min_count: int = 1,
) -> list[tuple[Pair, int, int]]:
    """The merges train_bpe learns, as [(pair, new_id, count)], count taken just before merging.

    Recounting every pair after every merge costs a pass over the whole text per merge. Instead
    the text lives in a linked list of positions, and for every pair we keep the set of positions
    where it starts; a merge touches only the positions of the merged pair and their neighbours.
    A heap ordered by (-count, first position) finds the next pair; entries that went stale are
    skipped when popped. The result is identical to the straightforward loop, tie-break included,
    because positions keep the text's order, so the smallest position is the first occurrence.
    (Popping the best pair removes it from the heap: it is merged everywhere and cannot return.)
    """
    first_id = NUM_BYTES if alphabet is None else len(alphabet)
    if isinstance(text_or_ids, str):
        ids = text_to_ids(text_or_ids, alphabet)
    else:
        ids = list(text_or_ids)
        if ids and not 0 <= min(ids) <= max(ids) < first_id:
            raise ValueError(f"base ids must lie in [0, {first_id})")
    if num_merges is not None and vocab_size is not None:
        raise ValueError("give num_merges or vocab_size, not both")
    if vocab_size is not None:
        if vocab_size < first_id:
            raise ValueError(f"vocab_size must be at least the {first_id} base tokens")
        num_merges = vocab_size - first_id
    if num_merges is not None and num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")
    return list(_fast_merges(ids, first_id, num_merges, min_count))


def _fast_merges(
    ids: list[int], first_id: int, num_merges: int | None, min_count: int
) -> Iterator[tuple[Pair, int, int]]:
    tokens = ids  # tokens[p]: the token starting at position p, or -1 once merged into another
    after = [*range(1, len(tokens)), -1]  # a linked list over the live positions
    before = list(range(-1, len(tokens) - 1))
    where: dict[Pair, set[int]] = defaultdict(set)  # pair -> positions where it starts
    # first[pair] is a lower bound of the pair's first position: exact when the position is
    # still in where[pair]. Recomputing the minimum after every removal would cost more than
    # everything else, so it is refreshed only when the pair reaches the top of the heap.
    first: dict[Pair, int] = {}
    for p in range(len(tokens) - 1):
        pair = (tokens[p], tokens[p + 1])
        where[pair].add(p)
        first.setdefault(pair, p)
    heap = [(-len(positions), first[pair], pair) for pair, positions in where.items()]
    heapq.heapify(heap)
    changed: set[Pair] = set()

    def add(pair: Pair, p: int) -> None:
        where[pair].add(p)
        if p < first.get(pair, p + 1):
            first[pair] = p
        changed.add(pair)

    def remove(pair: Pair, p: int) -> None:
        positions = where[pair]
        positions.discard(p)
        if not positions:
            del where[pair], first[pair]
        changed.add(pair)

    def pop_best() -> tuple[Pair, int] | None:
        """The most frequent pair (first occurrence first on ties) and its count."""
        while heap:
            neg_count, position, pair = heapq.heappop(heap)
            if pair not in where or len(where[pair]) != -neg_count or first[pair] != position:
                continue  # stale: a newer entry for this pair is in the heap
            if position not in where[pair]:
                # Only a lower bound: fix it and let the pair compete with its true position.
                first[pair] = min(where[pair])
                heapq.heappush(heap, (neg_count, first[pair], pair))
                continue
            return pair, -neg_count
        return None

    new_id = first_id
    while num_merges is None or new_id < first_id + num_merges:
        best = pop_best()
        if best is None or best[1] < min_count:
            return
        pair, count = best
        left, right = pair
        positions = where[pair]
        for p in sorted(positions):
            if p not in positions:
                continue  # swallowed by the previous merge, as in "aaa" -> [aa, a]
            q = after[p]
            if before[p] != -1:
                remove((tokens[before[p]], left), before[p])
            remove(pair, p)
            if after[q] != -1:
                remove((right, tokens[after[q]]), q)
            tokens[p], tokens[q] = new_id, -1
            after[p] = after[q]
            if after[q] != -1:
                before[after[q]] = p
            if before[p] != -1:
                add((tokens[before[p]], new_id), before[p])
            if after[p] != -1:
                add((new_id, tokens[after[p]]), p)
        for changed_pair in changed:
            if changed_pair in where:
                entry = (-len(where[changed_pair]), first[changed_pair], changed_pair)
                heapq.heappush(heap, entry)
        changed.clear()
        yield pair, new_id, count
        new_id += 1


# The BpeVisualizer widget.


def bpe_trace(
    text: str, num_merges: int | None = None, level: str = "chars", min_count: int = 2
) -> list[dict]:
    """Step-by-step BPE training on a short text, one dict per step (step 0 = the start).

    Each step: {step, tokens (as strings), pair (the two merged tokens, None at step 0),
    new_token, count, vocab_size, num_tokens, compression_ratio (start length / now)}.
    ``level`` is "chars" (base vocabulary: the text's characters) or "bytes" (all 256 bytes).
    By default it stops when no pair occurs more than once.
    """
    if level not in ("chars", "bytes"):
        raise ValueError(f"level must be 'chars' or 'bytes', got {level!r}")
    alphabet = char_alphabet(text) if level == "chars" else None
    ids = text_to_ids(text, alphabet)
    merges = learn_merges(ids, num_merges, alphabet=alphabet, min_count=min_count)
    vocab = build_vocab({pair: new_id for pair, new_id, _ in merges}, alphabet)
    start_length = len(ids)
    trace = []
    for step in range(len(merges) + 1):
        merged = count = None
        if step > 0:
            pair, new_id, count = merges[step - 1]
            ids = merge_pair(ids, pair, new_id)
            merged = token_strings([*pair, new_id], vocab)
        trace.append(
            {
                "step": step,
                "tokens": token_strings(ids, vocab),
                "pair": merged and merged[:2],
                "new_token": merged and merged[2],
                "count": count,
                "vocab_size": len(vocab) - len(merges) + step,
                "num_tokens": len(ids),
                "compression_ratio": start_length / max(len(ids), 1),
            }
        )
    return trace


# Encoding a long text fast.


def merge_pair_array(ids: np.ndarray, pair: Pair, new_id: int) -> np.ndarray:
    """merge_pair on an int array, in a few numpy passes instead of a Python loop. (N,) -> (M,).

    Occurrences of (a, b) with a != b cannot overlap, so all of them merge. For (a, a), a run of
    r copies of a holds r - 1 overlapping occurrences, and merging left to right takes the 1st,
    3rd, 5th, ... of them: those that start an even distance from the run's first a.
    """
    ids = np.asarray(ids)
    if len(ids) < 2:
        return ids.copy()
    left, right = pair
    starts = np.flatnonzero((ids[:-1] == left) & (ids[1:] == right))
    if left == right and len(starts):
        is_left = ids == left
        run_begins = is_left & np.concatenate([[True], ~is_left[:-1]])
        run_start = np.maximum.accumulate(np.where(run_begins, np.arange(len(ids)), 0))
        starts = starts[(starts - run_start[starts]) % 2 == 0]
    merged = ids.copy()
    merged[starts] = new_id
    return np.delete(merged, starts + 1)


def encode_fast(text: str, merges: dict[Pair, int]) -> np.ndarray:
    """encode for byte-level merges, on a long text: the same ids, as an int64 array (N,).

    Applying every merge in the order it was learned equals encode's earliest-merge-first rule:
    a merge can only create pairs with its new token, and those were learned after it.
    """
    ids = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
    for pair, new_id in merges.items():
        ids = merge_pair_array(ids, pair, new_id)
    return ids
