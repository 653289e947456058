"""The fast version of wordbpe.learn: the same merges, found without recounting every pair.

wordbpe.learn is the textbook loop: count every pair of every word, merge the best, start again.
Each step costs a pass over the whole word table. Production trainers (Hugging Face's
`tokenizers`, SentencePiece) keep the pair counts instead and change them at each merge only where
the text changed: in the words that hold the merged pair, and there only around each occurrence
(the pair itself goes, its left and right neighbours' pairs become pairs with the new token).
IncrementalTrainer does that, and gives exactly what wordbpe.learn gives, step by step: the same
merge, count, tie and pair table (tests/unit/test_wordbpe.py checks it on random texts).

It is also built to be kept: the BpeVisualizer builds one for its background corpus once, and on
each keystroke copies it, adds the word counts of the reader's text and trains the copy.

Ties are broken as in wordbpe: among pairs with the same count, the one that occurs first in the
text (words in order of first appearance, then position inside the word).
"""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence

Symbol = Hashable  # a character or a one-byte `bytes` (wordbpe), joined by + when merged
Pair = tuple[Symbol, Symbol]


def merge_word(word: Sequence[Symbol], pair: Pair, new: Symbol, weight: int = 0,
               changes: dict[Pair, int] | None = None) -> list:
    """Merge ``pair`` in one word (left to right, not overlapping) -> the merged word, and add
    to ``changes`` (when given) weight × how the word's count of each pair changed.

    At each occurrence the merged pair goes, and so do the pairs it made with its neighbours;
    the neighbours now pair with the new symbol. The left neighbour is read from the merged
    output, so two occurrences in a row ("abab" -> [ab, ab]) give one (ab, ab) and no (ab, a).
    """
    left_of, right_of = pair
    merged: list = []
    if changes is None:
        changes = {}
    i, n = 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == left_of and word[i + 1] == right_of:
            changes[pair] = changes.get(pair, 0) - weight
            if merged:
                gone, made = (merged[-1], left_of), (merged[-1], new)
                changes[gone] = changes.get(gone, 0) - weight
                changes[made] = changes.get(made, 0) + weight
            if i + 2 < n:
                gone, made = (right_of, word[i + 2]), (new, word[i + 2])
                changes[gone] = changes.get(gone, 0) - weight
                changes[made] = changes.get(made, 0) + weight
            merged.append(new)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


class IncrementalTrainer:
    """A word-frequency table with its pair counts kept up to date as merges are learned.

    words: W lists of symbols (changed as merges are made); counts: W ints.
    totals {pair: weighted count}, where {pair: indices of the words that hold it, and perhaps
    some that held it before a merge}, and
    by_count {count: pairs with that count}, so that the leader and the pairs tied with it are
    one lookup away.
    """

    def __init__(self, words: Sequence[Sequence[Symbol]], counts: Sequence[int],
                 get_pair_counts: Callable[[list], dict] | None = None,
                 merge_pair: Callable[[list, Pair, Symbol], list] | None = None) -> None:
        # Someone else's functions (a reader's, in the BpeVisualizer) to count and merge with.
        # With either, each word a merge changes is merged by merge_pair and counted again in
        # full, before and after, by get_pair_counts (lmlab.bpe's where only one is given).
        self.own = (get_pair_counts, merge_pair)
        self.words: list[list] = []
        self.counts: list[int] = []
        self.index: dict[tuple, int] = {}  # a word's original symbols -> its place in words
        self.totals: dict[Pair, int] = {}
        self.where: dict[Pair, set[int]] = {}
        self.by_count: dict[int, set[Pair]] = defaultdict(set)
        self.num_tokens = 0
        self.best_count = 0
        self.merges: list[Pair] = []  # learned so far, in order
        self.add_words(words, counts)

    def copy(self) -> "IncrementalTrainer":
        """An independent copy (training one does not change the other)."""
        twin = object.__new__(IncrementalTrainer)
        twin.words = [list(word) for word in self.words]
        twin.counts = list(self.counts)
        twin.index = dict(self.index)
        twin.totals = dict(self.totals)
        twin.where = {pair: set(ws) for pair, ws in self.where.items()}
        twin.by_count = defaultdict(set, {c: set(ps) for c, ps in self.by_count.items() if ps})
        twin.num_tokens, twin.best_count = self.num_tokens, self.best_count
        twin.merges = list(self.merges)
        twin.own = self.own
        return twin

    def add_words(self, words: Sequence[Sequence[Symbol]], counts: Sequence[int]) -> None:
        """Add occurrences of words (as base symbols): a word already in the table counts more,
        a new one joins at the end (so the text order stays as it was), cut by the merges
        learned so far."""
        for word, count in zip(words, counts, strict=True):
            key = tuple(word)
            w = self.index.get(key)
            if w is None:
                w = self.index[key] = len(self.words)
                symbols = list(word)
                for pair in self.merges:
                    if pair[0] in symbols:
                        symbols = merge_word(symbols, pair, pair[0] + pair[1])
                self.words.append(symbols)
                self.counts.append(0)
            self.counts[w] += count
            self.num_tokens += len(self.words[w]) * count
            counted = self._count_pairs(self.words[w])
            for pair, times in counted.items():
                self._change(pair, times * count)
                self.where.setdefault(pair, set()).add(w)
        self.best_count = max(self.totals.values(), default=0)

    def _count_pairs(self, word: list) -> dict[Pair, int]:
        if self.own[0] is not None:
            return self.own[0](word)
        counted: dict[Pair, int] = {}
        for pair in zip(word, word[1:], strict=False):
            counted[pair] = counted.get(pair, 0) + 1
        return counted

    def _merge_counting_again(self, word: list, pair: Pair, new: Symbol, weight: int,
                              changes: dict[Pair, int]) -> list:
        """merge_word's result, the slow way: merge, then count the whole word again."""
        merged = self.own[1](word, pair, new) if self.own[1] else merge_word(word, pair, new)
        before, after = self._count_pairs(word), self._count_pairs(merged)
        for changed in before.keys() | after.keys():
            changes[changed] = changes.get(changed, 0) + weight * (
                after.get(changed, 0) - before.get(changed, 0))
        return merged

    def _change(self, pair: Pair, by: int) -> None:
        """Change a pair's total by ``by``, moving it to the bucket of its new count."""
        old = self.totals.get(pair, 0)
        if old:
            self.by_count[old].discard(pair)
        new = old + by
        if new:
            self.totals[pair] = new
            self.by_count[new].add(pair)
            # Two merges can make the same text ("a"+"bc" after "ab"+"c"), so a pair can gain
            # more than the merge's count.
            self.best_count = max(self.best_count, new)
        else:
            del self.totals[pair]
            self.where.pop(pair, None)

    def first_place(self, pair: Pair) -> tuple[int, int]:
        """Where a pair first occurs: (word index, position in the word). where[pair] may still
        name words that lost the pair to a merge (removing them at once would cost a look at
        every word changed); such a word is dropped here when met."""
        left, right = pair
        holders = self.where[pair]
        while True:
            w = min(holders)
            word = self.words[w]
            for i in range(len(word) - 1):
                if word[i] == left and word[i + 1] == right:
                    return w, i
            holders.discard(w)

    def ranked(self, n: int) -> list[tuple[Pair, int, tuple[int, int]]]:
        """The n most frequent pairs and every pair tied with the last of them, most frequent
        first, ties in text order: [(pair, count, first place)]."""
        found: list = []
        for count in range(self.best_count, 0, -1):
            tied = sorted((self.first_place(pair), pair) for pair in self.by_count.get(count, ()))
            found += [(pair, count, place) for place, pair in tied]
            if len(found) >= n:
                break
        return found

    def leaders(self, n: int) -> list[tuple[Pair, int]]:
        """The n most frequent pairs, [(pair, count)], ties in text order."""
        return [(pair, count) for pair, count, _ in self.ranked(n)[:n]]

    def settle(self) -> int:
        """The best count now (it only moves down between merges, to the next non-empty one)."""
        while self.best_count and not self.by_count.get(self.best_count):
            self.best_count -= 1
        return self.best_count

    def merge(self, pair: Pair) -> dict[Pair, int]:
        """Merge a pair in every word that holds it. Only the pairs around each occurrence
        change (see merge_word); their totals are changed once per merge, summed over words.
        -> {pair: change of its total}."""
        new = pair[0] + pair[1]
        self.merges.append(pair)
        changes: dict[Pair, int] = {}
        ours = self.own == (None, None)
        merge = merge_word if ours else self._merge_counting_again
        for w in self.where[pair].copy():
            word, count = self.words[w], self.counts[w]
            merged = merge(word, pair, new, count, changes)
            self.num_tokens -= (len(word) - len(merged)) * count
            self.words[w] = merged
            for made in zip(merged, merged[1:], strict=False):
                if new in made or not ours:  # (only pairs with the new symbol are new)
                    self.where.setdefault(made, set()).add(w)
        for changed, by in changes.items():
            if by:
                self._change(changed, by)
        return changes

    def learn(self, num_merges: int | None = None, min_count: int = 2,
              top_n: int = 0) -> Iterator[dict]:
        """Learn merges, one dict per merge, exactly as wordbpe.learn yields them: {pair, count,
        tied, num_tokens, top}. Stops after num_merges merges, or when the best pair occurs
        fewer than min_count times."""
        done = 0
        while self.totals and (num_merges is None or done < num_merges):
            if self.settle() < min_count:
                return
            tied = sorted(self.by_count[self.best_count], key=self.first_place)
            count, best = self.best_count, tied[0]
            top = self.leaders(top_n) if top_n else []
            self.merge(best)
            done += 1
            yield {"pair": best, "count": count, "tied": tied, "num_tokens": self.num_tokens,
                   "top": top}


class RecordedRun:
    """A word table trained once, with enough of each step recorded to train the same table
    plus a few more words (a reader's text) without redoing the table's work.

    Adding words changes the pair counts only by the added words' own pairs. So while the
    merges stay the table's merges, each step of the bigger table is the recorded step with
    those pairs' counts raised: the recorded head of the table (the `head` most frequent pairs
    and every pair tied with the last, with where each first occurs) plus the added words'
    pairs decide the leader, the ties and the top of the table. learn follows the recording
    while that decides everything exactly; at the first step it cannot vouch for (the added
    words change the merge, or one of their pairs reaches the top from outside the recorded
    head where its first place is not known) it hands over to an IncrementalTrainer, copied
    from the snapshot of the table taken at or before that step, with the words added.
    """

    def __init__(self, trainer: IncrementalTrainer, num_merges: int, head: int = 16,
                 every: int = 5) -> None:
        self.start = trainer.copy()  # untrained
        self.head = head
        self.steps: list[tuple] = []  # (ranked head, merged pair, totals it changed, tokens)
        # The trainer every `every` steps, where a full run can take over from.
        self.snapshots: dict[int, IncrementalTrainer] = {}
        run = trainer.copy()
        while run.totals and len(self.steps) < num_merges and run.settle():
            if len(self.steps) % every == 0:
                self.snapshots[len(self.steps)] = run.copy()
            ranked = run.ranked(head)
            pair = ranked[0][0]
            changed = run.merge(pair)
            self.steps.append((ranked, pair, {p: run.totals.get(p, 0) for p in changed},
                               run.num_tokens))

    def learn(self, words: Sequence[Sequence[Symbol]], counts: Sequence[int],
              num_merges: int | None = None, min_count: int = 2,
              top_n: int = 0) -> Iterator[dict]:
        """IncrementalTrainer.learn on the recorded table plus these words, step for step."""
        if top_n > self.head:
            raise ValueError(f"recorded with a head of {self.head} pairs, not {top_n}")
        handed_over = yield from self._follow(words, counts, num_merges, min_count, top_n)
        if handed_over is None:
            return
        start = max((s for s in self.snapshots if s <= handed_over), default=0)
        trainer = self.snapshots[start].copy() if self.snapshots else self.start.copy()
        trainer.add_words(words, counts)
        left = None if num_merges is None else num_merges - start
        for step, merge in enumerate(trainer.learn(left, min_count, top_n), start=start):
            if step >= handed_over:
                yield merge

    def _added(self, words: Sequence[Sequence[Symbol]], counts: Sequence[int]) -> list[list]:
        """The added words as [symbols, count, index of the word if new to the table, else None],
        a word given twice once."""
        entries: dict[tuple, list] = {}
        fresh = len(self.start.words)
        for word, count in zip(words, counts, strict=True):
            key = tuple(word)
            if key not in entries:
                known = key in self.start.index
                entries[key] = [list(word), 0, None if known else fresh]
                fresh += not known
            entries[key][1] += count
        return list(entries.values())

    def _follow(self, words: Sequence[Sequence[Symbol]], counts: Sequence[int],
                num_merges: int | None, min_count: int, top_n: int):
        """Yield the steps the recording decides; return None when training is over, or the
        number of steps yielded when a full run must take over."""
        added = self._added(words, counts)
        totals = dict(self.start.totals)
        need = max(top_n, 1)
        for step, (ranked, merged, changed, table_tokens) in enumerate(self.steps):
            if num_merges is not None and step >= num_merges:
                return None
            more: dict[Pair, int] = {}  # the added words' pairs, weighted by their counts
            places: dict[Pair, tuple[int, int]] = {}  # first places in words new to the table
            for word, count, w in added:
                for i, pair in enumerate(zip(word, word[1:], strict=False)):
                    more[pair] = more.get(pair, 0) + count
                    if w is not None and pair not in places:
                        places[pair] = (w, i)
            candidates = {pair: (count + more.get(pair, 0), place) for pair, count, place in ranked}
            unknown = 0  # the highest count of a pair whose first place is not known here
            for pair, count in more.items():
                if pair not in candidates:
                    if totals.get(pair):  # in the table, outside the recorded head
                        unknown = max(unknown, totals[pair] + count)
                    else:
                        candidates[pair] = (count, places[pair])
            order = sorted(candidates.items(), key=lambda item: (-item[1][0], item[1][1]))
            best = order[0][1][0] if order else 0
            if best < min_count and unknown < min_count:
                return None
            top = order[:need]
            if unknown >= top[-1][1][0] or order[0][0] != merged:
                return step
            tied = [pair for pair, (count, _) in order if count == best]
            new = merged[0] + merged[1]
            for entry in added:
                if merged[0] in entry[0]:
                    entry[0] = merge_word(entry[0], merged, new)
            added_tokens = sum(len(word) * count for word, count, _ in added)
            yield {"pair": merged, "count": best, "tied": tied,
                   "num_tokens": table_tokens + added_tokens,
                   "top": [(pair, count) for pair, (count, _) in top[:top_n]]}
            totals.update(changed)
        if num_merges is not None and len(self.steps) >= num_merges:
            return None
        return len(self.steps)


def learn(
    words: list[list[Symbol]],
    counts: Sequence[int],
    num_merges: int | None = None,
    min_count: int = 2,
    top_n: int = 0,
) -> Iterator[dict]:
    """wordbpe.learn's merges, incrementally; words are changed in place, as learn changes them."""
    trainer = IncrementalTrainer(words, counts)
    yield from trainer.learn(num_merges, min_count, top_n)
    words[:] = trainer.words
