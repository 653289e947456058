"""How long chapter 7's attention model takes to train, and the heads widget's calls after it:
lmlab.attention_lm with its SETTINGS (and smaller and larger step counts), each answer turned into
JSON as the worker sends it.

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints times in ms and the held-out loss each run reaches; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import timed, use_checkout  # noqa: E402

use_checkout()

from lmlab import attention_lm  # noqa: E402

print(attention_lm.SETTINGS)
steps = [int(s) for s in sys.argv[1:]] or [attention_lm.SETTINGS["steps"]]
for n in steps:
    ms, _ = timed(lambda n=n: attention_lm.trained(steps=n), send=False)
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
    print(f"{name:<36} {timed(call)[0]:9.1f} ms")
