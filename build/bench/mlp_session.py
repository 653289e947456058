"""How long the chapter 6 trainer's calls take: lmlab.mlp_lm's session on the book's names with
the defaults, one call per redraw (each answer also turned into JSON, as the worker sends it).

    node tests/pyodide/run.mjs --script build/bench/mlp_session.py     (Pyodide)
    .venv/bin/python build/bench/mlp_session.py                        (CPython)
Prints the median and the slowest of each call in ms; asserts nothing.
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a browser has one thread
REPO = Path(globals().get("__file__", "build/bench/mlp_session.py")).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))  # this checkout's lmlab, not the built wheel's
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))  # as tests/conftest.py does

import numpy as np  # noqa: E402
from lmlab import mlp_lm, optim  # noqa: E402


def timed(call, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        json.dumps(call(), default=lambda a: np.asarray(a).tolist())
        times.append((time.perf_counter() - start) * 1e3)
    return times


def report(name, times):
    median, slowest = np.median(times), max(times)
    print(f"{name:<46} median {median:7.2f} ms   max {slowest:7.2f} ms   n={len(times)}")


print(sys.platform, sys.version.split()[0])
report("session_start (defaults, names)", timed(lambda: mlp_lm.session_start(), 3))
session = mlp_lm.session_start()["id"]
for steps in (10, 20, 40):
    # Chunks that never reach a multiple of EVAL_EVERY: training alone.
    plain = []
    for _ in range(8):
        done = mlp_lm.session_state(session, samples=0)["step"]
        if done % mlp_lm.EVAL_EVERY + steps >= mlp_lm.EVAL_EVERY:
            mlp_lm.session_train(session, mlp_lm.EVAL_EVERY - done % mlp_lm.EVAL_EVERY)
        plain += timed(lambda steps=steps: mlp_lm.session_train(session, steps), 1)
    report(f"session_train {steps} steps, no measuring", plain)
record = mlp_lm._sessions[session]
report("the held-out + probe measurement alone", timed(record.measure, 10))
crossing = []
for _ in range(8):
    # Ten steps short of the next measurement, then 20 steps: the call measures on the way.
    mlp_lm.session_train(session, mlp_lm.EVAL_EVERY - 10 - len(record.losses) % mlp_lm.EVAL_EVERY)
    crossing += timed(lambda: mlp_lm.session_train(session, 20), 1)
report("session_train 20 steps, measuring on the way", crossing)
mlp_lm.session_train(session, 2000)
report("session_state (8 samples, 2,000+ losses)", timed(lambda: mlp_lm.session_state(session), 10))
report("session_state (no samples)", timed(lambda: mlp_lm.session_state(session, samples=0), 10))
for name, dim in (("bowl", 1), ("valley", 2), ("two_minima", 2)):
    report(f"descent_trace {name} {dim}-D, 50 steps",
           timed(lambda n=name, d=dim: optim.descent_trace(n, 0.1, 50, dim=d), 20))
report("landscape_view valley 61 x 61", timed(lambda: optim.landscape_view("valley"), 20))
