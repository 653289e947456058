"""How long chapter 7's attention-matrix widget's call takes: lmlab.attention.attention_view on a
12-word sentence in every mode, with and without the causal mask (each answer also turned into
JSON, as the worker sends it). The aim is about 10 ms in Pyodide.

    node tests/pyodide/run.mjs --script build/bench/attention_view.py     (Pyodide)
    .venv/bin/python build/bench/attention_view.py                        (CPython)
Prints the median and the slowest of each call in ms; asserts nothing.
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a browser has one thread
REPO = Path(globals().get("__file__", "build/bench/attention_view.py")).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))  # this checkout's lmlab, not the built wheel's
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))  # as tests/conftest.py does

import numpy as np  # noqa: E402
from lmlab.attention import ATTENTION_VIEW_MAX_WORDS, attention_view  # noqa: E402
from lmlab.data import glove  # noqa: E402

ROUNDS = 30
SENTENCE = "the animal did not cross the street because it was too tired"  # 12 words, all in GloVe


def timed(call, rounds=ROUNDS):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        json.dumps(call(), default=lambda a: np.asarray(a).tolist())
        times.append((time.perf_counter() - start) * 1e3)
    return times


def report(name, times):
    median, slowest = np.median(times), max(times)
    print(f"{name:<46} median {median:7.2f} ms   max {slowest:7.2f} ms   n={len(times)}")


print(sys.platform, sys.version.split()[0], f"{len(SENTENCE.split())} words")
start = time.perf_counter()
glove()
print(f"{'glove() first load (once per page)':<46} {(time.perf_counter() - start) * 1e3:7.2f} ms")
assert len(attention_view(SENTENCE)["tokens"]) == ATTENTION_VIEW_MAX_WORDS == 12
for mode in ("raw", "scaled", "projected"):
    for causal in (False, True):
        report(f"attention_view {mode}{', causal' if causal else ''}",
               timed(lambda mode=mode, causal=causal: attention_view(SENTENCE, mode, causal)))
