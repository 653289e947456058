"""The one timing helper the benchmarks share: best of a few runs, since these machines are
noisy and the minimum is the least disturbed measurement."""

import time


def best_of(repeats: int, fn, *args, **kwargs):
    """(fastest wall time in seconds, the last result) over `repeats` calls of fn."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times), result
