"""The two obvious tokenizers, and why neither is enough.

Characters: a tiny vocabulary and nothing is ever unknown once every character is in it, but
"The cat sat on the mat" already takes 22 tokens and the model must learn spelling. Words: the
same sentence is 6 tokens and each one means something, but a word the vocabulary has never seen
("ChatGPT") becomes [UNK] and everything about it is lost. Subword tokenizers (bpe.py) sit in
between.
"""

import re
from collections import Counter

UNK = "[UNK]"

# Word split rule: a run of letters, digits and underscores is a word; every other visible
# character (punctuation, symbols) is a token on its own; whitespace only separates.
WORD_PATTERN = re.compile(r"\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Words and punctuation marks of a text: "Hi, you!" -> ["Hi", ",", "you", "!"]."""
    return WORD_PATTERN.findall(text)


class CharTokenizer:
    """One token per character; the vocabulary is every character of the corpus, sorted."""

    def __init__(self, corpus: str) -> None:
        self.vocab = sorted(set(corpus))
        self.ids = {ch: i for i, ch in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokens(self, text: str) -> list[str]:
        return list(text)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.ids.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown}")
        return [self.ids[ch] for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.vocab[i] for i in ids)


class WordTokenizer:
    """One token per word (split_words); words outside the vocabulary become [UNK] (id 0).

    The vocabulary is [UNK] followed by the corpus's words from most to least frequent (ties in
    alphabetical order), optionally only the ``max_words`` most frequent or those seen at least
    ``min_count`` times. ``lowercase`` folds case first, so "The" and "the" share a token.
    Decoding joins tokens with single spaces: the original spacing is not kept.
    """

    def __init__(
        self,
        corpus: str,
        max_words: int | None = None,
        min_count: int = 1,
        lowercase: bool = False,
    ) -> None:
        self.lowercase = lowercase
        counts = Counter(self.tokens(corpus))
        ranked = sorted(counts, key=lambda word: (-counts[word], word))
        kept = [word for word in ranked if counts[word] >= min_count][:max_words]
        self.vocab = [UNK, *kept]
        self.ids = {word: i for i, word in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokens(self, text: str) -> list[str]:
        """The words of a text as this tokenizer splits them (before the vocabulary lookup)."""
        return split_words(text.lower() if self.lowercase else text)

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(word, 0) for word in self.tokens(text)]

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.vocab[i] for i in ids)
