import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab.bpe import (
    bpe_trace,
    build_vocab,
    char_alphabet,
    decode,
    encode,
    get_pair_counts,
    learn_merges,
    merge_pair,
    text_to_ids,
    token_strings,
    train_bpe,
)

WALKTHROUGH = "low low low low low lower lower newest newest"
PROSE = (
    "Byte pair encoding starts from single characters and merges the most frequent pair. "
    "The merges it learns become the tokens: common words end up whole, rare words in pieces. "
    "Encoding new text replays the merges in the order they were learned, so the same text "
    "always gets the same tokens. The tokenizer is the merge table, nothing more. "
) * 3


def naive_train_bpe(ids, num_merges, first_id=256, min_count=1):
    """The reference: recount every pair after every merge, take the first most frequent."""
    ids = list(ids)
    merges = {}
    for new_id in range(first_id, first_id + num_merges):
        counts = get_pair_counts(ids)
        if not counts:
            break
        pair = max(counts, key=counts.get)  # max keeps the first of equals: first occurrence
        if counts[pair] < min_count:
            break
        ids = merge_pair(ids, pair, new_id)
        merges[pair] = new_id
    return merges


def test_get_pair_counts_counts_every_adjacent_pair_in_first_occurrence_order():
    assert get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert list(get_pair_counts([5, 4, 5, 4, 4])) == [(5, 4), (4, 5), (4, 4)]
    assert get_pair_counts([7, 7, 7]) == {(7, 7): 2}  # overlapping occurrences both count
    assert get_pair_counts([]) == {} and get_pair_counts([1]) == {}


def test_merge_pair_replaces_left_to_right_without_overlap():
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]
    assert merge_pair([7, 7, 7], (7, 7), 9) == [9, 7]
    assert merge_pair([7, 7, 7, 7], (7, 7), 9) == [9, 9]
    assert merge_pair([1, 2], (2, 1), 9) == [1, 2]
    assert merge_pair([], (1, 2), 9) == []


def test_walkthrough_first_merges():
    alphabet = char_alphabet(WALKTHROUGH)
    merges = train_bpe(WALKTHROUGH, 4, alphabet=alphabet)
    vocab = build_vocab(merges, alphabet)
    learned = [vocab[new_id] for new_id in merges.values()]
    # (l, o) and (o, w) both occur 7 times; "lo" occurs first, so it wins the tie.
    assert learned == ["lo", "low", " low", " low low"]


@pytest.mark.parametrize(
    "text",
    [
        WALKTHROUGH,
        PROSE,
        "aaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababa",
        "aaabbbaaabbbcccaaa",
        "abcabcabd ab ab ab bc bc",
        "naïve café: déjà vu, 東京 東京, 🙂🙂🙂",
        "",
        "x",
    ],
)
def test_fast_training_matches_the_naive_reference(text):
    ids = text_to_ids(text)
    assert train_bpe(text, 60) == naive_train_bpe(ids, 60)
    alphabet = char_alphabet(text)
    char_ids = text_to_ids(text, alphabet)
    assert train_bpe(text, 60, alphabet=alphabet) == naive_train_bpe(
        char_ids, 60, first_id=len(alphabet)
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=80), st.integers(0, 40), st.integers(1, 3))
def test_fast_training_matches_the_naive_reference_on_random_ties(ids, num_merges, min_count):
    # Four symbols in short random sequences: ties and overlapping runs everywhere.
    fast = train_bpe(ids, num_merges, alphabet=list("abcd"), min_count=min_count)
    assert fast == naive_train_bpe(ids, num_merges, first_id=4, min_count=min_count)


def test_learned_counts_are_the_counts_before_each_merge():
    ids = text_to_ids(PROSE)
    for pair, new_id, count in learn_merges(ids, 40):
        assert get_pair_counts(ids)[pair] == count
        assert count == max(get_pair_counts(ids).values())
        ids = merge_pair(ids, pair, new_id)


def test_vocab_size_and_stopping():
    assert len(train_bpe(PROSE, vocab_size=300)) == 44
    assert train_bpe(PROSE, vocab_size=256) == {}
    assert len(train_bpe("abab", 100)) == 2  # ab, then abab: one token, nothing left to pair
    assert len(train_bpe("abcd", 100, min_count=2)) == 0
    with pytest.raises(ValueError, match="not both"):
        train_bpe(PROSE, 10, vocab_size=300)
    with pytest.raises(ValueError, match="at least"):
        train_bpe(PROSE, vocab_size=100)
    with pytest.raises(ValueError, match=">= 0"):
        train_bpe(PROSE, -1)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        train_bpe([0, 5], 3, alphabet=list("abcd"))


def test_encode_applies_merges_by_priority():
    # Learned order: (a, b) -> 256 first, (b, c) -> 257 second. "abc" could merge either way;
    # the earlier merge wins, whatever the counts in the new text.
    merges = {(97, 98): 256, (98, 99): 257, (256, 99): 258}
    assert encode("abc", merges) == [258]
    assert encode("bc", merges) == [257]
    assert encode("xbcbc", merges) == [120, 257, 257]
    assert encode("", merges) == []


def test_encode_decode_round_trip_bytes():
    merges = train_bpe(PROSE, 200)
    vocab = build_vocab(merges)
    for text in [PROSE, "unseen words: tokenizer, merges!", "δοκιμή ✓ 🙂", ""]:
        ids = encode(text, merges)
        assert decode(ids, vocab) == text
    assert len(encode(PROSE, merges)) < len(PROSE) / 3
    assert encode(PROSE, merges) == encode(PROSE, merges)  # deterministic


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_byte_level_bpe_encodes_any_text(text):
    merges = train_bpe(PROSE, 100)
    assert decode(encode(text, merges), build_vocab(merges)) == text


def test_char_level_needs_its_alphabet():
    alphabet = char_alphabet(PROSE)
    merges = train_bpe(PROSE, 80, alphabet=alphabet)
    vocab = build_vocab(merges, alphabet)
    assert min(merges.values()) == len(alphabet)
    text = "the merges are the tokens"
    assert decode(encode(text, merges, alphabet), vocab) == text
    with pytest.raises(ValueError, match=r"\['@', 'Z'\]"):
        encode("Z@", merges, alphabet)


def test_token_strings_show_broken_utf8_as_escapes():
    vocab = build_vocab({})
    ids = encode("é", {})
    assert token_strings(ids, vocab) == ["\\xc3", "\\xa9"]
    assert decode(ids[:1], vocab) == "\ufffd"
    assert token_strings([0, 1], {0: "ab", 1: "c"}) == ["ab", "c"]


def test_trace_for_the_visualizer():
    trace = bpe_trace(WALKTHROUGH)
    start = trace[0]
    assert start["pair"] is None and start["count"] is None and start["new_token"] is None
    assert start["tokens"] == list(WALKTHROUGH)
    assert start["vocab_size"] == len(set(WALKTHROUGH)) and start["compression_ratio"] == 1.0
    assert trace[1]["pair"] == ["l", "o"] and trace[1]["new_token"] == "lo"
    assert trace[1]["count"] == 7 and trace[1]["vocab_size"] == start["vocab_size"] + 1
    for step in trace:
        assert "".join(step["tokens"]) == WALKTHROUGH
        assert step["num_tokens"] == len(step["tokens"])
        assert step["compression_ratio"] == pytest.approx(len(WALKTHROUGH) / step["num_tokens"])
    # It stops when no pair occurs more than once.
    assert trace[-1]["count"] >= 2
    last = bpe_trace(WALKTHROUGH, min_count=1)
    assert len(last) > len(trace) and last[len(trace)]["count"] == 1
    assert [s["step"] for s in trace] == list(range(len(trace)))
    assert len(bpe_trace(WALKTHROUGH, num_merges=3)) == 4


def test_trace_at_byte_level():
    trace = bpe_trace("héllo héllo", level="bytes")
    assert trace[0]["vocab_size"] == 256
    assert trace[0]["tokens"][:3] == ["h", "\\xc3", "\\xa9"]
    assert trace[-1]["tokens"] == ["héllo", " ", "héllo"]
    with pytest.raises(ValueError, match="level"):
        bpe_trace("abc", level="words")
