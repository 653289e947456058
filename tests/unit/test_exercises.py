"""The exercise checks: a right answer passes, each kind of wrong answer gets feedback that
names the input, what came back and what was expected."""

import json

import numpy as np
from lmlab import exercises


def right(words, chars):
    index = {c: k for k, c in enumerate(chars)}
    counts = np.zeros((len(chars), len(chars)), dtype=int)
    for word in words:
        padded = "." + word + "."
        for a, b in zip(padded, padded[1:], strict=False):
            counts[index[a], index[b]] += 1
    return counts


def no_end(words, chars):
    index = {c: k for k, c in enumerate(chars)}
    counts = np.zeros((len(chars), len(chars)), dtype=int)
    for word in words:
        padded = "." + word
        for a, b in zip(padded, padded[1:], strict=False):
            counts[index[a], index[b]] += 1
    return counts


def test_a_right_answer_passes():
    result = exercises.check_bigram_counts(right)
    assert result["passed"] and result["cases"] == 6


def test_a_missing_end_marker_is_pointed_at():
    result = exercises.check_bigram_counts(no_end)
    assert not result["passed"]
    assert result["input"] == "bigram_counts(['ab'], ['.', 'a', 'b'])"
    assert result["got"] == "0 at [2, 0], how often the end follows 'b'"
    assert result["expected"] == "1"
    assert "dots" in result["hint"]


def test_wrong_shapes_and_errors_are_feedback_too():
    assert "shape (3, 3)" in exercises.check_bigram_counts(lambda w, c: np.zeros(3))["expected"]
    failed = exercises.check_bigram_counts(lambda w, c: 1 / 0)
    assert failed["got"] == "ZeroDivisionError: division by zero"


def test_report_prints_one_marked_json_line(capsys):
    exercises.report("bigram_counts", right)
    exercises.report("bigram_counts", None)
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith(exercises.MARK) for line in lines)
    first, second = (json.loads(line.removeprefix(exercises.MARK)) for line in lines)
    assert first["passed"] and not second["passed"]
