"""Adds Python bytecode to a wheel, next to its sources, so that importing it compiles nothing.

    precompile(wheel_in, wheel_out)      (build/precompile_wheels.mjs runs this inside Pyodide)

Run by the interpreter that will import the wheel, Pyodide's CPython 3.12: only it writes its own
bytecode, and the host that builds the site is CPython 3.11. For every `X/name.py` the output has
`X/__pycache__/name.<cache tag>.pyc` too; the sources stay, for tracebacks and for readers who open
lmlab's code. The pycs are PEP 552 unchecked hash-based pycs: the import system takes them as they
are, without comparing the source's mtime (Pyodide unpacks a wheel with the mtimes of the moment it
unpacks it, so timestamp pycs would all look stale) and without hashing the source at each import.
The output is a function of the input alone, byte for byte, so its sha256 is stable across builds.
"""

import base64
import csv
import hashlib
import importlib.util
import io
import marshal
import os
import site
import sys
import zipfile
from pathlib import PurePosixPath

# Where Pyodide unpacks a package whose lock entry says `install_dir: site` (its package loader
# asks site.getsitepackages() too): the code objects get the paths the files will have there.
SITE_PACKAGES = PurePosixPath(site.getsitepackages()[0])
# PEP 552 flags: bit 0 set = hash-based; bit 1 clear = the source is not checked.
UNCHECKED_HASH = 0b01
# A fixed time for the added entries (the zip format's earliest), so the output never varies.
PYC_DATE_TIME = (1980, 1, 1, 0, 0, 0)
PYC_MODE = 0o100644 << 16  # a regular file, rw-r--r--, in the zip entry's Unix attributes


def pyc_name(source_name: str) -> str:
    """`X/name.py` -> `X/__pycache__/name.cpython-312.pyc`, as importlib looks for it."""
    path = PurePosixPath(source_name)
    cached = f"{path.stem}.{sys.implementation.cache_tag}.pyc"
    return str(path.parent / "__pycache__" / cached)


def unchecked_pyc(source: bytes, installed_path: str) -> bytes:
    """The pyc of one source file: the PEP 552 header (magic, flags, source hash), then the code."""
    code = compile(source, installed_path, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little")
    return header + importlib.util.source_hash(source) + marshal.dumps(code)


def installs_into_site_packages(name: str) -> bool:
    # A wheel's `*.data/` entries are installed elsewhere (scripts, headers, data), not imported.
    top = name.split("/", 1)[0]
    return not top.endswith(".data")


def record_row(name: str, data: bytes) -> list[str]:
    """A RECORD row: path, sha256 as urlsafe base64 without padding, size (the wheel spec's)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def csv_line(row: list[str], line_end: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerow(row)
    return out.getvalue()


def with_pyc_rows(record: str, pycs: dict[str, tuple[str, bytes]]) -> str:
    """RECORD with a row for each pyc, right after its source's row; the original rows unchanged.
    pycs maps a source's name to (its pyc's name, the pyc)."""
    lines = record.splitlines(keepends=True)
    line_end = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out = []
    listed = set()
    for line in lines:
        out.append(line)
        name = next(csv.reader([line]))[0]
        listed.add(name)
        if name in pycs:
            out.append(csv_line(record_row(*pycs[name]), line_end))
    missing = set(pycs) - listed
    if missing:
        raise ValueError(f"RECORD does not list {sorted(missing)[:3]}")
    return "".join(out)


def precompile(wheel_in: str, wheel_out: str) -> int:
    """Writes wheel_out: wheel_in's entries in their order, each source followed by its pyc, and
    RECORD last, with the pycs' rows. Returns how many pycs it added."""
    with zipfile.ZipFile(wheel_in) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    records = [entry for entry in entries if entry[0].filename.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise ValueError(f"{wheel_in}: expected one .dist-info/RECORD, found {len(records)}")
    (record_info, record), = records
    names = {info.filename for info, _ in entries}

    pycs: dict[str, tuple[str, bytes]] = {}
    for info, data in entries:
        name = info.filename
        if name.endswith(".py") and installs_into_site_packages(name):
            target = pyc_name(name)
            if target in names:
                raise ValueError(f"{wheel_in} already has {target}")
            pycs[name] = (target, unchecked_pyc(data, str(SITE_PACKAGES / name)))

    partial = wheel_out + ".part"
    with zipfile.ZipFile(partial, "w") as out:
        for info, data in entries:
            if info is record_info:
                continue
            write(out, copied_info(info), data)
            if info.filename in pycs:
                target, pyc = pycs[info.filename]
                write(out, new_info(target), pyc)
        write(out, copied_info(record_info), with_pyc_rows(record.decode(), pycs).encode())
    os.replace(partial, wheel_out)
    return len(pycs)


def copied_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh entry with the original's name, time and permissions (extra fields dropped)."""
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.external_attr = info.external_attr
    copy.create_system = info.create_system
    copy.compress_type = info.compress_type
    return copy


def new_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, PYC_DATE_TIME)
    info.external_attr = PYC_MODE
    info.create_system = 3  # Unix, so that the attributes above are read as Unix ones
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write(out: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
    # Level 9, the smallest download: a wheel is compressed once per build, fetched at each visit.
    out.writestr(info, data, compresslevel=9)


if __name__ == "__main__":
    wheel_in, wheel_out = sys.argv[1:3]
    print(f"{wheel_out}: {precompile(wheel_in, wheel_out)} pycs")
