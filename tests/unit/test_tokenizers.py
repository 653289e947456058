import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab.tokenizers import UNK, CharTokenizer, WordTokenizer, split_words

SENTENCE = "The cat sat on the mat"
CORPUS = "The cat sat on the mat. The dog sat on the log. A cat and a dog!"


def test_the_same_sentence_in_characters_and_words():
    assert len(CharTokenizer(SENTENCE).encode(SENTENCE)) == 22
    assert len(WordTokenizer(SENTENCE).encode(SENTENCE)) == 6


def test_split_rule():
    assert split_words("Hi, you!  It's 42_x.") == ["Hi", ",", "you", "!", "It", "'", "s",
                                                    "42_x", "."]
    assert split_words("café naïve") == ["café", "naïve"]
    assert split_words(" \n\t ") == []


def test_char_tokenizer_round_trip_and_vocabulary():
    tok = CharTokenizer(CORPUS)
    assert tok.vocab == sorted(set(CORPUS))
    assert tok.vocab_size == len(set(CORPUS))
    ids = tok.encode("a cat")
    assert ids == [tok.vocab.index(c) for c in "a cat"]
    assert tok.decode(ids) == "a cat"
    assert tok.tokens("ab") == ["a", "b"]
    with pytest.raises(ValueError, match=r"\['z'\]"):
        tok.encode("zoo")


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_char_tokenizer_round_trips_any_text_it_was_built_on(text):
    tok = CharTokenizer(text)
    assert tok.decode(tok.encode(text)) == text


def test_word_vocabulary_is_ranked_by_frequency():
    tok = WordTokenizer(CORPUS)
    # ".", "The", "cat", "dog", "on", "sat" and "the" appear twice; ties are alphabetical.
    assert tok.vocab[0] == UNK
    assert tok.vocab[1:5] == [".", "The", "cat", "dog"]
    assert tok.ids["the"] > tok.ids["The"]
    small = WordTokenizer(CORPUS, max_words=3)
    assert small.vocab == [UNK, ".", "The", "cat"]
    frequent = WordTokenizer(CORPUS, min_count=2)
    assert "mat" not in frequent.vocab and "the" in frequent.vocab


def test_unknown_words_become_unk():
    tok = WordTokenizer(CORPUS)
    ids = tok.encode("The cat sat on ChatGPT")
    assert ids[-1] == 0 and ids[:-1] == [tok.ids[w] for w in ["The", "cat", "sat", "on"]]
    assert tok.decode(ids) == "The cat sat on [UNK]"


def test_lowercase_option_folds_case():
    tok = WordTokenizer(CORPUS, lowercase=True)
    assert "The" not in tok.vocab
    assert tok.encode("THE CAT") == tok.encode("the cat")
    assert tok.decode(tok.encode("The Cat.")) == "the cat ."


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["cat", "dog", "the", "a", "sat", ",", "."]), max_size=20))
def test_word_round_trip_in_vocabulary(words):
    tok = WordTokenizer(CORPUS + " ,")
    text = " ".join(words)
    assert tok.decode(tok.encode(text)) == text
    assert UNK not in tok.decode(tok.encode(text))
