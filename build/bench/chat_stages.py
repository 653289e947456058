"""How long chapter 9's chat-stages widget waits for Python: lmlab.chat_stages.stages_view, three
models writing up to 40 tokens each with the KV cache (the fine-tuned and aligned ones stop soon
after <|end|>), the answer turned into JSON as the worker sends it.

    node tests/pyodide/run.mjs --script build/bench/chat_stages.py     (Pyodide)
    .venv/bin/python build/bench/chat_stages.py                        (CPython)
Prints times in ms (median, p95 and max of 20 calls, each a line, temperature and seed not seen
before) and the size of the JSON; asserts nothing.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a browser has one thread
REPO = Path(globals().get("__file__", "build/bench/chat_stages.py")).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))  # this checkout's lmlab, not the built wheel's
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))  # as tests/conftest.py does

from lmlab import chat_stages  # noqa: E402

CALLS = 20


def timed(call) -> tuple[float, int]:
    """(ms for call() and its answer as JSON, the JSON's length in characters)"""
    start = time.perf_counter()
    text = json.dumps(call(), allow_nan=False)
    return (time.perf_counter() - start) * 1e3, len(text)


def main() -> None:
    print(sys.platform, sys.version.split()[0])
    ms, _ = timed(lambda: chat_stages.chat_models() and chat_stages.token_pieces() and {})
    print(f"{'load the three models (first call only)':<44} {ms:8.1f} ms")
    presets = chat_stages.PRESETS
    calls = {
        "a preset line, greedy, new seed": lambda i: chat_stages.stages_view(
            presets[i % 5], 0.0, i + 1),
        "a preset line, temperature 0.8, new seed": lambda i: chat_stages.stages_view(
            presets[i % 5], 0.8, i + 1),
        "Sample again (temperature 1.0, seed + 1)": lambda i: chat_stages.stages_view(
            presets[0], 1.0, 100 + i),
    }
    for name, call in calls.items():
        runs = [timed(lambda i=i: call(i)) for i in range(CALLS)]  # noqa: B023
        times = sorted(ms for ms, _ in runs)
        p95 = times[round(0.95 * (len(times) - 1))]
        print(f"{name:<44} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"(max {times[-1]:.1f})  JSON {runs[-1][1] / 1000:.1f} kB")


main()
