"""Each chapter as a Jupyter notebook (nbformat 4): its prose as Markdown cells (math intact), its
Python cells as code cells, and first a cell that makes lmlab importable (and one that fetches
the chapter's data files, where it has any).

The builder writes one per chapter to _site/notebooks/<slug>.ipynb with the book's code. The
page's "Download as notebook" button (web/runtime/notebook.js) fetches it, puts the reader's own
code into the cells they edited (matched by metadata.lmlab.cell) and the site's absolute address
into the first cells, and saves it. Widgets, which need the page, become a line saying where to use
them; callouts become quotes and hints <details>; a section's difficulty follows its heading's text,
as in "## RoPE: rotate the queries and keys *(hard)*".
"""

import json
import re

from chapters import CALLOUTS, Chapter

WHEEL_PLACEHOLDER = "{{LMLAB_WHEEL_URL}}"
SITE_PLACEHOLDER = "{{SITE_URL}}"

INSTALL_CELL = f"""\
# lmlab, the book's numpy library, installed from the book's site where it is missing (Jupyter,
# JupyterLite, Colab). Where it is already installed nothing happens.
try:
    import lmlab
except ImportError:
    %pip install -q {WHEEL_PLACEHOLDER}
    import importlib

    importlib.invalidate_caches()
    import lmlab"""

DATA_CELL = """\
# The data files this chapter reads, fetched once from the book's site into ./lmlab-data/;
# lmlab.data reads the folder named by LMLAB_DATA.
import os
import pathlib
import urllib.request

data_folder = pathlib.Path("lmlab-data")
data_folder.mkdir(exist_ok=True)
for file, url in {files}:
    if not (data_folder / file).exists():
        urllib.request.urlretrieve(url, data_folder / file)
os.environ["LMLAB_DATA"] = str(data_folder.resolve())"""

FENCE = re.compile(r"^```python[^\n]*\n.*?^```[ \t]*$\n?", re.S | re.M)
DIRECTIVE = re.compile(r"^::: (\w+) ?(.*)$")


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code_cell(source: str, metadata: dict) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": metadata, "outputs": [],
            "source": source}


def plain_markdown(text: str, chapter: Chapter) -> str:
    """The book's directives as Markdown a notebook shows: callouts as quotes, hints as
    <details>, widgets as a pointer to the chapter."""
    lines, closers = [], []
    levels = {f"## {text}": chapter.difficulty.get(anchor) for anchor, text in chapter.sections}
    for line in text.split("\n"):
        match = DIRECTIVE.match(line)
        if match and match[1] in CALLOUTS:
            title = match[2].strip().strip('"') or CALLOUTS[match[1]]
            lines.append(f"> **{CALLOUTS[match[1]]}: {title}**" if match[2] else f"> **{title}**")
            lines.append(">")
            closers.append("quote")
        elif match and match[1] == "hint":
            lines += [f"<details><summary>{match[2].strip() or 'Hint'}</summary>", ""]
            closers.append("details")
        elif match and match[1] == "widget":
            name = match[2].split(" ", 1)[0]
            lines.append(f"*Here the book has an interactive widget ({name}); use it in the "
                         f"chapter's page, {chapter.slug}.html.*")
            closers.append("widget")
        elif line.strip() == ":::" and closers:
            if closers.pop() == "details":
                lines += ["", "</details>"]
        elif closers and closers[-1] == "quote":
            lines.append(f"> {line}" if line else ">")
        elif levels.get(line.rstrip()):  # a section's difficulty, as text in its heading
            lines.append(f"{line.rstrip()} *({levels[line.rstrip()]})*")
        elif not (closers and closers[-1] == "widget"):
            lines.append(line)
    return "\n".join(lines).strip("\n")


def chapter_notebook(chapter: Chapter, data_files: list[dict]) -> dict:
    """The chapter as an nbformat 4 notebook, as a dict ready for json.dumps. data_files: what
    the chapter's page fetches ([{file, url (relative to the site)}], from build/data.py)."""
    body = chapter.source
    if body.startswith("---\n"):
        body = body[body.index("\n---\n", 4) + 5:]
    cells = [code_cell(INSTALL_CELL, {"lmlab": {"install": True}})]
    if data_files:
        files = [(entry["file"], SITE_PLACEHOLDER + entry["url"]) for entry in data_files]
        cells.append(code_cell(DATA_CELL.format(files=files), {"lmlab": {"install": True}}))
    specs = iter(chapter.cells)
    position = 0
    for fence in FENCE.finditer(body):
        prose = plain_markdown(body[position:fence.start()], chapter)
        if prose.strip():
            cells.append(markdown_cell(prose))
        spec = next(specs)
        code = fence.group(0).split("\n", 1)[1].rsplit("```", 1)[0].removesuffix("\n")
        if code != spec.code:
            raise ValueError(f"{chapter.slug}: cell {spec.number} is not where notebooks.py looked")
        metadata = {"lmlab": {"cell": spec.id}}
        if spec.options.get("raises"):
            metadata["tags"] = ["raises-exception"]  # nbclient runs on past a cell meant to fail
        if spec.options.get("hidden"):
            metadata["jupyter"] = {"source_hidden": True}
        cells.append(code_cell(spec.code, metadata))
        position = fence.end()
    prose = plain_markdown(body[position:], chapter)
    if prose.strip():
        cells.append(markdown_cell(prose))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "lmlab": {"chapter": chapter.slug, "title": chapter.title},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_json(chapter: Chapter, data_files: list[dict]) -> str:
    notebook = chapter_notebook(chapter, data_files)
    for number, cell in enumerate(notebook["cells"]):
        cell["id"] = f"{chapter.slug[:40]}-{number}"  # nbformat 4.5 wants an id per cell
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
