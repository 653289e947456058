"""What the benchmarks of the widgets' Python calls share. Each runs on CPython and in Pyodide:

    node tests/pyodide/run.mjs --script build/bench/NAME.py     (Pyodide)
    .venv/bin/python build/bench/NAME.py                        (CPython)

A script calls use_checkout() before it imports numpy or lmlab, then times each call together
with turning its answer into JSON, as the worker does before it sends it.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def use_checkout() -> None:
    """One BLAS thread, as a browser has; this checkout's lmlab and the book's data as
    tests/conftest.py prepares them, not the built wheel's."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO / "py"))
    os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))
    print(sys.platform, sys.version.split()[0])


def timed(call, send: bool = True) -> tuple[float, int]:
    """(ms for call() and, if send, its answer turned into JSON; the JSON's length in chars)."""
    start = time.perf_counter()
    answer = call()
    text = json.dumps(answer, default=lambda a: a.tolist()) if send else ""
    return (time.perf_counter() - start) * 1e3, len(text)


def times_of(call, rounds: int) -> list[float]:
    """ms of `rounds` timed calls."""
    return [timed(call)[0] for _ in range(rounds)]


def report(name: str, times: list[float], chars: int | None = None) -> None:
    """One line: the median, p95 and slowest of the times, and the JSON's size if given."""
    ordered = sorted(times)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    size = f"   JSON {chars / 1000:.1f} kB" if chars is not None else ""
    print(f"{name:<46} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
          f"max {ordered[-1]:7.2f} ms   n={len(ordered)}{size}")
