"""How long chapter 8's gpt-lens widget waits for Python: lmlab.gpt_lens.lens_view (a new prompt)
and attention_map (another head) on the book's GPT, each answer turned into JSON as the worker
sends it.

    node tests/pyodide/run.mjs --script build/bench/gpt_lens.py     (Pyodide)
    .venv/bin/python build/bench/gpt_lens.py                        (CPython)
Prints times in ms (median of 9 calls) and the size of the JSON; asserts nothing.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a browser has one thread
REPO = Path(globals().get("__file__", "build/bench/gpt_lens.py")).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))  # this checkout's lmlab, not the built wheel's
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))  # as tests/conftest.py does

from lmlab import gpt_lens  # noqa: E402

SHORT = "ROMEO:\nBut soft, what light"
LONG = ("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name;\n"
        "Or, if thou wilt not, be but sworn my love,\nAnd I'll no longer be a Capulet.")


def timed(call) -> tuple[float, int]:
    """(ms for call() and its answer as JSON, the JSON's length in characters)"""
    start = time.perf_counter()
    text = json.dumps(call(), allow_nan=False)
    return (time.perf_counter() - start) * 1e3, len(text)


def main() -> None:
    print(sys.platform, sys.version.split()[0])
    ms, _ = timed(lambda: gpt_lens.token_pieces() and {})
    print(f"{'load the model (first call only)':<52} {ms:8.1f} ms")
    counter = iter(range(10**6))
    calls = {
        # a prompt not seen before (the cache keeps 8): the forward pass and the lens
        "new prompt, 16 tokens": lambda: gpt_lens.lens_view(f"{SHORT} {next(counter)}"),
        "new prompt, 64 tokens (block full)": lambda: gpt_lens.lens_view(
            f"{LONG} {next(counter)}"),
        # what the widget asks for another block or head: that head's map alone
        "attention_map, same 14-token prompt": lambda: gpt_lens.attention_map(
            SHORT, layer=next(counter) % 4, head=1),
        "attention_map, same 64-token prompt": lambda: gpt_lens.attention_map(
            LONG, layer=next(counter) % 4, head=2),
        "lens_view, same 64-token prompt, another head": lambda: gpt_lens.lens_view(
            LONG, layer=next(counter) % 4, head=3),
    }
    for name, call in calls.items():
        runs = [timed(call) for _ in range(9)]
        times = [ms for ms, _ in runs]
        print(f"{name:<52} {statistics.median(times):8.1f} ms  (max {max(times):.1f})  "
              f"JSON {runs[-1][1] / 1000:.1f} kB")


main()
