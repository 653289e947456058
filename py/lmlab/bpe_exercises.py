"""Checks for chapter 3's exercises: the reader's five BPE functions against lmlab.bpe.

Each check runs the reader's function on cases the page does not show (small hand-picked edge
cases, then random ones from a fixed seed) and stops at the first disagreement, reporting the
input, what came back and what lmlab.bpe returns, so the reader can reproduce it in a cell.
"""

import random
from collections.abc import Callable

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


def check_function(name: str, theirs: Callable) -> tuple[bool, str]:
    """Run the reader's function `name` on every case; (passed, message for the reader)."""
    reference = getattr(bpe, name)
    cases = _cases(name)
    for case in cases:
        expected = reference(*case)
        if name == "get_pair_counts":
            expected = dict(expected)  # shown as a plain dict, the type the reader returns
        try:
            got = theirs(*case)
        except Exception as err:  # noqa: BLE001 - the reader's error, reported to them
            return False, f"{name}({_arguments(name, case)} raised {type(err).__name__}: {err}"
        if name == "get_pair_counts":
            same = isinstance(got, dict) and dict(got) == expected
        else:
            same = got == expected or (isinstance(got, tuple | list) and list(got) == expected)
        if not same:
            return False, (f"{name}({_arguments(name, case)}\n  returned {_short(got)}\n"
                           f"  expected {_short(expected)}")
    return True, f"{name}: all {len(cases)} cases agree with lmlab.bpe.{name}."


def gpt2_parity(encode: Callable, texts: list[str]) -> tuple[bool, str]:
    """The reader's encode, piece by piece with GPT-2's 50,000 merges, against GPT-2's ids."""
    from lmlab.wordbpe import gpt2_tokenizer

    gpt2 = gpt2_tokenizer()
    merges, byte_ids = gpt2.id_merges()
    for text in texts:
        expected = gpt2.encode(text)
        try:
            ids = [byte_ids[i] if i < 256 else i
                   for piece in gpt2.pretokenize(text) for i in encode(piece, merges)]
        except Exception as err:  # noqa: BLE001
            return False, f"encode raised {type(err).__name__}: {err} on {text!r}"
        if ids != expected:
            return False, (f"GPT-2 check on {text!r}:\n  your ids {_short(ids)}\n"
                           f"  GPT-2's  {_short(expected)}")
    return True, f"Your encode with GPT-2's merges gives GPT-2's ids on all {len(texts)} texts."


def check_all(functions: dict[str, Callable]) -> list[tuple[str, bool, str]]:
    """[(name, passed, message)] for the five functions, then the GPT-2 parity of encode."""
    results = []
    for name in ("get_pair_counts", "merge_pair", "train_bpe", "encode", "decode"):
        if name not in functions:
            results.append((name, False, f"{name} is not defined: run the cell that defines it."))
            continue
        results.append((name, *check_function(name, functions[name])))
    if all(passed for _, passed, _ in results):
        texts = ["The cat sat on the mat", "ChatGPT is amazing!", " strawberry 12345",
                 "def f(x):\n    return x  # naïve 東京"]
        results.append(("gpt2", *gpt2_parity(functions["encode"], texts)))
    return results
