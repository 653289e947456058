"""Runs every chapter's cells with CPython at build time, through the same kernel the browser
uses, so a page shows real outputs before Python has loaded in the reader's browser."""

import html
import importlib.util
import sys
from pathlib import Path

from chapters import Chapter

REPO = Path(__file__).resolve().parent.parent


def load_kernel():
    spec = importlib.util.spec_from_file_location("lmlab_kernel", REPO / "web/runtime/kernel.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["lmlab_kernel"] = module
    spec.loader.exec_module(module)
    return module


class CellFailed(Exception):
    pass


def run_chapter(chapter: Chapter) -> dict[str, list[tuple[str, dict]]]:
    """cell id -> the outputs it produced, [(kind, payload)], in order. Raises CellFailed when a
    cell errors (unless it is marked `raises`, in which case it must error)."""
    sys.path.insert(0, str(REPO / "py"))
    kernel = load_kernel().Kernel()
    results = {}
    for cell in chapter.cells:
        outputs: list[tuple[str, dict]] = []

        def collect(kind: str, payload: dict, outputs: list = outputs) -> None:
            outputs.append((kind, payload))

        ok = kernel.run(chapter.slug, str(cell.number), cell.code, collect)
        if ok == bool(cell.options.get("raises")):
            errors = (p["traceback"] for k, p in outputs if k == "error")
            detail = next(errors, "it did not raise")
            raise CellFailed(f"{chapter.slug} cell {cell.number} ({cell.id}):\n{detail}")
        results[cell.id] = merge_streams(outputs)
    return results


def merge_streams(outputs: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Join consecutive pieces of one stream, as the page's output area does."""
    merged: list[tuple[str, dict]] = []
    for kind, payload in outputs:
        last = merged[-1] if merged else None
        if kind == "stream" and last and last[0] == kind and last[1]["name"] == payload["name"]:
            text = last[1]["text"] + payload["text"]
            merged[-1] = (kind, {"name": payload["name"], "text": text})
        else:
            merged.append((kind, dict(payload)))
    return merged


def outputs_html(outputs: list[tuple[str, dict]]) -> str:
    """The same markup web/runtime/output.js builds, so a live run replaces it seamlessly."""
    parts = []
    for kind, p in outputs:
        if kind == "stream":
            name = p["name"]
            text = html.escape(p["text"])
            parts.append(f'<pre class="output-{name}" data-stream="{name}">{text}</pre>')
        elif kind == "error":
            parts.append(f'<pre class="output-error">{html.escape(p["traceback"])}</pre>')
        elif p["mime"] in ("text/html", "image/svg+xml"):
            parts.append(f'<div class="output-rich">{p["data"]}</div>')
        elif p["mime"] == "image/png":
            src = f"data:image/png;base64,{p['data']}"
            parts.append(f'<img class="output-image" alt="image output" src="{src}">')
        else:
            parts.append(f'<pre class="output-value">{html.escape(p["data"])}</pre>')
    return "".join(parts)
