from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab import data, wordbpe, wordbpe_fast
from lmlab.bpe import merge_pair
from lmlab.gpt2 import GPT2_PATTERN, GPT2Tokenizer

PROSE = (
    "The tokenizer learns its merges inside words: low, lower, lowest, newer, newest. "
    "It's 2024 and   spaces,\ttabs\nand newlines stay where they are; naïve café, 東京! "
    "print(\"hello\") print(\"hello\") x = x + 1  # 42 424 4242\n"
) * 4


def slow_learn(text, num_merges, level, min_count=1):
    """The reference: every occurrence of every piece kept in text order, every pair recounted
    after every merge, the first of the most frequent pairs taken (a Counter keeps first
    occurrences first, and max keeps the first of equals)."""
    pieces = [wordbpe.to_symbols(p, level) for p in wordbpe.split_pieces(text)]
    merges = []
    for _ in range(num_merges):
        counts = {}
        for piece in pieces:
            for pair in zip(piece, piece[1:], strict=False):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts or max(counts.values()) < min_count:
            break
        best = max(counts, key=counts.get)
        merges.append((best, counts[best]))
        joined = best[0] + best[1]
        for k, piece in enumerate(pieces):
            out, i = [], 0
            while i < len(piece):
                if i + 1 < len(piece) and (piece[i], piece[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(piece[i])
                    i += 1
            pieces[k] = out
    return merges, sum(len(p) for p in pieces)


@pytest.mark.parametrize("level", ["chars", "bytes"])
def test_learning_from_counts_equals_recounting_every_occurrence(level):
    expected, tokens_left = slow_learn(PROSE, 60, level)
    words, counts = wordbpe.piece_table(PROSE, level)
    learned = list(wordbpe.learn(words, counts, 60, min_count=1))
    assert [(m["pair"], m["count"]) for m in learned] == expected
    assert learned[-1]["num_tokens"] == tokens_left


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab c\n", max_size=40), st.sampled_from(["chars", "bytes"]))
def test_ties_and_overlaps_match_the_recount(text, level):
    expected, _ = slow_learn(text, 12, level, min_count=2)
    words, counts = wordbpe.piece_table(text, level)
    learned = list(wordbpe.learn(words, counts, 12, min_count=2))
    assert [(m["pair"], m["count"]) for m in learned] == expected
    for merge in learned:  # every tied pair has the leader's count; the leader comes first
        assert merge["tied"][0] == merge["pair"]


def test_overlapping_pairs_count_twice_but_merge_once():
    words, counts = wordbpe.piece_table("aaaaa", "chars")
    first = next(wordbpe.learn(words, counts, 1, min_count=1))
    assert first["pair"] == ("a", "a") and first["count"] == 4 and first["num_tokens"] == 3


def test_merges_never_cross_pieces():
    merges = wordbpe.train("low low low low low lower lower newest newest", 10)
    assert all(" " not in (a + b)[1:] for a, b in merges)
    assert merges[:2] == [("l", "o"), ("lo", "w")]  # 7 each: l·o and o·w tie, l·o is first


def test_encoding_replays_training():
    """Encoding the training text by rank reaches the segmentation training ended with."""
    for level in ("chars", "bytes"):
        words, counts = wordbpe.piece_table(PROSE, level)
        merges = [m["pair"] for m in wordbpe.learn(words, counts, 80)]
        ranks = {pair: r for r, pair in enumerate(merges)}
        # words are the distinct pieces in order of first appearance, each as training left it
        for piece, trained in zip(dict.fromkeys(wordbpe.split_pieces(PROSE)), words, strict=True):
            assert wordbpe.encode_piece(piece, ranks, level) == trained


def test_tokens_per_vocab_size_counts_the_encoded_text():
    result = wordbpe.tokens_per_vocab_size(PROSE, [256, 270, 300], "bytes")
    for size, tokens in zip([256, 270, 300], result["tokens"], strict=True):
        merges = wordbpe.train(PROSE, size - 256, "bytes", min_count=1)
        assert tokens == len(wordbpe.encode(PROSE, merges, "bytes"))
    assert result["tokens"][0] == len(PROSE.encode())
    with pytest.raises(ValueError, match="256"):
        wordbpe.tokens_per_vocab_size(PROSE, [100], "bytes")


@pytest.mark.reference
def test_byte_level_training_matches_tiktokens_educational_trainer():
    from tiktoken._educational import bpe_train

    text = data.read_text("shakespeare.txt")[:3000]
    ranks = bpe_train(text, 256 + 60, GPT2_PATTERN, visualise=None)
    theirs = sorted((rank, token) for token, rank in ranks.items() if rank >= 256)
    ours = [a + b for a, b in wordbpe.train(text, 60, "bytes", min_count=1)]
    assert ours == [token for _, token in theirs]


def test_gpt2_merges_reproduce_gpt2(gpt2_files):
    """wordbpe.encode with GPT-2's merges (as byte pairs) gives GPT-2's tokens."""
    gpt2 = GPT2Tokenizer.from_files(gpt2_files["encoder.json"], gpt2_files["vocab.bpe"])
    merges = gpt2.byte_merges()
    text = PROSE + data.read_text("shakespeare.txt")[:2000]
    ids = [gpt2.byte_encoder[token] for token in wordbpe.encode(text, merges, "bytes")]
    assert ids == gpt2.encode(text)


def test_visualizer_steps(gpt2_files):
    text = 'unhappiness print("hello")'
    state = wordbpe.bpe_visualizer(text, "chars", num_merges=30)
    steps = state["steps"]
    assert len(steps) == 31 and steps[0]["pair"] is None
    merges = []
    for k, step in enumerate(steps):
        assert "".join(step["tokens"]) == text
        assert step["vocab_size"] == state["base_vocab"] + k
        assert step["tokens"] == [wordbpe.show(t) for t in wordbpe.encode(text, merges)]
        if step["tied"]:
            leader = step["top"][0]
            assert step["tied"][0] == leader[:2]
            assert all(c == leader[2] for *_, c in step["top"][: len(step["tied"])])
        if k + 1 < len(steps):
            merges.append(tuple(steps[k + 1]["pair"]))
            assert steps[k + 1]["count"] == step["top"][0][2]
            assert steps[k + 1]["corpus_tokens"] < step["corpus_tokens"]
    assert state["final"] == steps[-1]["tokens"]
    assert steps[-1]["compression"] == pytest.approx(1 - len(steps[-1]["tokens"]) / len(text))
    byte_level = wordbpe.bpe_visualizer("naïve", "bytes", num_merges=5)
    assert byte_level["base_vocab"] == 256 and byte_level["text_symbols"] == 6
    assert byte_level["steps"][0]["tokens"][2:4] == ["\\xc3", "\\xaf"]


def test_gpt2_id_merges_drive_the_notebooks_encode(gpt2_files):
    """lmlab.bpe.encode, piece by piece with GPT-2's merges as ids, gives GPT-2's ids (the
    exercise's parity check)."""
    from lmlab.bpe import encode

    gpt2 = GPT2Tokenizer.from_files(gpt2_files["encoder.json"], gpt2_files["vocab.bpe"])
    merges, byte_ids = gpt2.id_merges()
    assert len(merges) == 50_000 and sorted(byte_ids) == list(range(256))
    text = "The cat sat on the mat. " + PROSE
    ids = [byte_ids[i] if i < 256 else i
           for piece in gpt2.pretokenize(text) for i in encode(piece, merges)]
    assert ids == gpt2.encode(text)


# The fast trainers (lmlab.wordbpe_fast) against the textbook loop (wordbpe.learn), step by step.

TRAINERS = {
    "textbook": wordbpe.learn,
    "incremental": wordbpe_fast.learn,
}
# Small alphabets make ties, overlapping runs ("aaaa") and the same token reached by two merges
# ("ab"+"c" and "a"+"bc") common.
SMALL_TEXTS = st.text(alphabet="ab c\n", max_size=60) | st.text(alphabet="abc ", max_size=200)


def learned(trainer, text, level, num_merges, min_count=2, top_n=5):
    words, counts = wordbpe.piece_table(text, level)
    steps = list(trainer(words, counts, num_merges, min_count=min_count, top_n=top_n))
    return steps, words


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("level", ["chars", "bytes"])
def test_each_trainer_equals_recounting_every_occurrence(trainer, level):
    expected, tokens_left = slow_learn(PROSE, 60, level)
    steps, _ = learned(TRAINERS[trainer], PROSE, level, 60, min_count=1)
    assert [(m["pair"], m["count"]) for m in steps] == expected
    assert steps[-1]["num_tokens"] == tokens_left


@settings(max_examples=150, deadline=None)
@given(SMALL_TEXTS, st.sampled_from(["chars", "bytes"]), st.integers(0, 8))
def test_incremental_trainer_equals_the_textbook_loop(text, level, top_n):
    """Every merge, count, tie (in order), token count and pair table, and the words at the end."""
    plain, plain_words = learned(wordbpe.learn, text, level, 30, top_n=top_n)
    fast, fast_words = learned(wordbpe_fast.learn, text, level, 30, top_n=top_n)
    assert fast == plain
    assert fast_words == plain_words


def test_incremental_trainer_on_shakespeare_equals_the_textbook_loop():
    text = data.read_text("shakespeare.txt")[:4000]
    for level in ("chars", "bytes"):
        plain, _ = learned(wordbpe.learn, text, level, 80, top_n=6)
        fast, _ = learned(wordbpe_fast.learn, text, level, 80, top_n=6)
        assert fast == plain and len(fast) == 80


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("aab c"), max_size=12), st.sampled_from(["a", "b", "c", " "]),
       st.sampled_from(["a", "b", "c", " "]))
def test_merge_word_reports_how_every_pair_count_changed(word, left, right):
    merged = wordbpe_fast.merge_word(word, (left, right), left + right, 3, changes := {})
    assert merged == merge_pair(word, (left, right), left + right)
    before = Counter(zip(word, word[1:], strict=False))
    after = Counter(zip(merged, merged[1:], strict=False))
    for pair in before.keys() | after.keys() | changes.keys():
        assert changes.get(pair, 0) == 3 * (after[pair] - before[pair])


@settings(max_examples=120, deadline=None)
@given(st.text(alphabet="ab c", min_size=20, max_size=200), st.text(alphabet="abd c", max_size=40),
       st.sampled_from(["chars", "bytes"]), st.integers(1, 6), st.sampled_from([1, 3, 50]))
def test_recorded_run_plus_words_equals_training_everything(table, extra, level, top_n, every):
    """The recorded table plus more words trains as the textbook loop trains both together,
    whether it follows the recording to the end or hands over (snapshots every 1, 3, 50 steps)."""
    words, counts = wordbpe.piece_table(table, level)
    run = wordbpe_fast.RecordedRun(wordbpe_fast.IncrementalTrainer(words, counts), 25,
                                   head=top_n + 2, every=every)
    # The same recording serves one text after another (its snapshots share their sets with
    # the trainers copied from them, which must leave them as they were).
    for text in (extra, extra[::-1], extra):
        added = Counter(wordbpe.split_pieces(text))
        added_words = [wordbpe.to_symbols(piece, level) for piece in added]
        followed = list(run.learn(added_words, list(added.values()), 25, top_n=top_n))
        everything = Counter(wordbpe.split_pieces(table)) + added
        plain = list(wordbpe.learn([wordbpe.to_symbols(piece, level) for piece in everything],
                                   list(everything.values()), 25, top_n=top_n))
        assert followed == plain


def test_recorded_run_follows_the_recording_when_the_words_change_nothing():
    """The point of it: a word that changes no merge is trained without a full run."""
    text = data.read_text("shakespeare.txt")[:10_000]
    words, counts = wordbpe.piece_table(text)
    run = wordbpe_fast.RecordedRun(wordbpe_fast.IncrementalTrainer(words, counts), 40, head=16)
    follow = run._follow([list("\nxyzzy")], [1], 40, 2, 6)
    steps = []
    with pytest.raises(StopIteration) as done:
        while True:
            steps.append(next(follow))
    assert done.value.value is None and len(steps) == 40  # followed to the end, no hand-over
    assert steps == list(wordbpe.learn(words + [list("\nxyzzy")], counts + [1], 40, top_n=6))


@pytest.mark.reference
@pytest.mark.parametrize("trainer", TRAINERS)
def test_each_trainer_matches_tiktokens_educational_trainer(trainer):
    from tiktoken._educational import bpe_train

    text = data.read_text("shakespeare.txt")[:3000]
    ranks = bpe_train(text, 256 + 40, GPT2_PATTERN, visualise=None)
    theirs = sorted((rank, token) for token, rank in ranks.items() if rank >= 256)
    steps, _ = learned(TRAINERS[trainer], text, "bytes", 40, min_count=1, top_n=0)
    assert [a + b for a, b in (m["pair"] for m in steps)] == [token for _, token in theirs]


# The BpeVisualizer on a reader's own get_pair_counts and merge_pair (chapter 3's exercises).

def exercise_get_pair_counts(ids):
    counts = {}
    for pair in zip(ids, ids[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def exercise_merge_pair(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def once_per_word(word):
    """A mistaken get_pair_counts: each pair counted once per word, however often it occurs."""
    return dict.fromkeys(zip(word, word[1:], strict=False), 1)


def recount_with(get_pair_counts, words, counts, num_merges):
    """The reference: every pair of every word counted again at every step with the given
    function, the most frequent taken, the first of equals in text order."""
    merges = []
    for _ in range(num_merges):
        totals, first = {}, {}
        for w, (word, count) in enumerate(zip(words, counts, strict=True)):
            for pair, times in get_pair_counts(word).items():
                totals[pair] = totals.get(pair, 0) + times * count
                first.setdefault(pair, (w, next(i for i in range(len(word) - 1)
                                                if (word[i], word[i + 1]) == pair)))
        if not totals or max(totals.values()) < 2:
            break
        best = min(totals, key=lambda p: (-totals[p], first[p]))
        merges.append((best, totals[best]))
        words = [merge_pair(word, best, best[0] + best[1]) for word in words]
    return merges


@pytest.mark.parametrize("level", ["chars", "bytes"])
def test_a_trainer_on_someone_elses_counting_equals_recounting_with_it(level):
    words, counts = wordbpe.piece_table(PROSE, level)
    trainer = wordbpe_fast.IncrementalTrainer(words, counts, get_pair_counts=once_per_word)
    learned = [(m["pair"], m["count"]) for m in trainer.learn(40)]
    assert learned == recount_with(once_per_word, words, counts, 40)
    assert learned != [(m["pair"], m["count"]) for m in wordbpe_fast.learn(words, counts, 40)]


@pytest.mark.parametrize("level", ["chars", "bytes"])
def test_the_visualizer_on_the_exercise_solutions_equals_lmlabs(level):
    text = 'unhappiness and print("hello") hello hello'
    ours = wordbpe.bpe_visualizer(text, level, num_merges=40)
    for theirs in [{"get_pair_counts": exercise_get_pair_counts},
                   {"merge_pair": exercise_merge_pair},
                   {"get_pair_counts": exercise_get_pair_counts,
                    "merge_pair": exercise_merge_pair}]:
        mine = wordbpe.bpe_visualizer(text, level, num_merges=40, **theirs)
        assert mine.pop("mine") == {"first_difference": None}
        assert ours.pop("mine", None) is None
        assert mine == ours


def test_the_visualizer_says_where_a_readers_merges_first_differ():
    def first_only(ids, pair, new_id):  # merges only the first occurrence in each word
        for i in range(len(ids) - 1):
            if (ids[i], ids[i + 1]) == pair:
                return ids[:i] + [new_id] + ids[i + 2:]
        return list(ids)

    text = "mississippi lulled hohoho"
    ours = [s["pair"] for s in wordbpe.bpe_visualizer(text, num_merges=60)["steps"][1:]]
    mine = wordbpe.bpe_visualizer(text, num_merges=60, merge_pair=first_only)
    theirs = [s["pair"] for s in mine["steps"][1:]]
    k = mine["mine"]["first_difference"]
    assert k is not None and ours[: k - 1] == theirs[: k - 1] and ours[k - 1] != theirs[k - 1]


def test_a_readers_function_that_returns_the_wrong_thing_is_named_readably():
    not_a_dict = r"get_pair_counts\(\[.*\]\) returned \[.*should return a dict"
    with pytest.raises(TypeError, match=not_a_dict):
        wordbpe.bpe_visualizer("hi", get_pair_counts=lambda ids: [*zip(ids, ids[1:], strict=False)])
    with pytest.raises(ValueError, match="not neighbours"):
        wordbpe.bpe_visualizer("hi", get_pair_counts=lambda ids: {(ids[0], ids[0]): 1})
    with pytest.raises(ValueError, match=r"returned \[.*9999\], but 9999 is not the id"):
        wordbpe.bpe_visualizer("hi", merge_pair=lambda ids, pair, new: [*ids, 9999])


def test_preparing_the_visualizer_trains_the_background_its_first_call_uses():
    wordbpe._background_run.cache_clear()
    wordbpe.prepare_visualizer("bytes", num_merges=7, corpus_chars=2000)
    assert wordbpe._background_run.cache_info().misses == 1
    wordbpe.bpe_visualizer("hello", "bytes", num_merges=7, corpus_chars=2000)
    info = wordbpe._background_run.cache_info()
    assert info.misses == 1 and info.hits == 1
