"""Checks that every number a chapter's prose states is computed by code.

A chapter's test (tests/unit/test_chapterN_numbers.py) runs the chapter's cells with the kernel
the book itself uses, recomputes each stated number with lmlab, and lists two kinds of phrases:

    claims   phrases formatted from computed values, e.g. ('"{}" is the favourite with
             probability {:.3f}', token, p); each must appear in the prose exactly so
    givens   phrases whose numbers are the author's choices rather than results: a temperature to
             try, a chapter number, an example someone types

Every digit in the prose (all but code blocks, widget directives and the markers of numbered
lists; math included) must lie inside a claim or a given, so a number typed into the text without
a check fails the test.
Prose is compared with runs of whitespace collapsed, so a phrase may wrap across lines.
"""

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Chapter:
    slug: str
    prose: str  # the Markdown without front matter, code blocks and widget directives
    cells: list[tuple[str, dict]]  # (code, options) of every python cell, in order


def load(path: Path) -> Chapter:
    text = path.read_text()
    if text.startswith("---\n"):
        text = text[text.index("\n---\n", 4) + 5:]
    cells = []
    for match in FENCE.finditer(text):
        words = match["info"].split()
        if words[:1] == ["python"]:
            options = {word.partition("=")[0]: True for word in words[1:]}
            cells.append((match["code"].removesuffix("\n"), options))
    prose = FENCE.sub(" ", text)
    prose = re.sub(r"^::: widget .*$", " ", prose, flags=re.M)
    prose = re.sub(r"^ *\d+\. ", " ", prose, flags=re.M)  # ordered-list markers count nothing
    return Chapter(path.stem, " ".join(prose.split()), cells)


def load_kernel():
    spec = importlib.util.spec_from_file_location("lmlab_kernel", REPO / "web/runtime/kernel.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lmlab_kernel", module)
    spec.loader.exec_module(module)
    return module


def run_cells(chapter: Chapter) -> dict:
    """Run the chapter's cells in order, as the book does; returns the page's namespace."""
    kernel = load_kernel().Kernel()
    for number, (code, options) in enumerate(chapter.cells, start=1):
        outputs = []
        ok = kernel.run(chapter.slug, str(number), code, lambda kind, p, out=outputs: out.append(p))
        assert ok != bool(options.get("raises")), f"cell {number} of {chapter.slug}: {outputs}"
    return kernel.namespace(chapter.slug)


def unchecked_numbers(chapter: Chapter, phrases: list[str]) -> list[str]:
    """The numbers in the prose that lie outside every phrase, with a little context each."""
    masked = chapter.prose
    for phrase in (" ".join(p.split()) for p in phrases):
        masked = masked.replace(phrase, " " * len(phrase))
    return [masked[max(0, m.start() - 30):m.end() + 10] for m in NUMBER.finditer(masked)]


def missing_phrases(chapter: Chapter, phrases: list[str]) -> list[str]:
    return [phrase for phrase in phrases if " ".join(phrase.split()) not in chapter.prose]
