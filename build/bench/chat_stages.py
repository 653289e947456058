"""How long chapter 9's chat-stages widget waits for Python: lmlab.chat_stages.stages_view, three
models writing up to 40 tokens each with the KV cache (the fine-tuned and aligned ones stop soon
after <|end|>), the answer turned into JSON as the worker sends it.

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints times in ms (median, p95 and max of 20 calls, each a line, temperature and seed not seen
before) and the size of the JSON; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import report, timed, use_checkout  # noqa: E402

use_checkout()

from lmlab import chat_stages  # noqa: E402

CALLS = 20

ms, _ = timed(lambda: chat_stages.chat_models() and chat_stages.token_pieces(), send=False)
print(f"{'load the three models (first call only)':<46} {ms:7.1f} ms")
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
    report(name, [ms for ms, _ in runs], runs[-1][1])
