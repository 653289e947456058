"""How long chapter 8's gpt-lens widget waits for Python: lmlab.gpt_lens.lens_view (a new prompt)
and attention_map (another head) on the book's GPT, each answer turned into JSON as the worker
sends it.

Runs in Pyodide or on CPython (widget_calls.py says how).
Prints times in ms (median of 9 calls) and the size of the JSON; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also in Pyodide, which runs it by path
from widget_calls import report, timed, use_checkout  # noqa: E402

use_checkout()

from lmlab import gpt_lens  # noqa: E402

SHORT = "ROMEO:\nBut soft, what light"
LONG = ("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name;\n"
        "Or, if thou wilt not, be but sworn my love,\nAnd I'll no longer be a Capulet.")

ms, _ = timed(gpt_lens.token_pieces, send=False)
print(f"{'load the model (first call only)':<46} {ms:7.1f} ms")
counter = iter(range(10**6))
CALLS = {
    # a prompt not seen before (the cache keeps 8): the forward pass and the lens
    "new prompt, 16 tokens": lambda: gpt_lens.lens_view(f"{SHORT} {next(counter)}"),
    "new prompt, 64 tokens (block full)": lambda: gpt_lens.lens_view(f"{LONG} {next(counter)}"),
    # what the widget asks for another block or head: that head's map alone
    "attention_map, same 14-token prompt": lambda: gpt_lens.attention_map(
        SHORT, layer=next(counter) % 4, head=1),
    "attention_map, same 64-token prompt": lambda: gpt_lens.attention_map(
        LONG, layer=next(counter) % 4, head=2),
    "lens_view, same 64-token prompt, another head": lambda: gpt_lens.lens_view(
        LONG, layer=next(counter) % 4, head=3),
}
for name, call in CALLS.items():
    runs = [timed(call) for _ in range(9)]
    report(name, [ms for ms, _ in runs], runs[-1][1])
