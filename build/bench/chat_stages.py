"""How long chapter 9's chat-stages widget waits for Python: one lmlab.chat_stages.stages_stream
call, which writes up to TOKENS_PER_CALL more tokens of each of three models' replies with the KV
cache kept between calls (the fine-tuned and aligned ones stop at <|end|>) and computes at most
one finished reply's log-probability under one model, the answer turned into JSON as the worker
sends it.

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints times in ms (median, p95 and max over every call of 10 requests, each a line, temperature
and seed not seen before, called with calls = 0, 1, ... until done, as the widget does), the
size of the JSON, and each request's calls summed; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import report, timed, use_checkout  # noqa: E402

use_checkout()

from lmlab import chat_stages  # noqa: E402

REQUESTS = 10

ms, _ = timed(lambda: chat_stages.chat_models() and chat_stages.token_pieces(), send=False)
print(f"{'load the three models (first call only)':<46} {ms:7.1f} ms")
print(f"each call writes up to TOKENS_PER_CALL = {chat_stages.TOKENS_PER_CALL} tokens a reply")
presets = chat_stages.PRESETS
requests = {
    "a preset line, greedy, new seed": lambda i: (presets[i % 5], 0.0, i + 1),
    "a preset line, temperature 0.8, new seed": lambda i: (presets[i % 5], 0.8, i + 1),
    "Sample again (temperature 1.0, seed + 1)": lambda i: (presets[0], 1.0, 100 + i),
}
for name, request in requests.items():
    first, later, whole, chars = [], [], [], 0
    for i in range(REQUESTS):
        args, calls, answers = request(i), [], [{"done": False}]
        while not answers[-1]["done"]:
            ms, chars = timed(lambda: answers.append(  # noqa: B023
                chat_stages.stages_stream(*args, len(calls))) or answers[-1])  # noqa: B023
            calls.append(ms)
        first.append(calls[0])
        later += calls[1:]
        whole.append(sum(calls))
    print(name)
    report("  calls=0 (the prompts, no tokens yet)", first, chars)
    report("  each later call (tokens or a log-probability)", later, chars)
    report("  a request's calls summed", whole)
