"""Runs every benchmark: the boot benchmark first, then each lmlab benchmark in build/bench/.

    .venv/bin/python build/bench/run.py [NAME ...]   (build/lab bench builds _site, then runs this)

A benchmark is a script in build/bench/ with a `__main__` block (modules without one, such as
timing.py, are helpers). Each runs in its own process and prints its own table with ratios
against a baseline measured in the same run; NAME limits the run to those (e.g. `boot bpe`).
The browser benchmarks use _site as it is (they build it themselves only when run alone).
The exit status is non-zero if any benchmark failed to run; a missed bar is reported in the
tables, not as a failure.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from bench_site import BUILT

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parents[1]


def benchmarks() -> list[Path]:
    scripts = [
        path for path in sorted(BENCH.glob("*.py"))
        if path.name != "run.py" and 'if __name__ == "__main__":' in path.read_text()
    ]
    return sorted(scripts, key=lambda path: path.stem != "boot")


def main() -> int:
    wanted = set(sys.argv[1:])
    chosen = [path for path in benchmarks() if not wanted or path.stem in wanted]
    unknown = wanted - {path.stem for path in chosen}
    if unknown:
        print(f"no benchmark called {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed = []
    for path in chosen:
        print(f"\n=== {path.stem} ({path.relative_to(REPO)}) ===", flush=True)
        started = time.monotonic()
        # build/lab bench has just built the site: the browser benchmarks use it as it is
        done = subprocess.run([sys.executable, str(path)], cwd=REPO, check=False,
                              env={**os.environ, BUILT: "1"})
        print(f"--- {path.stem}: {time.monotonic() - started:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(path.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
