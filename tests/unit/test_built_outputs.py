"""Every cell's output, computed again in this process, equals the output the site was built
with (the text the reader sees, so at the precision printed).

On its own this checks that the build is repeatable. `build/lab test` also runs it with numpy's
run-time dispatch narrowed (NPY_DISABLE_CPU_FEATURES): then a printed digit that flips when numpy
uses other SIMD kernels, as on another CPU or in Pyodide, fails here on any machine that has
those features. The browser's tests/browser/test_prerendered.py compares with Pyodide itself."""

import json
import sys

import pytest
from chapter_numbers import REPO

pytestmark = pytest.mark.reference  # needs the builder and its cache: CPython only

CHAPTERS = sorted((REPO / "web" / "chapters").glob("*.md"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_cell_outputs_equal_the_built_ones(path):
    sys.path.insert(0, str(REPO / "build"))  # the builder's modules (not importable in Pyodide)
    import chapters
    import execute
    import make_site

    chapter = chapters.load(path)
    built = make_site.outputs_cache(chapter)
    assert built.exists(), f"no built outputs for {chapter.slug}: build the site first"
    now = json.loads(json.dumps(execute.run_chapter(chapter)))
    assert now == json.loads(built.read_text())
