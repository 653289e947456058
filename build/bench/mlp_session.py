"""How long the chapter 6 trainer's calls take: lmlab.mlp_lm's session on the book's names with
the defaults, one call per redraw (each answer also turned into JSON, as the worker sends it).

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints the median and the slowest of each call in ms; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import report, times_of, use_checkout  # noqa: E402

use_checkout()

from lmlab import mlp_lm, optim  # noqa: E402

report("session_start (defaults, names)", times_of(lambda: mlp_lm.session_start(), 3))
session = mlp_lm.session_start()["id"]
for steps in (10, 20, 40):
    # Chunks that never reach a multiple of EVAL_EVERY: training alone.
    plain = []
    for _ in range(8):
        done = mlp_lm.session_state(session, samples=0)["step"]
        if done % mlp_lm.EVAL_EVERY + steps >= mlp_lm.EVAL_EVERY:
            mlp_lm.session_train(session, mlp_lm.EVAL_EVERY - done % mlp_lm.EVAL_EVERY)
        plain += times_of(lambda steps=steps: mlp_lm.session_train(session, steps), 1)
    report(f"session_train {steps} steps, no measuring", plain)
record = mlp_lm._sessions[session]
report("the held-out + probe measurement alone", times_of(record.measure, 10))
crossing = []
for _ in range(8):
    # Ten steps short of the next measurement, then 20 steps: the call measures on the way.
    mlp_lm.session_train(session, mlp_lm.EVAL_EVERY - 10 - len(record.losses) % mlp_lm.EVAL_EVERY)
    crossing += times_of(lambda: mlp_lm.session_train(session, 20), 1)
report("session_train 20 steps, measuring on the way", crossing)
mlp_lm.session_train(session, 2000)
report("session_state (8 samples, 2,000+ losses)",
       times_of(lambda: mlp_lm.session_state(session), 10))
report("session_state (no samples)", times_of(lambda: mlp_lm.session_state(session, samples=0), 10))
for name, dim in (("bowl", 1), ("valley", 2), ("two_minima", 2)):
    report(f"descent_trace {name} {dim}-D, 50 steps",
           times_of(lambda n=name, d=dim: optim.descent_trace(n, 0.1, 50, dim=d), 20))
report("landscape_view valley 61 x 61", times_of(lambda: optim.landscape_view("valley"), 20))
