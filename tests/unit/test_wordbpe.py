import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab import data, wordbpe
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
