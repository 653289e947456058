"""How long chapter 7's attention model takes to train, and the heads widget's calls after it:
lmlab.attention_lm with its SETTINGS (and smaller and larger step counts), each answer turned into
JSON as the worker sends it.

    node tests/pyodide/run.mjs --script build/bench/attention_lm.py     (Pyodide)
    .venv/bin/python build/bench/attention_lm.py                        (CPython)
Prints times in ms and the held-out loss each run reaches; asserts nothing.
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a browser has one thread
REPO = Path(globals().get("__file__", "build/bench/attention_lm.py")).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))  # this checkout's lmlab, not the built wheel's
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))  # as tests/conftest.py does

import numpy as np  # noqa: E402
from lmlab import attention_lm  # noqa: E402


def timed(call, send=True):
    """ms for call(), its answer turned into JSON if it is one the worker would send."""
    start = time.perf_counter()
    answer = call()
    if send:
        json.dumps(answer, default=lambda a: np.asarray(a).tolist())
    return (time.perf_counter() - start) * 1e3


print(sys.platform, sys.version.split()[0], attention_lm.SETTINGS)
steps = [int(s) for s in sys.argv[1:]] or [attention_lm.SETTINGS["steps"]]
for n in steps:
    ms = timed(lambda n=n: attention_lm.trained(steps=n), send=False)
    held = attention_lm._held_out_loss((), attention_lm._settings({"steps": n}))
    print(f"train {n:>5} steps (first call)   {ms:9.1f} ms   held-out {held:.4f}")
CALLS = {
    "heads_view('emma') after training": lambda: attention_lm.heads_view("emma"),
    "heads_view('emma', off=[0]) (new)": lambda: attention_lm.heads_view("emma", off=[0]),
    "heads_view('emma', off=[0]) again": lambda: attention_lm.heads_view("emma", off=[0]),
    "heads_view('sebastian', off=[0])": lambda: attention_lm.heads_view("sebastian", off=[0]),
    "head_ablation()": attention_lm.head_ablation,
}
for name, call in CALLS.items():
    print(f"{name:<36} {timed(call):9.1f} ms")
