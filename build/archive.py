"""The book as one download, _site/lm-lab.zip: unzipped, its index.html opens by double-clicking
(file://, no server, no connection) in Chromium and in Firefox, and the book works there as
served: text, math and built outputs at once, Python, cells, widgets, data files, saved edits.

file:// forbids what the served book relies on: fetch() of file:// URLs, module scripts, a
Worker from a file (../shared/notes/file-protocol.md). The folder differs from the site only
there:
  - the pages load the runtime as one classic script, assets/page.folder.js (the same runtime,
    bundled by esbuild as an IIFE instead of ES modules);
  - every file the runtime would fetch (Pyodide's wasm, loader and standard library, the lock
    file, the wheels, the worker, the data files, the notebooks) is there as FILE.js, a classic
    script that hands FILE's bytes, base64 and gzipped where that saves space, to the page
    (web/runtime/folder.js), which starts the worker from a Blob and answers its fetches.
The lmlab wheel and the data files are also there as they are, for a chapter's downloaded
notebook, which names them by the book's (here file://) address. Data a page loads only when the
reader asks (SmolLM2's 98 MB) is left out; the page says so if the reader asks for it.
A synthetic response skips Pyodide's integrity check of the wheels, so the wheels' sha256 is
checked against the lock file here, before they go in.

The index page of the site links to the archive with its size; the folder's own index page says
instead where the reader is and how their edits are kept.
"""

import base64
import gzip
import hashlib
import json
import re
import subprocess
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "folder"
NAME = "lm-lab.zip"
TOP = "lm-lab"  # the folder the archive unzips into
MARKER = "<!-- folder-download -->"  # where index_body() leaves room for the link
MODULE_TAG = '<script type="module" async src="assets/page.js"></script>'
CLASSIC_TAG = '<script async src="assets/page.folder.js"></script>'
# A fixed time for every entry: the same book gives the same bytes.
EPOCH = (2020, 1, 1, 0, 0, 0)
# Pyodide's code, which folder.js puts into the worker's own code (the rest it fetches).
PYODIDE_CODE = ["pyodide/pyodide.asm.js", "pyodide/pyodide.js"]
# Files that get smaller by less than this when gzipped are carried as they are.
GZIP_WORTH = 0.9

FOLDER_NOTE = (
    '<p class="folder-note">You are reading LM Lab from a folder on your computer: nothing here '
    "needs a connection. Your edits are kept by this browser, for this folder (Firefox keeps them "
    "per folder, so a moved or renamed folder starts afresh); <em>Download my work</em> on a "
    "chapter's page saves them to a file, and <em>Load my work</em> brings them back. Moving "
    "between chapters starts Python again, which takes a few seconds.</p>"
)


def left_out(site: Path) -> list[str]:
    """The data files a page loads only when the reader asks (a page's data list marks them
    onRequest: SmolLM2's 98 MB of weights), which the folder leaves out: the website has them."""
    paths = set()
    for page in site.glob("*.html"):
        listed = re.search(r'<script type="application/json" id="page-data">(.*?)</script>',
                           page.read_text(), re.S)
        entries = json.loads(listed.group(1).replace("<\\/", "</")) if listed else []
        paths.update(entry["url"] for entry in entries if entry.get("onRequest"))
    return sorted(paths)


def data_files(site: Path) -> list[str]:
    """The data files the folder has (paths relative to the site)."""
    absent = set(left_out(site))
    return [p for p in (str(f.relative_to(site)) for f in sorted((site / "data").glob("*")))
            if p not in absent]


def carried_files(site: Path) -> list[str]:
    """Paths (relative to the site) of every file the runtime fetches: what the worker needs
    (its code, Pyodide, the wheels of the lock file), the data files, the notebooks."""
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    pyodide = [*PYODIDE_CODE, "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip",
               "pyodide/pyodide-lock.json"]
    wheels = [f"pyodide/{entry['file_name']}" for entry in lock["packages"].values()]
    notebooks = [str(p.relative_to(site)) for p in sorted((site / "notebooks").glob("*"))]
    return ["assets/worker.js", *pyodide, *wheels, *data_files(site), *notebooks]


def preloaded(site: Path) -> list[str]:
    """What every start of Python reads (folder.js starts reading them with the worker)."""
    return [p for p in carried_files(site) if p.startswith("pyodide/") and p not in PYODIDE_CODE]


def check_wheels(site: Path) -> None:
    """Each wheel is the one the lock file names, by sha256 (Pyodide cannot check it here)."""
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    for name, entry in lock["packages"].items():
        digest = hashlib.sha256((site / "pyodide" / entry["file_name"]).read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise ValueError(f"{entry['file_name']} ({name}) has sha256 {digest}, but "
                             f"pyodide-lock.json says {entry['sha256']}")


def carrier(path: str, data: bytes) -> bytes:
    """FILE.js for FILE: a classic script handing its bytes to folder.js. Kept in .cache/folder/
    by content, so an unchanged file is not encoded again."""
    key = hashlib.sha256(path.encode() + b"\0" + data).hexdigest()[:24]
    cached = CACHE / f"{key}.js"
    if cached.exists():
        return cached.read_bytes()
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    encoding = "gzip" if len(packed) < GZIP_WORTH * len(data) else ""
    text = base64.b64encode(packed if encoding else data).decode()
    script = f"lmlabFolder.put({json.dumps(path)}, {json.dumps(encoding)}, \"{text}\");\n"
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob("*.js.tmp"):
        old.unlink()
    tmp = cached.with_suffix(".js.tmp")
    tmp.write_text(script)
    tmp.rename(cached)
    return script.encode()


def classic_page_script(esbuild_flags: list[str], site: Path) -> bytes:
    """The runtime (web/runtime/page.js and everything it imports, the editor included) as one
    classic script. Its site root is worked out from its own address, as the module's is. Its
    licence notes stay at its end (it has no folder of its own to link them from)."""
    esbuild = REPO / "node_modules" / ".bin" / "esbuild"
    flags = [f for f in esbuild_flags if not f.startswith(("--sourcemap", "--legal-comments"))]
    return subprocess.run(
        [str(esbuild), str(REPO / "web" / "runtime" / "page.js"), "--format=iife", *flags,
         "--legal-comments=eof",
         "--define:import.meta.url=document.currentScript.src",
         f"--define:FOLDER_PRELOAD={json.dumps(preloaded(site))}",
         f"--define:FOLDER_LEFT_OUT={json.dumps(left_out(site))}"],
        check=True, capture_output=True,
    ).stdout


def folder_page(html_text: str, index: bool) -> str:
    """A page of the site as the folder has it: the runtime as a classic script; on the index
    page, a note on where the reader is instead of the download link."""
    if html_text.count(MODULE_TAG) != 1:
        raise ValueError(f"expected the runtime's script tag once in each page: {MODULE_TAG}")
    html_text = html_text.replace(MODULE_TAG, CLASSIC_TAG)
    if index:
        if MARKER not in html_text:
            raise ValueError(f"index.html has no {MARKER} for the folder's note")
        html_text = html_text.replace(MARKER, FOLDER_NOTE)
    return html_text


def entries(site: Path, esbuild_flags: list[str]) -> dict[str, bytes]:
    """Every file of the folder: path -> bytes."""
    check_wheels(site)
    files = {}
    for page in sorted(site.glob("*.html")):
        files[page.name] = folder_page(page.read_text(), page.name == "index.html").encode()
    for font in sorted((site / "assets" / "katex").rglob("*")):
        if font.is_file():
            files[str(font.relative_to(site))] = font.read_bytes()
    files["assets/page.folder.js"] = classic_page_script(esbuild_flags, site)
    for path in carried_files(site):
        files[f"{path}.js"] = carrier(path, (site / path).read_bytes())
    for path in for_notebooks(site):
        files[path] = (site / path).read_bytes()
    return files


def for_notebooks(site: Path) -> list[str]:
    """The files a chapter's downloaded notebook reads from the book's address (the lmlab wheel,
    the data files: build/notebooks.py), as they are: from the folder that address is a file://
    one, which a Jupyter on the same computer reads (pip install, urllib)."""
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    return [f"pyodide/{lock['packages']['lmlab']['file_name']}", *data_files(site)]


def build(site: Path, esbuild_flags: list[str]) -> Path:
    """Writes site/lm-lab.zip (unless the same archive is there already) and links to it, with
    its size, from site/index.html."""
    files = entries(site, esbuild_flags)
    digest = hashlib.sha256()
    for path, data in sorted(files.items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
    archive = site / NAME
    if archive_digest(archive) != digest.hexdigest():
        tmp = archive.with_suffix(".zip.tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.comment = digest.hexdigest().encode()
            for path, data in sorted(files.items()):
                info = zipfile.ZipInfo(f"{TOP}/{path}", date_time=EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        tmp.rename(archive)
    link_from_index(site / "index.html", archive)
    return archive


def archive_digest(archive: Path) -> str | None:
    """The digest of the files an archive was made from (its zip comment), if there is one."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return zf.comment.decode()
    except (OSError, zipfile.BadZipFile):
        return None


def link_from_index(index: Path, archive: Path) -> None:
    megabytes = archive.stat().st_size / 1e6
    link = (
        f'<p class="folder-download"><a href="{archive.name}" download>Download the book as a '
        f"folder</a> (zip, {megabytes:.1f} MB): unzip it and open <code>index.html</code> in "
        "Chromium or Firefox. It needs no server and no connection.</p>"
    )
    text = index.read_text()
    if MARKER not in text:
        raise ValueError(f"{index} has no {MARKER} for the archive's link")
    index.write_text(text.replace(MARKER, link))


def size_on_disk(archive: Path) -> int:
    """Bytes the archive's files take once unzipped."""
    with zipfile.ZipFile(archive) as zf:
        return sum(info.file_size for info in zf.infolist())


def unzip(archive: Path, dest: Path) -> Path:
    """Unzips the archive into dest; returns the book's folder (with its index.html)."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    return dest / TOP


if __name__ == "__main__":
    # python build/archive.py [_site]: the archive's sizes
    import sys

    site = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "_site")
    with zipfile.ZipFile(site / NAME) as zf:
        biggest = sorted(zf.infolist(), key=lambda i: -i.file_size)[:8]
    print(f"{NAME}: {(site / NAME).stat().st_size / 1e6:.1f} MB, "
          f"{size_on_disk(site / NAME) / 1e6:.1f} MB unzipped")
    for info in biggest:
        print(f"  {info.filename:60} {info.file_size / 1e6:6.2f} MB")
