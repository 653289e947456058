"""Checks for chapter 3's exercises: the reader's five BPE functions against lmlab.bpe.

lmlab.exercises reports them to the page (`:::: exercise NAME` in the chapter).

Each check runs the reader's function on cases the page does not show (small hand-picked edge
cases, then random ones from a fixed seed) and stops at the first disagreement, reporting the
input, what came back and what lmlab.bpe returns, so the reader can reproduce it in a cell.
"""

import random
from collections.abc import Callable
from functools import lru_cache

from lmlab import bpe

MAX_SHOWN = 160  # characters of a value shown in a message
DICT_SHOWN = 3  # entries of a big dict shown


def _short(value: object) -> str:
    """A value as Python would print it, a big dict cut to its first entries."""
    if isinstance(value, dict) and len(value) > DICT_SHOWN:
        head = ", ".join(f"{k!r}: {v!r}" for k, v in list(value.items())[:DICT_SHOWN])
        return f"{{{head}, ...}} ({len(value)} entries)"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + " ..."


def _arguments(name: str, case: tuple) -> str:
    """The call's arguments for a message; decode's vocabulary only with the ids it uses."""
    if name == "decode":
        ids, vocab = case
        used = ", ".join(f"{i}: {vocab[i]!r}" for i in dict.fromkeys(ids))
        return f"{_short(ids)}, vocab)\n  where vocab has {{{used}}}"
    return ", ".join(_short(arg) for arg in case) + ")"


def _random_ids(rng: random.Random, n: int, alphabet: int = 4) -> list[int]:
    return [rng.randrange(alphabet) for _ in range(n)]


def _sentences(rng: random.Random, count: int) -> list[str]:
    words = ["low", "lower", "newest", "wider", "the", "cat", "sat", "a", "aa", "naïve", "東京",
             "print(\"hi\")", "  ", "\n", "42", "ok!"]
    return [" ".join(rng.choice(words) for _ in range(rng.randrange(1, 12))) for _ in range(count)]


def _cases(name: str) -> list[tuple]:
    rng = random.Random(3)
    if name == "get_pair_counts":
        fixed = [[], [7], [1, 2], [1, 1, 1], [1, 2, 1, 2, 3], [5, 5, 5, 5, 5]]
        return [(ids,) for ids in fixed + [_random_ids(rng, rng.randrange(30)) for _ in range(20)]]
    if name == "merge_pair":
        fixed = [([], (1, 2), 9), ([1, 2], (1, 2), 9), ([1, 1, 1], (1, 1), 9),
                 ([1, 1, 1, 1], (1, 1), 9), ([2, 1, 2, 1], (1, 2), 9), ([1, 2, 3], (3, 4), 9)]
        random_cases = [(_random_ids(rng, rng.randrange(30), 3),
                         (rng.randrange(3), rng.randrange(3)), 99) for _ in range(20)]
        return fixed + random_cases
    if name == "train_bpe":
        return [(text, n) for text, n in [("aaabdaaabac", 3), ("", 4), ("ab", 5),
                                          ("aaaaa", 2)]] + [(s, 8) for s in _sentences(rng, 8)]
    if name in ("encode", "decode"):
        corpus = " ".join(_sentences(rng, 30))
        merges = bpe.train_bpe(corpus, 40)
        texts = ["", "low", "lowest newer", "naïve 東京", "zzz"] + _sentences(rng, 10)
        if name == "encode":
            return [(text, merges) for text in texts]
        vocab = bpe.build_vocab(merges)
        return [(bpe.encode(text, merges), vocab) for text in texts]
    raise ValueError(f"no exercise called {name!r}")


HINTS = {
    "get_pair_counts": "Count every adjacent position: [1, 1, 1] holds the pair (1, 1) twice.",
    "merge_pair": "Walk left to right; after a merge jump two places, so [1, 1, 1] becomes "
                  "[new, 1].",
    "train_bpe": "Recount after every merge, take the most frequent pair (the first one among "
                 "equals) and give it the next id, from 256 up.",
    "encode": "Start from the UTF-8 bytes; repeatedly merge the pair present with the smallest "
              "new id in merges, until no pair present is in merges.",
    "decode": "Join the tokens' bytes first, then decode once with errors='replace'.",
}


def check_function(name: str, theirs: Callable) -> dict:
    """Run the reader's function `name` on every case and stop at the first disagreement.

    -> {"passed": True, "cases", "message"} or {"passed": False, "input", "got", "expected",
    "hint"}, the form lmlab.exercises reports to the page.
    """
    reference = getattr(bpe, name)
    cases = _cases(name)
    for case in cases:
        expected = reference(*case)
        if name == "get_pair_counts":
            expected = dict(expected)  # shown as a plain dict, the type the reader returns
        call = f"{name}({_arguments(name, case)}"
        try:
            got = theirs(*case)
        except Exception as err:  # noqa: BLE001 - the reader's error, reported to them
            return {"passed": False, "input": call, "got": f"{type(err).__name__}: {err}",
                    "expected": _short(expected), "hint": "Your function raised an error here."}
        if name == "get_pair_counts":
            same = isinstance(got, dict) and dict(got) == expected
        else:
            same = got == expected or (isinstance(got, tuple | list) and list(got) == expected)
        if not same:
            return {"passed": False, "input": call, "got": _short(got),
                    "expected": _short(expected), "hint": HINTS[name]}
    return {"passed": True, "cases": len(cases),
            "message": f"All {len(cases)} hidden cases agree with lmlab.bpe.{name}."}


GPT2_TEXTS = ["The cat sat on the mat", "ChatGPT is amazing!", " strawberry 12345",
              "def f(x):\n    return x  # naïve 東京"]


def reader_gpt2_ids(text: str, encode: Callable) -> list[int]:
    """GPT-2's ids as a reader's encode(text, merges) gives them: piece by piece, with GPT-2's
    50,000 merges in lmlab.bpe's id space, mapped back to GPT-2's ids. -> list of ints."""
    from lmlab.wordbpe import gpt2_tokenizer

    gpt2 = gpt2_tokenizer()
    merges, byte_ids = _gpt2_id_merges()
    return [byte_ids[i] if i < 256 else i
            for piece in gpt2.pretokenize(text) for i in encode(piece, merges)]


@lru_cache(maxsize=1)
def _gpt2_id_merges() -> tuple[dict, list[int]]:
    from lmlab.wordbpe import gpt2_tokenizer

    return gpt2_tokenizer().id_merges()


def check_encode(theirs: Callable) -> dict:
    """The hidden cases, then GPT-2: with GPT-2's merges the reader's encode must give its ids."""
    result = check_function("encode", theirs)
    if not result["passed"]:
        return result
    from lmlab.wordbpe import gpt2_tokenizer

    gpt2 = gpt2_tokenizer()
    for text in GPT2_TEXTS:
        expected = gpt2.encode(text)
        call = f"your encode on {text!r}, piece by piece with GPT-2's merges"
        try:
            ids = reader_gpt2_ids(text, theirs)
        except Exception as err:  # noqa: BLE001
            return {"passed": False, "input": call, "got": f"{type(err).__name__}: {err}",
                    "expected": _short(expected), "hint": "Your function raised an error here."}
        if ids != expected:
            return {"passed": False, "input": call, "got": _short(ids),
                    "expected": _short(expected),
                    "hint": "Merge the pair with the smallest new id first, as GPT-2 does."}
    return {"passed": True, "cases": result["cases"] + len(GPT2_TEXTS),
            "message": f"{result['message']} With GPT-2's 50,000 merges your encode gives "
                       f"GPT-2's ids on all {len(GPT2_TEXTS)} test texts."}


CHECKS = {
    "get_pair_counts": lambda fn: check_function("get_pair_counts", fn),
    "merge_pair": lambda fn: check_function("merge_pair", fn),
    "train_bpe": lambda fn: check_function("train_bpe", fn),
    "encode": check_encode,
    "decode": lambda fn: check_function("decode", fn),
}
