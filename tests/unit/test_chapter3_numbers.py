"""Every number in chapter 3's prose, recomputed with lmlab from the chapter's own cells."""

import json
import re

import pytest
from chapter_numbers import REPO, load, missing_phrases, run_cells, unchecked_numbers
from lmlab import bpe, wordbpe

PATH = REPO / "web/chapters/03-tokenization.md"
CHAPTER = load(PATH)

GIVENS = [
    # published facts about other tokenizers and GPT-2's training, not computable here
    "learned on 40 GB of web text",
    "between about 32,000 and 256,000 tokens", "Llama 2 has 32,000",
    "GPT-4's tokenizer about 100,000 and Llama 3's about 128,000",
    "768 numbers each",  # GPT-2 small's embedding width (its published configuration)
    '"a", "b", "c" and "d" are 97 to 100',
    '"ChatGPT-4o"', '"4o"', "Step 4 is", "`zip(ids, ids[1:])`", "`ids[i + 1]`",
    # names with digits in them (masked last, so that longer phrases above match first)
    "GPT-2", "GPT-4", "UTF-8", "Llama 2", "Llama 3", "Attention (chapter 7)", "$T^2$",
]


@pytest.fixture(scope="module")
def page() -> dict:
    return run_cells(CHAPTER)


def widget_config(name: str) -> dict:
    match = re.search(rf"^::: widget {name} (.*)$", PATH.read_text(), re.M)
    return json.loads(match.group(1))


def claims(page: dict) -> list[str]:
    gpt2, words, chars = page["gpt2"], page["words"], page["chars"]
    shakespeare = page["shakespeare"]
    sentence = "The cat sat on the mat"
    ids = " ".join(map(str, gpt2.encode(sentence)))
    word_entries = [w for w in words.vocab[1:] if re.fullmatch(r"\w+", w)]
    punctuation = [w for w in words.vocab[1:] if not re.fullmatch(r"\w+", w)]
    # By hand: "aaabdaaabac"
    by_hand = list(b"aaabdaaabac")
    counts = bpe.get_pair_counts(by_hand)
    best = max(counts, key=counts.get)
    after = bpe.merge_pair(by_hand, best, 256)
    # Check yourself: two merges by hand on "hahaha!"
    laugh = list(b"hahaha!")
    laugh_counts = bpe.get_pair_counts(laugh)
    once = bpe.merge_pair(laugh, max(laugh_counts, key=laugh_counts.get), 256)
    again_counts = bpe.get_pair_counts(once)
    twice = bpe.merge_pair(once, max(again_counts, key=again_counts.get), 257)
    # The walkthrough
    toy_words, toy_counts = wordbpe.piece_table(page["toy"])
    learned = list(wordbpe.learn(toy_words, toy_counts))
    first, fourth = learned[0], learned[3]
    # GPT-2 facts
    amazing = " ".join(map(str, gpt2.encode("ChatGPT is amazing!")))
    hindi = "नमस्ते"
    sweep = page["sweep"]["tokens"]
    sizes = page["sizes"]
    visualizer = widget_config("bpe-visualizer")["kwargs"]
    playground = wordbpe.playground.__defaults__  # (num_merges, corpus_chars)
    d_model = 768
    cat = gpt2.encode(" cat")[0]
    assert gpt2.token_strings([cat - 1, cat + 1]) == ["rief", "esc"]  # named in the prose
    ordinal = cat - 256 + 1
    assert ordinal % 10 == 2 and ordinal % 100 != 12  # "nd"
    n_chars, n_gpt2 = len(sentence), len(gpt2.tokenize(sentence))
    cost = [
        f"Characters make {n_chars} tokens and {n_chars ** 2} scores; GPT-2's subwords make "
        f"{n_gpt2} and {n_gpt2 ** 2}, about a thirteenth as\nmany",
    ]
    assert round(n_chars ** 2 / n_gpt2 ** 2) == 13  # "about a thirteenth"
    return cost + [
        f"Six tokens, with ids {ids}",
        f"is {cat} because it was the {ordinal:,}nd merge",
        f'"rief" ({cat - 1}) and "esc" ({cat + 1}), and " cats" is {gpt2.encode(" cats")[0]}',
        f"a {len(shakespeare):,}-character collection",
        f"Characters need only {chars.vocab_size} kinds of token, but the sentence takes "
        f"{len(chars.encode(sentence))} of them",
        f"Words take just {len(words.encode(sentence))} tokens",
        f"the vocabulary holds {words.vocab_size:,} entries ({len(word_entries):,} words, "
        f"{len(punctuation)} punctuation marks and [UNK]",
        f'so it becomes id {words.encode("ChatGPT")[0]}, [UNK]',
        f"The pair ({best[0]}, {best[1]}), \"aa\", occurs {counts[best]} times",
        "so it becomes token 256, the first id after the 256 byte values",
        f"the text shrinks from {len(by_hand)} tokens to {len(after)}",
        "Which pairs become tokens 256 and 257",
        f'"h"+"a" occurs {laugh_counts[(104, 97)]} times, "a"+"h" {laugh_counts[(97, 104)]} times',
        f"becomes token 256 and the text shrinks from {len(laugh)} tokens to {len(once)}: "
        "ha ha ha !",
        f"(256, 256) occurs {again_counts[(256, 256)]} times",
        'belongs to both pairs, and (256, "!") once',
        f'So "haha" becomes token 257, yet only one merge fits in the three "ha"s: the text is now '
        f"{len(twice)} tokens, haha ha !",
        "starts from the 256 byte values",
        f'"l"+"o" and "o"+"w" both occur {first["count"]} times',
        f"an {len(fourth['tied'])}-way tie at count {fourth['count']}",
        f"Training stops after {len(learned)} merges",
        f"the first {visualizer['corpus_chars']:,} characters of tiny-shakespeare plus whatever",
        f"watch all {visualizer['num_merges']} steps",
        f'"naïve" starts as {len("naïve".encode())} tokens',
        "starts instead from the 256 possible values of a byte",
        f"the 256 bytes, then {len(gpt2.byte_merges()):,} merges",
        f"the end of a document: {gpt2.vocab_size:,} tokens",
        f'"ChatGPT is amazing!" is {len(amazing.split())} tokens with ids {amazing}',
        f"the book learns here: {playground[0]} byte-level merges on the first {playground[1]:,} "
        "characters",
        f'" strawberry" is a single token, id {gpt2.encode(" strawberry")[0]}',
        f'"1234" becomes "{gpt2.tokenize("1234")[0]}" and "{gpt2.tokenize("1234")[1]}", "12345" '
        f'becomes "{gpt2.tokenize("12345")[0]}" and "{gpt2.tokenize("12345")[1]}", while "427" is '
        f"{['no', 'one'][len(gpt2.encode('427'))]} token",
        f'"Hello" is {len(gpt2.encode("Hello"))} token and the Hindi greeting "{hindi}" is '
        f"{len(gpt2.encode(hindi))}: its {len(hindi)} characters are {len(hindi.encode())} bytes",
        f"Four spaces are {len(gpt2.encode('    '))} tokens, all id {gpt2.encode(' ')[0]}",
        f'" SolidGoldMagikarp" is a single GPT-2 token, id {gpt2.encode(" SolidGoldMagikarp")[0]}',
        f"trained on the first {len(page['text']):,} characters of tiny-shakespeare",
        f"the first {sizes[1] - sizes[0]} merges cut the text from {sweep[0]:,} tokens to "
        f"{sweep[1]:,}, the next {sizes[-1] - sizes[1]:,} only to {sweep[-1]:,}",
        f"so GPT-2, with {gpt2.vocab_size:,} tokens of",
        f"spends {gpt2.vocab_size * d_model:,} parameters",
        f"GPT-2 has {gpt2.vocab_size:,},",
        "new ids from 256 upwards",
        f"itself: with GPT-2's {len(gpt2.byte_merges()):,} merges, your ids",
    ]


def test_every_claim_is_in_the_prose(page):
    assert missing_phrases(CHAPTER, claims(page)) == []


def test_no_number_in_the_prose_goes_unchecked(page):
    assert unchecked_numbers(CHAPTER, claims(page) + GIVENS) == []


def test_statements_in_words(page):
    gpt2 = page["gpt2"]
    # Flat BPE "learns " low low" as a single token by its fourth merge"
    assert [s["new_token"] for s in bpe.bpe_trace(page["toy"])[1:5]][-1] == " low low"
    # "Each word is one token, and the space in front of a word belongs to it"
    assert gpt2.tokenize("The cat sat on the mat")[1:] == [" cat", " sat", " on", " the", " mat"]
    # "two of the three pieces are unknown"
    assert page["words"].encode("ChatGPT-4o").count(0) == 2
    # "more than any other": the top pair is alone at the top
    counts = bpe.get_pair_counts(list(b"aaabdaaabac"))
    assert sorted(counts.values())[-1] > sorted(counts.values())[-2]
    # '"aaa" ... only one merge fits in it' and the overlap cell: 4 counts, 2 merges
    assert bpe.get_pair_counts(list(b"aaaaa"))[(97, 97)] == 4
    assert bpe.merge_pair(list(b"aaaaa"), (97, 97), 256) == [256, 256, 97]
    # Check yourself, "hahaha!": '"a"+"!" once', "ha" wins the first merge and "haha" the
    # second, each alone at the top, and the second merge leaves one "ha" unmerged
    laugh = list(b"hahaha!")
    first_counts = bpe.get_pair_counts(laugh)
    assert max(first_counts, key=first_counts.get) == (104, 97) and first_counts[(97, 33)] == 1
    assert sorted(first_counts.values())[-1] > sorted(first_counts.values())[-2]
    once = bpe.merge_pair(laugh, (104, 97), 256)
    assert once.count(256) == 3  # "the three "ha"s"
    second_counts = bpe.get_pair_counts(once)
    assert max(second_counts, key=second_counts.get) == (256, 256) and second_counts[(256, 33)] == 1
    assert sorted(second_counts.values())[-1] > sorted(second_counts.values())[-2]
    assert bpe.merge_pair(once, (256, 256), 257) == [257, 256, 33]  # haha ha !
    # '"lo" comes first and "low" one step later', '" low"+"e"' wins the tie
    merges = wordbpe.train(page["toy"])
    assert merges[:2] == [("l", "o"), ("lo", "w")] and merges[3] == (" low", "e")
    # '"lowest" ... still comes out in known pieces'
    assert all(len(t) > 0 for t in wordbpe.encode("lowest", merges))
    # "Common words come out whole": the, ing, tion are single tokens
    assert all(len(gpt2.encode(t)) == 1 for t in ["the", "ing", "tion"])
    # strawberry without the space: "st", "raw", "berry"
    assert gpt2.tokenize("strawberry") == ["st", "raw", "berry"]
    # "Every doubling of the vocabulary saves less"
    tokens = page["sweep"]["tokens"]
    saved = [a - b for a, b in zip(tokens, tokens[1:], strict=False)]
    assert all(x > y for x, y in zip(saved, saved[1:], strict=False))
    assert page["sizes"] == [256 * 2**k for k in range(len(page["sizes"]))]


def test_the_visualizers_try_this(page):
    """The visualizer's first merges and its try-this items, at the chapter's settings."""
    kwargs = widget_config("bpe-visualizer")["kwargs"]
    state = wordbpe.bpe_visualizer(**kwargs)
    firsts = [tuple(s["pair"]) for s in state["steps"][1:4]]
    assert ["".join(p) for p in firsts] == [" t", "he", "ou"]  # 'the first merges are " t", ...'
    alone = wordbpe.bpe_visualizer(**{**kwargs, "text": "unhappiness"})
    assert {"un", "in", "es"} <= set(alone["final"])  # "un", "in", ... appear in it
    once = wordbpe.bpe_visualizer(**{**kwargs, "text": "hello"})
    twenty = wordbpe.bpe_visualizer(**{**kwargs, "text": " ".join(["hello"] * 20)})
    assert " hello" not in once["final"] and " hello" in twenty["final"]
    byte_level = wordbpe.bpe_visualizer(**{**kwargs, "text": "naïve", "level": "bytes"})
    assert byte_level["steps"][0]["num_tokens"] == 6


FIVE = ["get_pair_counts", "merge_pair", "train_bpe", "encode", "decode"]


def test_the_exercise_checks_fail_every_starter_and_pass_lmlab(page):
    from lmlab import exercises

    for name in FIVE:
        starter = exercises.CHECKS[name](page[name])
        assert not starter["passed"] and starter["input"] and starter["hint"], name
        assert exercises.CHECKS[name](getattr(bpe, name))["passed"], name


def test_each_solution_passes_its_check(page):
    """The chapter's solutions, run in order in one namespace as a reader would paste them."""
    from lmlab import exercises

    text = PATH.read_text()
    namespace: dict = {}
    for name in FIVE:
        block = text[text.index(f":::: exercise {name}\n"):]
        solution = re.search(r"::: solution\n```\n(.*?)```", block, re.S).group(1)
        exec(solution, namespace)  # noqa: S102 - the book's own solution
        result = exercises.CHECKS[name](namespace[name])
        assert result["passed"], result
    assert "GPT-2's ids" in exercises.CHECKS["encode"](namespace["encode"])["message"]


def test_an_encode_that_ignores_merge_order_is_caught(page):
    """Merging the most frequent pair instead of the earliest-learned one passes small cases
    only by luck; the check must say so with the input."""
    from lmlab import exercises

    def by_count(text, merges):
        ids = list(text.encode("utf-8"))
        while True:
            counts = bpe.get_pair_counts(ids)
            known = [p for p in counts if p in merges]
            if not known:
                return ids
            pair = max(known, key=counts.get)
            ids = bpe.merge_pair(ids, pair, merges[pair])

    result = exercises.CHECKS["encode"](by_count)
    assert not result["passed"] and "expected" in result
