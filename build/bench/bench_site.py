"""The built site a browser benchmark serves: built first unless `--no-build` is given, or the
benchmark runs under run.py, which has built it once for all of them (build/lab bench)."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILT = "LMLAB_BENCH_SITE_BUILT"  # set by run.py for the benchmarks it starts


def add_build_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-build", action="store_true", help="use _site as it is")


def built_site(args: argparse.Namespace) -> Path:
    """_site, built now unless args.no_build or run.py has built it."""
    if not args.no_build and not os.environ.get(BUILT):
        subprocess.run([sys.executable, str(REPO / "build" / "make_site.py")], check=True,
                       stdout=subprocess.DEVNULL)
    return REPO / "_site"
