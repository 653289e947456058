"""Checks for the book's exercises: the reader's function against lmlab's own on cases the
reader does not see, with feedback a learner can act on (the input, what they got, what was
expected, and where the two first differ).

A chapter's exercise (`:::: exercise NAME` in the Markdown) runs the reader's cell, then
``report(NAME, their_function)`` in the page's namespace; web/runtime/exercise.js reads the one
line it prints.
"""

import json
from collections.abc import Callable

import numpy as np

from lmlab import bpe_exercises
from lmlab.ngram import NGramModel

MARK = "lmlab-exercise-result:"


def _bigram_expected(words: list[str], chars: list[str]) -> np.ndarray:
    if not words:
        return np.zeros((len(chars), len(chars)), dtype=np.int64)
    return NGramModel(words, alphabet=chars).counts


def _describe(chars: list[str], a: int, b: int) -> str:
    after = "the start" if chars[a] == "." else repr(chars[a])
    nxt = "the end" if chars[b] == "." else repr(chars[b])
    return f"[{a}, {b}], how often {nxt} follows {after}"


def check_bigram_counts(fn: Callable) -> dict:
    """bigram_counts(words, chars) -> (V, V) ints, against NGramModel(...).counts."""
    letters = [".", *"abcdefghijklmnopqrstuvwxyz"]
    cases = [
        (["ab"], [".", "a", "b"]),
        (["emma", "ava"], [".", "a", "e", "m", "v"]),
        (["anna", "bob", "otto"], letters),
        (["x"], letters),
        ([], [".", "a"]),
        (["zoe", "zara", "amy", "zz"], letters),
    ]
    for words, chars in cases:
        call = f"bigram_counts({words!r}, {chars!r})" if len(chars) < 10 else \
            f"bigram_counts({words!r}, chars)  # chars = ['.', 'a', ..., 'z']"
        expected = _bigram_expected(words, chars)
        try:
            got = np.asarray(fn(list(words), list(chars)))
        except Exception as err:  # noqa: BLE001 - the reader's error is feedback
            return _fail(call, f"{type(err).__name__}: {err}", "no error",
                         "Your function raised an error on this input.")
        if got.shape != expected.shape:
            return _fail(call, f"an array of shape {got.shape}", f"shape {expected.shape}",
                         "The table needs one row and one column per character in chars.")
        if not np.array_equal(got, expected):
            a, b = map(int, np.argwhere(got != expected)[0])
            return _fail(call, f"{got[a, b]} at {_describe(chars, a, b)}", str(expected[a, b]),
                         "Did you wrap each word in dots, at the start and at the end?"
                         if chars[0] in (chars[a], chars[b]) else
                         "Count every neighbouring pair of the padded word.")
    return {"passed": True, "cases": len(cases), "message": f"All {len(cases)} hidden cases pass."}


def _fail(call: str, got: str, expected: str, hint: str) -> dict:
    return {"passed": False, "input": call, "got": got, "expected": expected, "hint": hint}


CHECKS = {"bigram_counts": check_bigram_counts, **bpe_exercises.CHECKS}


def report(name: str, fn: object) -> None:
    """Print the check's result as one JSON line for the page (exercise.js)."""
    if not callable(fn):
        result = {"passed": False, "input": "", "got": "no function", "expected": f"{name}()",
                  "hint": f"Define a function called {name} in the exercise's cell."}
    else:
        result = CHECKS[name](fn)
    print(MARK + json.dumps(result))
