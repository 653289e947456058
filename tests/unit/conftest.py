"""The `pyodide` marker: tests of what exists only inside Pyodide (the site's wheels installed,
Python 3.12's bytecode). CPython runs deselect them, as the Pyodide run deselects `reference`."""

import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pyodide: runs only inside Pyodide (tests/pyodide/run.mjs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform == "emscripten":
        return
    pyodide_only = [item for item in items if item.get_closest_marker("pyodide")]
    if pyodide_only:
        config.hook.pytest_deselected(items=pyodide_only)
        items[:] = [item for item in items if not item.get_closest_marker("pyodide")]
