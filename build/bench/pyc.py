"""Loading numpy and lmlab in Pyodide: the wheels the site ships, with bytecode precompiled
(build/precompile_wheel.py), against the same wheels without it, measured in the same run.

    .venv/bin/python build/bench/pyc.py [--rounds 5]      (after build/make_site.py)

Each round starts a fresh Pyodide under Node for each side (build/bench/pyc_load.mjs), in this
order or its reverse, and times loadPackage (read and unpack the wheel, load its shared libraries)
and the imports; the best and the median over the rounds. The baseline is the pinned numpy wheel
as Pyodide publishes it and the lmlab wheel as hatchling builds it, with a lock file of their own.
Node reads the wheels from disk: in a browser the bigger precompiled wheels also take longer to
download (build/bench/boot.py counts the bytes a page transfers).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build"))

import make_site  # noqa: E402
import vendor  # noqa: E402

SHIPPED = REPO / "_site" / "pyodide"
STEPS = ["start", "loadPackage numpy", "import numpy", "loadPackage lmlab", "import lmlab.*"]


def baseline_folder(folder: Path) -> Path:
    """A folder like _site/pyodide, but with the wheels as they are before precompiling."""
    for path in vendor.pyodide_core():
        if path.name != "pyodide-lock.json":
            (folder / path.name).symlink_to(path)
    wheels = []
    for name in vendor.PYODIDE_PACKAGES:
        wheel = vendor.pyodide_package(name)  # the pinned file, checked against its sha256
        (folder / wheel.name).symlink_to(wheel)
        wheels.append(folder / wheel.name)
    wheels.append(make_site.build_wheel(folder))
    vendor.site_lock(wheels, folder / "pyodide-lock.json")
    return folder


def measure(folder: Path) -> dict[str, float]:
    done = subprocess.run(["node", str(REPO / "build" / "bench" / "pyc_load.mjs"), str(folder)],
                          cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def wheel_sizes(folder: Path) -> dict[str, int]:
    return {path.name.split("-")[0]: path.stat().st_size for path in folder.glob("*.whl")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not (SHIPPED / "pyodide-lock.json").exists():
        raise SystemExit(f"{SHIPPED} is missing: build the site first (build/make_site.py)")
    with tempfile.TemporaryDirectory() as tmp:
        plain = baseline_folder(Path(tmp))
        runs: dict[str, list[dict[str, float]]] = {"plain": [], "precompiled": []}
        for r in range(args.rounds):
            # Alternate the order, so that neither side always runs on a warmer machine.
            order = [("plain", plain), ("precompiled", SHIPPED)]
            for side, folder in order[::-1] if r % 2 else order:
                runs[side].append(measure(folder))
            print(f"  round {r + 1}/{args.rounds}: import numpy "
                  f"{runs['plain'][-1]['import numpy']:.0f} ms plain, "
                  f"{runs['precompiled'][-1]['import numpy']:.0f} ms precompiled",
                  file=sys.stderr, flush=True)
        sizes = {"plain": wheel_sizes(plain), "precompiled": wheel_sizes(SHIPPED)}
    report(runs, sizes, args.rounds)


def report(runs: dict[str, list[dict[str, float]]], sizes: dict[str, dict[str, int]],
           rounds: int) -> None:
    def per_round(side: str, steps: list[str]) -> list[float]:
        return [sum(run[step] for step in steps) for run in runs[side]]

    rows = [(step, [step]) for step in STEPS] + [
        ("numpy: loadPackage + import", ["loadPackage numpy", "import numpy"]),
        ("both: loadPackage + imports", STEPS[1:]),
    ]
    print(f"Pyodide {vendor.PYODIDE_VERSION} under Node {node_version()}, {rounds} rounds, each a "
          "fresh Pyodide; 'start' loads the same files on both sides, a gauge of the noise")
    widths = [28, 6, 11, 6, 8, 11, 6]
    header = ["ms", "plain", "precompiled", "ratio", "| plain", "precompiled", "ratio"]
    print("  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join(c.ljust(w) for c, w in zip(["", "best", "", "", "| median", "", ""], widths,
                                                strict=True)).rstrip())
    for label, steps in rows:
        cells = [label]
        for pick in (min, statistics.median):
            plain, pre = pick(per_round("plain", steps)), pick(per_round("precompiled", steps))
            cells += [f"{plain:.0f}", f"{pre:.0f}", f"{pre / plain:.2f}x"]
        cells[4] = f"| {cells[4]}"
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    for package in sorted(sizes["plain"]):
        plain, pre = sizes["plain"][package], sizes["precompiled"][package]
        print(f"{package} wheel: {plain / 1e6:.3f} MB plain, {pre / 1e6:.3f} MB precompiled "
              f"({pre / plain:.2f}x)")


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
