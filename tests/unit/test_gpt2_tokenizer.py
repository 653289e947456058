import re
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmlab._unicode_numbers import NUMERIC_RANGES
from lmlab.gpt2 import (
    BYTE_TO_UNICODE,
    END_OF_TEXT,
    GPT2_PATTERN,
    GPT2Tokenizer,
    character_classes,
    from_stand_ins,
    numeric_ranges,
    to_stand_ins,
)

# Unicode's White_Space property (PropList.txt), written out independently of lmlab.gpt2.
WHITE_SPACE = {*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
               0x2029, 0x202F, 0x205F, 0x3000}

CORPUS = [
    "The cat sat on the mat",
    "Language models predict the next token. They don't read letters; they read tokens!",
    "It's, I'm, we've, they're, she'll, he'd, can't, 'tis, O'Neill's, IT'S, I'M",
    "def softmax(x):\n    e = np.exp(x - x.max())\n    return e / e.sum()  # stable\n",
    "for (let i = 0; i < n; i++) {\n\tsum += a[i] * b[i];\n}\r\n",
    "a  b   c    d\n\n\ne \t\t f\n \n \n",
    "   leading and trailing   ",
    "\n\n\n",
    "3.14159 2024 1,000,000 +42 -7 0x1F 1e-9 12345678901234567890",
    "½ ² ³ Ⅻ ⅷ ① ٣٤٥ ४२ x²y a½b 2½",
    "naïve café déjà vu, Ærøskøbing, São Paulo, Zürich, façade, jalapeño",
    "東京タワーは高いです。中文分词很难。한국어 문장입니다.",
    "Привет, мир! Γειά σου κόσμε! שלום עולם مرحبا بالعالم नमस्ते दुनिया",
    "emoji 🙂👍🏽👨‍👩‍👧 🇫🇷 ❤️ and symbols ™ © ∑ ∫ → ≤",
    "snake_case __dunder__ _private a_b_c 9_000",
    "control \x00\x01\x1b[0m \x1c\x1d\x1e\x1f x\n\n\x1c y\u00a0z\u2003w\u3000v\u2028u\x85t",
    "zero\u200bwidth\u200c\u200djoiners\ufeff and \u180e",
    "strawberry Strawberry STRAWBERRY  strawberry",
    "SolidGoldMagikarp  SolidGoldMagikarp",
    "<|endoftext|> is plain text here",
    "",
]


@pytest.fixture(scope="module")
def tokenizer(gpt2_files):
    return GPT2Tokenizer.from_files(gpt2_files["encoder.json"], gpt2_files["vocab.bpe"])


@pytest.fixture(scope="module")
def tiktoken_gpt2(gpt2_files):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the local files, cache nothing
        ranks = data_gym_to_mergeable_bpe_ranks(
            vocab_bpe_file=str(gpt2_files["vocab.bpe"]),
            encoder_json_file=str(gpt2_files["encoder.json"]),
        )
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={END_OF_TEXT: 50256},
        explicit_n_vocab=50257,
    )


def all_characters():
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


def test_the_cat_sat_on_the_mat(tokenizer):
    assert tokenizer.encode("The cat sat on the mat") == [464, 3797, 3332, 319, 262, 2603]
    assert tokenizer.vocab_size == 50257 and tokenizer.eot_id == 50256


def test_from_text_accepts_strings_and_bytes(gpt2_files, tokenizer):
    encoder_json = gpt2_files["encoder.json"].read_bytes()
    vocab_bpe = gpt2_files["vocab.bpe"].read_bytes()
    for loaded in (GPT2Tokenizer.from_text(encoder_json, vocab_bpe),
                   GPT2Tokenizer.from_text(encoder_json.decode(), vocab_bpe.decode())):
        assert loaded.ranks == tokenizer.ranks and loaded.encoder == tokenizer.encoder
    assert len(tokenizer.ranks) == 50_000
    assert tokenizer.ranks[("Ġ", "t")] == 0  # the first line after the version header
    assert tokenizer.ranks[("#", "#")] < len(tokenizer.ranks)  # "#" lines are merges too
    with pytest.raises(ValueError, match="one merge per line"):
        GPT2Tokenizer.from_text(encoder_json, "#version: 0.2\na b c\n")


def test_bytes_to_unicode():
    assert len(BYTE_TO_UNICODE) == 256 and len(set(BYTE_TO_UNICODE.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in BYTE_TO_UNICODE.values())
    assert BYTE_TO_UNICODE[ord(" ")] == "Ġ" and BYTE_TO_UNICODE[ord("\n")] == "Ċ"
    assert BYTE_TO_UNICODE[ord("a")] == "a" and BYTE_TO_UNICODE[0] == chr(256)
    everything = bytes(range(256))
    assert from_stand_ins(to_stand_ins(everything)) == everything
    assert to_stand_ins(b" cat") == "Ġcat"


def test_shipped_unicode_table_matches_this_interpreter():
    # If this fails, run build/gen_unicode_numbers.py with this interpreter (see its docstring).
    version = unicodedata.unidata_version
    assert version in NUMERIC_RANGES, f"no Nl/No table for Unicode {version}"
    assert NUMERIC_RANGES[version] == numeric_ranges()
    assert (0xB2, 0xB3) in NUMERIC_RANGES[version]  # superscript two and three


def test_character_classes_equal_the_unicode_categories():
    """Every code point, through the stdlib re classes, against its Unicode category."""
    text = all_characters()
    classes = {name: re.compile(f"{pattern}+") for name, pattern in
               character_classes(NUMERIC_RANGES[unicodedata.unidata_version]).items()}
    found = {name: "".join(pattern.findall(text)) for name, pattern in classes.items()}
    kind = {"L": "letter", "N": "number"}
    expected = {"letter": [], "number": [], "space": [], "other": []}
    for ch in text:
        if ord(ch) in WHITE_SPACE:
            expected["space"].append(ch)
        else:
            expected[kind.get(unicodedata.category(ch)[0], "other")].append(ch)
    for name, chars in expected.items():
        assert found[name] == "".join(chars), name


def test_pretokenizer_splits(tokenizer):
    pieces = tokenizer.pretokenize
    assert pieces("Hello world!!") == ["Hello", " world", "!!"]
    assert pieces("it's they'll") == ["it", "'s", " they", "'ll"]
    # A run of spaces gives its last space to the next word.
    assert pieces("a   b") == ["a", "  ", " b"]
    assert pieces("a   \n") == ["a", "   \n"]
    assert pieces("x² 12½") == ["x", "²", " 12½"]
    assert pieces("snake_case") == ["snake", "_", "case"]
    # U+001C..U+001F are whitespace to Python's \s but not to GPT-2's.
    assert pieces("x\n\n\x1c") == ["x", "\n", "\n", "\x1c"]


def test_token_strings_for_the_book(tokenizer):
    assert tokenizer.tokenize("strawberry") == ["st", "raw", "berry"]
    assert tokenizer.tokenize(" strawberry") == [" strawberry"]
    assert tokenizer.tokenize("12345") == ["123", "45"]
    assert tokenizer.tokenize("ChatGPT") == ["Chat", "G", "PT"]
    assert tokenizer.encode("The") == [464] and tokenizer.encode(" cat") == [3797]
    # Half a character shows its bytes.
    assert tokenizer.tokenize("東")[0].startswith("\\x")
    steps = tokenizer.explain_piece(" strawberry")
    assert steps[0] == list(" strawberry") and steps[-1] == [" strawberry"]
    assert all("".join(step) == " strawberry" for step in steps)
    assert [len(step) for step in steps] == sorted({len(step) for step in steps}, reverse=True)


def test_cache_gives_the_same_ids(gpt2_files, tokenizer):
    fresh = GPT2Tokenizer.from_files(gpt2_files["encoder.json"], gpt2_files["vocab.bpe"])
    text = " ".join(CORPUS)
    assert not fresh.cache
    cold = fresh.encode(text)
    assert fresh.cache
    assert fresh.encode(text) == cold == tokenizer.encode(text)


def test_special_token_only_when_allowed(tokenizer):
    text = f"one{END_OF_TEXT}two{END_OF_TEXT}"
    assert 50256 not in tokenizer.encode(text)
    assert tokenizer.encode(text, allow_special=True) == (
        tokenizer.encode("one") + [50256] + tokenizer.encode("two") + [50256]
    )
    assert tokenizer.decode([50256]) == END_OF_TEXT


def test_decode_replaces_broken_utf8(tokenizer):
    ids = tokenizer.encode("東")
    assert len(ids) > 1
    assert tokenizer.decode(ids[:1]) == "\ufffd"


def test_round_trip_on_the_corpus(tokenizer):
    for text in CORPUS:
        assert tokenizer.decode(tokenizer.encode(text)) == text
        assert "".join(tokenizer.pretokenize(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_any_text(tokenizer, text):
    assert "".join(tokenizer.pretokenize(text)) == text
    assert tokenizer.decode(tokenizer.encode(text)) == text


# Reference parity with tiktoken, built offline from the same two files.

SNIPPETS = [" ", "  ", "\n", "\t", "\r\n", "'s", "'t", "'re", "'ll", "'", "a", "Z", "é", "東",
            "1", "²", "½", "Ⅻ", "٣", "_", "!", "?!", "🙂", "\x1c", "\x85", "\u00a0", "\u3000",
            "the", " the", "ing", "123"]


@pytest.mark.reference
def test_matches_tiktoken_on_the_corpus(tokenizer, tiktoken_gpt2):
    for text in CORPUS:
        assert tokenizer.encode(text) == tiktoken_gpt2.encode_ordinary(text), repr(text)
    text = f"one{END_OF_TEXT}two"
    assert tokenizer.encode(text, allow_special=True) == tiktoken_gpt2.encode(
        text, allowed_special="all"
    )


@pytest.mark.reference
def test_matches_tiktoken_on_a_long_text(tokenizer, tiktoken_gpt2):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    text = readme + "\n".join(CORPUS) * 3
    assert tokenizer.encode(text) == tiktoken_gpt2.encode_ordinary(text)


# Characters that this interpreter's Unicode database knows: a character assigned in a newer
# Unicode version than Python's (tiktoken's Rust regex may know it) can be pre-tokenized
# differently; the tokenizer follows the interpreter's Unicode, as the stdlib re does.
assigned = st.characters(exclude_categories=("Cs", "Cn"))


@pytest.mark.reference
@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(assigned, max_size=80),
                 st.lists(st.sampled_from(SNIPPETS) | assigned, max_size=30).map("".join)))
def test_matches_tiktoken_on_generated_text(tokenizer, tiktoken_gpt2, text):
    assert tokenizer.encode(text) == tiktoken_gpt2.encode_ordinary(text)
