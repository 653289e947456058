"""Each chapter downloads as a Jupyter notebook with the reader's code in it. nbformat validates
it, and nbclient runs it in a CPython kernel whose first cell installs lmlab from the served site
(as it would in Jupyter); every cell then gives the output the book shows."""

import json
import os
import re

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

CHAPTERS = sorted(
    p.stem for p in (REPO / "web" / "chapters").glob("*.md") if "```python" in p.read_text()
)
EDIT = 'print("edited by the reader")'


RICHEST_FIRST = ["text/html", "image/svg+xml", "image/png", "text/plain"]  # as kernel.py picks


def shown(outputs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(kind, name or mime, text) with runs of one stream joined and plain text's whitespace
    collapsed (IPython pretty-prints a value where the book's kernel uses repr)."""
    joined = []
    for kind, name, text in outputs:
        if kind == "stream" and joined and joined[-1][:2] == (kind, name):
            joined[-1] = (kind, name, joined[-1][2] + text)
        else:
            joined.append((kind, name, text))
    return [(k, n, " ".join(t.split()) if n == "text/plain" else t) for k, n, t in joined]


def book_outputs(kernel_outputs: list) -> list[tuple[str, str, str]]:
    out = []
    for kind, payload in kernel_outputs:
        if kind == "stream":
            out.append(("stream", payload["name"], payload["text"]))
        elif kind == "display":
            out.append(("display", payload["mime"], payload["data"]))
    return out


def notebook_outputs(outputs: list) -> list[tuple[str, str, str]]:
    out = []
    for output in outputs:
        if output["output_type"] == "stream":
            out.append(("stream", output["name"], output["text"]))
        elif output["output_type"] in ("execute_result", "display_data"):
            mime = next(m for m in RICHEST_FIRST if m in output["data"])
            out.append(("display", mime, output["data"][mime]))
    return out


@pytest.mark.parametrize("slug", CHAPTERS)
def test_a_chapter_downloads_as_a_notebook_that_runs_like_the_book(open_page, slug, tmp_path):
    import chapters
    import make_site

    built = json.loads(make_site.outputs_cache(chapters.load(REPO / "web" / "chapters" / f"{slug}.md")).read_text())
    page = open_page(f"{slug}.html")
    cells = page.evaluate("() => lmlab.page.cells.map(c => ({id: c.id, number: Number(c.number), raises: !!c.options.raises}))")
    edited = next(c for c in cells if not c["raises"])
    page.evaluate(
        """async ([n, line]) => {
            const view = await lmlab.page.cells.find((c) => c.number === String(n)).mountEditor();
            view.dispatch({ changes: { from: view.state.doc.length, insert: "\\n" + line } });
        }""",
        [edited["number"], EDIT],
    )
    with page.expect_download() as download:
        page.click("[data-action=notebook]")
    path = tmp_path / f"{slug}.ipynb"
    download.value.save_as(path)
    assert download.value.suggested_filename == f"{slug}.ipynb"

    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = {c.metadata["lmlab"]["cell"]: c for c in notebook.cells if "cell" in c.metadata.get("lmlab", {})}
    assert list(code) == [c["id"] for c in cells]
    assert code[edited["id"]].source.endswith("\n" + EDIT)
    install = notebook.cells[0].source
    assert re.search(r"%pip install -q http://127\.0\.0\.1:\d+/pyodide/lmlab-[\w.]+-py3-none-any\.whl", install)

    # A kernel without lmlab: the first cell installs it into a folder of its own (numpy is
    # already in the kernel's environment, so no package index is asked).
    site = tmp_path / "site-packages"
    env = {**os.environ, "PYTHONPATH": str(site), "PIP_TARGET": str(site), "PIP_NO_DEPS": "1",
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    assert (site / "lmlab").is_dir(), "the first cell did not install lmlab"

    for c in cells:
        outputs = code[c["id"]].outputs
        if c["raises"]:
            error = next(o for o in outputs if o["output_type"] == "error")
            assert [p["ename"] for k, p in built[c["id"]] if k == "error"] == [error["ename"]]
            continue
        assert not [o for o in outputs if o["output_type"] == "error"], json.dumps(outputs)[:800]
        want = book_outputs(built[c["id"]])
        if c is edited:
            want.append(("stream", "stdout", "edited by the reader\n"))
        assert shown(notebook_outputs(outputs)) == shown(want), f"cell {c['id']}"
