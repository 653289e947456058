"""The outputs the builder computed with CPython are the ones Pyodide computes in the browser: for
every chapter, run all cells and compare each cell's live output with the one the page was built
with, markup and all."""

import pytest
from conftest import REPO, load_data_on_request

CHAPTERS = sorted(p.stem for p in (REPO / "web" / "chapters").glob("*.md"))

OUTPUTS = "() => [...document.querySelectorAll('.cell')].map(c => c.querySelector('.cell-output').innerHTML)"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_built_outputs_equal_what_pyodide_computes(open_page, slug):
    page = open_page(f"{slug}.html", wait_ready=False)
    built = page.evaluate(OUTPUTS)
    load_data_on_request(page)
    page.click("[data-action=run-all]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.cell')].every(c => ['done', 'error'].includes(c.dataset.state))",
        timeout=180_000,
    )
    live = page.evaluate(OUTPUTS)
    numbers = page.evaluate("() => [...document.querySelectorAll('.cell')].map(c => c.dataset.number)")
    differing = [
        f"cell {number}:\n  built: {was[:300]!r}\n  live:  {now[:300]!r}"
        for number, was, now in zip(numbers, built, live, strict=True)
        if was != now
    ]
    assert not differing, "\n".join(differing)
