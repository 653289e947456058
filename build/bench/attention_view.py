"""How long chapter 7's attention-matrix widget's call takes: lmlab.attention.attention_view on a
12-word sentence in every mode, with and without the causal mask (each answer also turned into
JSON, as the worker sends it). The aim is about 10 ms in Pyodide.

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints the median and the slowest of each call in ms; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import report, timed, times_of, use_checkout  # noqa: E402

use_checkout()

from lmlab.attention import ATTENTION_VIEW_MAX_WORDS, attention_view  # noqa: E402
from lmlab.data import glove  # noqa: E402

ROUNDS = 30
SENTENCE = "the animal did not cross the street because it was too tired"  # 12 words, all in GloVe

ms, _ = timed(glove, send=False)
print(f"{'glove() first load (once per page)':<46} {ms:7.2f} ms")
assert len(attention_view(SENTENCE)["tokens"]) == ATTENTION_VIEW_MAX_WORDS == 12
for mode in ("raw", "scaled", "projected"):
    for causal in (False, True):
        report(f"attention_view {mode}{', causal' if causal else ''}",
               times_of(lambda mode=mode, causal=causal: attention_view(SENTENCE, mode, causal),
                        ROUNDS))
