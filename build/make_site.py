"""Builds the static site into _site/: the lmlab wheel, self-hosted Pyodide + numpy, the bundled
runtime, and every chapter rendered with its cells' outputs.

    python build/make_site.py [--out _site] [--chapters web/chapters]

A rebuild with nothing changed reuses what it can (copies only changed files, caches cell
outputs by content) and needs no network.
"""

import argparse
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import archive
import chapters
import data
import execute
import notebooks
import vendor
from jinja2 import Environment, FileSystemLoader, select_autoescape

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "web"
CACHE = REPO / ".cache"
CHAPTERS = WEB / "chapters"  # the book's chapters, NN-slug.md, in the order of their names


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def copy_if_changed(src: Path, dest: Path) -> None:
    if dest.exists():
        have, want = dest.stat(), src.stat()
        if have.st_size == want.st_size and have.st_mtime >= want.st_mtime:
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def build_wheel(dest: Path) -> Path:
    """The lmlab wheel, built by hatchling from pyproject.toml into dest (a build folder: the site
    ships its precompiled copy)."""
    for old in dest.glob("lmlab-*.whl"):
        old.unlink()
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(REPO)).build(directory=str(dest), versions=["standard"])
    return Path(wheel)


def precompiled(wheels: list[Path]) -> list[Path]:
    """Each wheel with bytecode next to its Python files (build/precompile_wheel.py), so a reader's
    browser compiles none of them at each visit. Kept in .cache/precompiled/ by the wheel's sha256,
    the script and the Pyodide version (whose interpreter writes the bytecode); only the missing
    ones are made, all in one Pyodide run."""
    script = (REPO / "build" / "precompile_wheel.py").read_bytes()
    results, missing = [], []
    for wheel in wheels:
        key = hashlib.sha256(
            vendor.sha256_of(wheel).encode() + vendor.PYODIDE_VERSION.encode() + script
        ).hexdigest()[:20]
        target = CACHE / "precompiled" / key / wheel.name
        if not target.exists():
            missing.append((wheel, target))
        results.append(target)
    if missing:
        step(f"precompiling {', '.join(wheel.name for wheel, _ in missing)} in Pyodide")
        for _, target in missing:
            target.parent.mkdir(parents=True, exist_ok=True)
        pairs = [[str(wheel), str(target)] for wheel, target in missing]
        subprocess.run(["node", str(REPO / "build" / "precompile_wheels.mjs")],
                       input=json.dumps(pairs), text=True, cwd=REPO, check=True)
        for wheel, target in missing:  # older versions of the same wheel are not needed again
            for old in (CACHE / "precompiled").glob(f"*/{wheel.name}"):
                if old != target:
                    old.unlink()
                    old.parent.rmdir()
    return results


def vendor_pyodide(dest: Path) -> None:
    step("Pyodide core and numpy")
    for path in vendor.pyodide_core():
        if path.name != "pyodide-lock.json":
            copy_if_changed(path, dest / path.name)
    wheels = [vendor.pyodide_package(name) for name in vendor.PYODIDE_PACKAGES]
    step("lmlab wheel, the precompiled wheels and the site's pyodide-lock.json")
    wheels.append(build_wheel(CACHE / "lmlab-wheel"))
    shipped = []
    for wheel in precompiled(wheels):
        copy_if_changed(wheel, dest / wheel.name)
        shipped.append(dest / wheel.name)
    for old in dest.glob("lmlab-*.whl"):
        if old not in shipped:
            old.unlink()
    vendor.site_lock(shipped, dest / "pyodide-lock.json")


def widget_modules(chapter: chapters.Chapter) -> set[str]:
    """numpy (every chapter's cells use it) and the module of every function the chapter's
    widgets call: what its page's worker imports before it says "Python ready", so that a
    widget's first call is as quick as its later ones."""
    modules = {"numpy"}
    for widget in chapter.widgets:
        module, _, _ = widget["config"].get("fn", "").rpartition(".")
        if module:
            modules.add(module)
    return modules


def warm_modules(chapter_dir: Path) -> list[str]:
    """The modules any page of the book warms (widget_modules of every chapter): the worker
    imports those of other pages once it is idle, so the next chapter is quick too."""
    return sorted(set().union(*(widget_modules(chapters.load(path))
                                for path in chapter_dir.glob("*.md"))))


def esbuild_flags(chapter_dir: Path = CHAPTERS) -> list[str]:
    """What every bundle of the runtime is built with."""
    return ["--bundle", "--minify", "--sourcemap", "--target=es2022", "--loader:.py=text",
            "--legal-comments=linked", "--log-level=warning",
            f"--define:WARM_MODULES={json.dumps(warm_modules(chapter_dir))}"]


def bundle_runtime(assets: Path, chapter_dir: Path) -> str:
    """Bundles the runtime into assets/; returns the script every page inlines in its <head>
    (start-early.js, which starts the Python worker before anything else is fetched)."""
    step("bundling the runtime (esbuild)")
    esbuild = REPO / "node_modules" / ".bin" / "esbuild"
    common = esbuild_flags(chapter_dir)
    # page.js splits: the editor (CodeMirror) becomes a chunk of its own, loaded when a cell
    # first needs it, so the entry that starts the Python worker stays small.
    for old in (assets / "chunks").glob("*"):
        old.unlink()
    subprocess.run([str(esbuild), str(WEB / "runtime/page.js"), "--format=esm", "--splitting",
                    f"--outdir={assets}", "--chunk-names=chunks/[name]-[hash]", *common],
                   check=True)
    subprocess.run([str(esbuild), str(WEB / "runtime/worker.js"), "--format=iife",
                    f"--outfile={assets / 'worker.js'}", *common], check=True)
    katex = REPO / "node_modules" / "katex" / "dist"
    copy_if_changed(katex / "katex.min.css", assets / "katex" / "katex.min.css")
    for font in (katex / "fonts").glob("*.woff2"):
        copy_if_changed(font, assets / "katex" / "fonts" / font.name)
    early = subprocess.run([str(esbuild), str(WEB / "runtime/start-early.js"), "--bundle",
                            "--minify", "--format=iife", "--target=es2022", "--log-level=warning",
                            f"--define:WARM_MODULES={json.dumps(warm_modules(chapter_dir))}"],
                           check=True, capture_output=True, text=True).stdout
    return inlinable(early.strip(), "start-early.js")


def inlinable(text: str, source: str) -> str:
    """text, checked that it can go inside a <script> or <style> element: "</" would end it."""
    if "</" in text:
        raise ValueError(f"{source} must not contain '</': it is inlined in the page")
    return text


def outputs_cache(chapter: chapters.Chapter) -> Path:
    """Where the outputs of the chapter's cells are kept, named by everything they depend on:
    lmlab, the kernel, the cells and the sha256 of every data file the chapter declares."""
    manifest = data.prepare(chapter.data) if chapter.data else {"datasets": {}, "files": {}}
    files = [f for name in chapter.data for f in manifest["datasets"][name]["files"]]
    key = hashlib.sha256(json.dumps([manifest["files"][f]["sha256"] for f in files]).encode())
    for path in sorted((REPO / "py").rglob("*.py")) + [WEB / "runtime" / "kernel.py"]:
        key.update(path.read_bytes())
    key.update(json.dumps([(c.id, c.code, c.options) for c in chapter.cells]).encode())
    return CACHE / "outputs" / f"{chapter.slug}-{key.hexdigest()[:20]}.json"


def chapter_outputs(chapter: chapters.Chapter) -> dict[str, str]:
    """cell id -> output HTML, from the cache when neither the cells, lmlab nor the chapter's
    data changed."""
    cached = outputs_cache(chapter)
    if cached.exists():
        results = json.loads(cached.read_text())
    else:
        step(f"running the cells of {chapter.slug} with CPython")
        results = execute.run_chapter(chapter)
        for old in cached.parent.glob(f"{chapter.slug}-*.json"):
            old.unlink()
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(results))
    return {cell_id: execute.outputs_html(outputs) for cell_id, outputs in results.items()}


def widget_markup(chapter: chapters.Chapter) -> dict[int, str]:
    """widget index -> its first paint. The builder computes config.fn(*args, **kwargs) with
    CPython through the kernel's call (the very path a widget's calls take in the browser), embeds
    the result as JSON (or, where the widget exports embeddedState, the part of it that the first
    paint needs), and draws it with the widget's own render() in Node."""
    if not chapter.widgets:
        return {}
    sys.path.insert(0, str(REPO / "py"))
    kernel = execute.load_kernel().Kernel()
    items = []
    for index, widget in enumerate(chapter.widgets):
        config = widget["config"]
        call = {"args": config.get("args", []), "kwargs": config.get("kwargs", {})}
        reply = json.loads(kernel.call(chapter.slug, config["fn"], json.dumps(call)))
        if not reply["ok"]:
            raise ValueError(f"{chapter.slug}, widget {widget['name']}:\n{reply['error']}")
        items.append({**widget, "state": reply["value"], "key": f"w{index + 1}"})
    markup = {}
    drawn = chapters.node_render("render_widgets.mjs", items)
    for index, (item, rendered) in enumerate(zip(items, drawn, strict=True)):
        embedded = rendered.get("embed", item["state"])  # a widget may carry less than it drew from
        # JSON reads "<\/" as "</", and so it can never close the script element early.
        state = json.dumps(embedded, separators=(",", ":")).replace("</", "<\\/")
        markup[index] = f'<script type="application/json" class="widget-state">{state}</script>'
        markup[index] += rendered["html"]
    return markup


def render_pages(out: Path, start_script: str, chapter_dir: Path) -> list[chapters.Chapter]:
    env = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape())
    env.globals["start_script"] = Markup(start_script)
    env.globals["difficulty_label"] = lambda level: Markup(chapters.difficulty_label(level))
    env.globals["build_id"] = BUILD_MARK  # stamped once every file exists (stamp_build)
    # The book's own styles (11 KB) are inlined: two fewer requests before the first paint.
    css = "\n".join(p.read_text() for p in sorted((WEB / "styles").glob("*.css")))
    env.globals["page_css"] = Markup(inlinable(css, "web/styles"))
    template = env.get_template("page.html")
    book = [chapters.load(path) for path in sorted(chapter_dir.glob("*.md"))]
    env.globals["contents"] = [
        {"href": f"{c.slug}.html", "title": c.title, "slug": c.slug,
         "progress": Markup(exercise_progress(c))} for c in book
    ]
    published: set[str] = set()
    for i, chapter in enumerate(book):
        step(f"rendering {chapter.slug}")
        data_files = data.publish(chapter.data, out / "data")
        published.update(Path(entry["url"]).name for entry in data_files)
        body = chapters.render(chapter, chapter_outputs(chapter),
                               widget_markup(chapter))
        # Which files the page fetches (web/runtime/data-files.js), in the head, where the
        # worker's early start reads it.
        page_data = json.dumps(data_files).replace("</", "<\\/")
        link = lambda c: c and {"href": f"{c.slug}.html", "title": c.title}  # noqa: E731
        page = template.render(
            title=chapter.title,
            description=chapter.meta.get("summary", ""),
            slug=chapter.slug,
            sections=[(anchor, text.replace("`", ""), chapter.difficulty.get(anchor))
                      for anchor, text in chapter.sections],
            page_data=Markup(page_data),
            warm=" ".join(sorted(widget_modules(chapter))),
            body=Markup(body),
            cells=bool(chapter.cells),
            prev=link(book[i - 1] if i > 0 else None),
            next=link(book[i + 1] if i + 1 < len(book) else None),
        )
        (out / f"{chapter.slug}.html").write_text(page)
        if chapter.cells:
            notebook = out / "notebooks" / f"{chapter.slug}.ipynb"
            notebook.parent.mkdir(exist_ok=True)
            notebook.write_text(notebooks.notebook_json(chapter, data_files))
    data.remove_stale(out / "data", published)
    (out / "index.html").write_text(
        template.render(
            title="Contents",
            description="A live book about how language models work, running in your browser.",
            slug="index",
            body=Markup(index_body(book)),
            cells=False,
            prev=None,
            next=book and {"href": f"{book[0].slug}.html", "title": book[0].title},
        )
    )
    (out / "credits.html").write_text(
        template.render(
            title="Credits", description="What LM Lab is built from, and their licences.",
            slug="credits", body=Markup(credits_body()), cells=False, prev=None, next=None,
        )
    )
    return book


def credits_body() -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(what)}</td><td>{html.escape(source)}</td>"
        f"<td>{html.escape(licence)}</td></tr>"
        for what, source, licence in vendor.CREDITS + data.credits()
    )
    return (
        "<h1>Credits</h1>\n<p>LM Lab runs on the work of others. Everything below is served "
        "from this site itself; none of it is fetched from anywhere else.</p>\n"
        f"<table><thead><tr><th>What</th><th>From</th><th>Licence</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def exercise_progress(chapter: chapters.Chapter) -> str:
    """Where the page shows how many of the chapter's exercises the reader has passed
    (web/runtime/progress.js fills it in), or "" for a chapter without exercises."""
    total = len(re.findall(r"^::::\s*exercise\s", chapter.source, re.MULTILINE))
    if not total:
        return ""
    noun = "exercise" if total == 1 else "exercises"
    return (f'<span class="exercise-progress" data-progress="{chapter.slug}" '
            f'data-total="{total}" data-passed="0">{total} {noun}</span>')


def index_body(book: list[chapters.Chapter]) -> str:
    items = "\n".join(
        f'<li><a href="{c.slug}.html" data-nav>{html.escape(c.title)}</a>'
        f'<p>{html.escape(c.meta.get("summary", ""))}</p>{exercise_progress(c)}</li>'
        for c in book
    )
    return (
        "<h1>LM Lab</h1>\n<p class=\"lead\">How language models work, from counting bigrams to a "
        "GPT, with every piece of code running in your browser. Edit any cell and run it; "
        "nothing is sent anywhere.</p>\n"
        f'<ol class="toc">\n{items}\n</ol>\n'
        f"{archive.MARKER}\n"
        '<p><a href="credits.html" data-nav>Credits and licences</a></p>'
    )


class Markup(str):
    """Already-safe HTML for Jinja's autoescape."""

    def __html__(self) -> str:
        return self


# The service worker's offline copy of the book (web/sw.js): every file of the site a visit may need
# except the data sets (the worker keeps those of the chapters read, web/runtime/data-files.js)
# and source maps. The build's id is the hash of them all, written into every page
# and into sw.js: a new deploy is a new sw.js, which the browser installs as a new version.
OFFLINE_SKIP_DIRS = {"data", "_bench"}
OFFLINE_SKIP_SUFFIXES = {".map", ".txt", ".mjs"}
BUILD_MARK = "__LMLAB_BUILD__"


def offline_files(out: Path) -> list[Path]:
    return sorted(
        path for path in out.rglob("*")
        if path.is_file() and path.relative_to(out).parts[0] not in OFFLINE_SKIP_DIRS
        and path.suffix not in OFFLINE_SKIP_SUFFIXES and not path.name.startswith(".")
        and path.name not in ("sw.js", archive.NAME)  # the book as a folder: 16 MB, a download
    )


def stamp_build(out: Path) -> str:
    """Names the build: the pages carry BUILD_MARK where their build id goes; the id is the hash of
    every offline file (the pages with the mark in place), then written into the pages and into
    sw.js with the list of files and their sha256. Returns the id."""
    files = offline_files(out)
    ids = hashlib.sha256()
    for path in files:
        ids.update(f"{path.relative_to(out).as_posix()}\0{vendor.sha256_of(path)}\0".encode())
    build_id = ids.hexdigest()[:16]
    for path in files:
        if path.suffix == ".html":
            path.write_text(path.read_text().replace(BUILD_MARK, build_id))
    listed = {path.relative_to(out).as_posix(): vendor.sha256_of(path) for path in files}
    worker = (WEB / "sw.js").read_text()
    for placeholder, value in (('"BUILD_ID"', json.dumps(build_id)),
                               ("{ /* OFFLINE_FILES */ }", json.dumps(listed, indent=0))):
        if placeholder not in worker:
            raise ValueError(f"web/sw.js lacks {placeholder}, where the builder writes the build")
        worker = worker.replace(placeholder, value)
    (out / "sw.js").write_text(worker)
    return build_id


def build(out: Path, chapter_dir: Path = CHAPTERS) -> None:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    vendor_pyodide(out / "pyodide")
    start_script = bundle_runtime(out / "assets", chapter_dir)
    (out / ".nojekyll").write_text("")
    render_pages(out, start_script, chapter_dir)
    step("indexing the pages for search (Pagefind)")
    indexed = subprocess.run(["node", str(REPO / "build" / "search_index.mjs"), str(out)],
                             check=True, capture_output=True, text=True)
    step(f"search index: {json.loads(indexed.stdout)['pages']} pages")
    step("the book as a folder to download (build/archive.py)")
    folder = archive.build(out, esbuild_flags())
    step(f"{folder.name}: {folder.stat().st_size / 1e6:.1f} MB")
    step(f"build {stamp_build(out)}: pages and sw.js stamped")
    step(f"built {out} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "_site")
    parser.add_argument("--chapters", type=Path, default=CHAPTERS,
                        help="the folder of chapters to build (default: web/chapters)")
    args = parser.parse_args()
    build(args.out.resolve(), args.chapters.resolve())
