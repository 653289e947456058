"""The outputs the builder computed with CPython are the ones Pyodide computes in the browser: for
every chapter, run all cells; each ends done (or in error, if it is marked `raises`) and shows
what the page was built with, markup and all; and axe finds nothing wrong with the page as the
reader now has it, outputs and errors included (test_runtime.py's axe test scans fresh pages).
This is every chapter's one Run-all test: the chapters' own test files test their exercises and
widgets."""

import pytest
from conftest import REPO, assert_no_axe_violations, load_data_on_request

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
    states = page.evaluate("() => [...document.querySelectorAll('.cell')].map(c => "
                           "[c.dataset.state, Boolean(JSON.parse(c.dataset.options || '{}').raises)])")
    wrong = [f"cell {i + 1}: {state}" for i, (state, raises) in enumerate(states)
             if state != ("error" if raises else "done")]
    assert not wrong, wrong
    live = page.evaluate(OUTPUTS)
    numbers = page.evaluate("() => [...document.querySelectorAll('.cell')].map(c => c.dataset.number)")
    differing = [
        f"cell {number}:\n  built: {was[:300]!r}\n  live:  {now[:300]!r}"
        for number, was, now in zip(numbers, built, live, strict=True)
        if was != now
    ]
    assert not differing, "\n".join(differing)
    assert_no_axe_violations(page)
