"""The wheels the site ships in _site/pyodide (after build/make_site.py): numpy's and lmlab's, each
with Python 3.12 bytecode beside its sources, as PEP 552 unchecked hash-based pycs
(build/precompile_wheel.py), and a lock file with the sha256 of those very files.

The checks on the files run on CPython and in Pyodide. Those that need Python 3.12 itself (its
source hash, its code objects) or the wheels installed by Pyodide are marked `pyodide`: they run in
`node tests/pyodide/run.mjs`, which installs these same wheels from _site/pyodide.
"""

import base64
import csv
import hashlib
import importlib.util
import inspect
import json
import marshal
import site
import traceback
import zipfile
from importlib.machinery import SourceFileLoader
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "_site" / "pyodide"
SHIPPED = ["lmlab", "numpy"]
# CPython 3.12's magic number, 3531 (Pyodide 0.27's Python); the host's 3.11 has 3495.
MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def site_lock() -> dict:
    path = SITE / "pyodide-lock.json"
    assert path.exists(), f"{path} is missing: build the site first (build/make_site.py)"
    return json.loads(path.read_text())


def shipped_wheel(package: str) -> Path:
    return SITE / site_lock()["packages"][package]["file_name"]


def sources(names: list[str]) -> list[str]:
    """The wheel's .py files that are installed into site-packages (not the `*.data/` ones)."""
    return [n for n in names if n.endswith(".py") and not n.split("/")[0].endswith(".data")]


def pyc_of(source: str) -> str:
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.cpython-312.pyc")


def test_the_lock_lists_the_shipped_files_with_their_sha256():
    packages = site_lock()["packages"]
    assert sorted(packages) == SHIPPED
    for package in packages.values():
        digest = hashlib.sha256((SITE / package["file_name"]).read_bytes()).hexdigest()
        assert package["sha256"] == digest, package["file_name"]


def test_numpys_entry_is_pyodides_own_but_for_the_sha256():
    official = json.loads((REPO / "node_modules" / "pyodide" / "pyodide-lock.json").read_text())
    ours, theirs = site_lock()["packages"]["numpy"], official["packages"]["numpy"]
    assert {k: v for k, v in ours.items() if k != "sha256"} == {
        k: v for k, v in theirs.items() if k != "sha256"
    }
    assert ours["sha256"] != theirs["sha256"]  # the shipped file has bytecode added
    lmlab = site_lock()["packages"]["lmlab"]
    assert (lmlab["imports"], lmlab["depends"]) == (["lmlab"], ["numpy"])


@pytest.mark.parametrize("package", SHIPPED)
def test_every_source_has_its_unchecked_hash_pyc(package):
    with zipfile.ZipFile(shipped_wheel(package)) as wheel:
        names = wheel.namelist()
        python_files = sources(names)
        assert f"{package}/__init__.py" in python_files
        # Every source has its pyc where importlib looks for it, and no pyc lacks its source.
        assert sorted(n for n in names if n.endswith(".pyc")) == sorted(map(pyc_of, python_files))
        for source in python_files:
            header = wheel.read(pyc_of(source))[:16]
            assert header[:4] == MAGIC_312, source
            assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, source


@pytest.mark.parametrize("package", SHIPPED)
def test_record_lists_every_file_with_its_hash_and_size(package):
    with zipfile.ZipFile(shipped_wheel(package)) as wheel:
        names = wheel.namelist()
        (record_name,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(wheel.read(record_name).decode().splitlines()))
        assert sorted(row[0] for row in rows) == sorted(names)
        for name, recorded_hash, size in rows:
            if name == record_name:
                assert (recorded_hash, size) == ("", "")
                continue
            data = wheel.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (recorded_hash, size) == (f"sha256={digest.decode()}", str(len(data))), name


@pytest.mark.pyodide
@pytest.mark.parametrize("package", SHIPPED)
def test_each_pyc_is_this_interpreters_bytecode_of_its_source(package):
    assert importlib.util.MAGIC_NUMBER == MAGIC_312  # the constant the checks above use
    site_packages = site.getsitepackages()[0]
    with zipfile.ZipFile(shipped_wheel(package)) as wheel:
        for source in sources(wheel.namelist()):
            text, pyc = wheel.read(source), wheel.read(pyc_of(source))
            assert pyc[8:16] == importlib.util.source_hash(text), source
            code = marshal.loads(pyc[16:])
            installed = f"{site_packages}/{source}"
            assert code.co_filename == installed  # the path it has once Pyodide installs it
            # Code objects compare equal on their bytecode, constants, names and line tables.
            assert code == compile(text, installed, "exec", dont_inherit=True), source


class CompilingIsAnError(SourceFileLoader):
    """importlib's loader for source files, except that compiling a source fails the test."""

    def source_to_code(self, data, path, *, _optimize=-1):
        raise AssertionError(f"{path} was compiled, its pyc not used")


@pytest.mark.pyodide
@pytest.mark.parametrize("package", SHIPPED)
def test_importing_takes_the_code_from_the_shipped_pycs(package):
    module = importlib.import_module(package)
    site_packages = Path(site.getsitepackages()[0])
    assert module.__spec__.origin == str(site_packages / package / "__init__.py")
    with zipfile.ZipFile(shipped_wheel(package)) as wheel:
        # Pyodide writes no bytecode (sys.dont_write_bytecode), so this pyc is the wheel's own.
        cached = Path(module.__spec__.cached)
        assert cached.read_bytes() == wheel.read(f"{package}/__pycache__/__init__.cpython-312.pyc")
        for source in sources(wheel.namelist()):
            path = site_packages / source
            assert path.read_bytes() == wheel.read(source)  # the sources are installed too
            name = source.removesuffix(".py").replace("/", ".")
            code = CompilingIsAnError(name, str(path)).get_code(name)
            assert code.co_filename == str(path)


@pytest.mark.pyodide
def test_lmlab_source_and_tracebacks_show_the_installed_code():
    import lmlab.sampling

    path = Path(lmlab.sampling.__file__)
    assert path == Path(site.getsitepackages()[0]) / "lmlab" / "sampling.py"
    assert path.with_name("__pycache__").joinpath("sampling.cpython-312.pyc").exists()
    source = inspect.getsource(lmlab.sampling.softmax)
    assert source.startswith("def softmax(") and source in path.read_text()
    with pytest.raises(ValueError) as error:
        lmlab.sampling.top_k_filter(np.zeros(3), 0)
    frame = traceback.extract_tb(error.value.__traceback__)[-1]
    assert (frame.filename, frame.name) == (str(path), "top_k_filter")
    assert frame.line == path.read_text().splitlines()[frame.lineno - 1].strip()
    assert frame.line.startswith("raise ValueError(")


@pytest.mark.pyodide
def test_precompiling_numpy_again_gives_the_shipped_wheel(tmp_path):
    # Byte for byte, in this process (whose interpreter state differs from the build's): the output
    # depends on the input alone, and the site ships what build/precompile_wheel.py makes.
    lock = site_lock()
    official = json.loads((REPO / "node_modules" / "pyodide" / "pyodide-lock.json").read_text())
    numpy_spec = official["packages"]["numpy"]
    original = REPO / ".cache" / f"pyodide-{lock['info']['version']}" / numpy_spec["file_name"]
    assert hashlib.sha256(original.read_bytes()).hexdigest() == numpy_spec["sha256"]
    spec = importlib.util.spec_from_file_location(
        "precompile_wheel", REPO / "build" / "precompile_wheel.py"
    )
    precompile_wheel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(precompile_wheel)
    out = tmp_path / numpy_spec["file_name"]
    with zipfile.ZipFile(original) as wheel:
        python_files = sources(wheel.namelist())
    assert precompile_wheel.precompile(str(original), str(out)) == len(python_files)
    assert out.read_bytes() == shipped_wheel("numpy").read_bytes()
