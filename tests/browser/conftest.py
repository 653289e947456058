"""Playwright against the built site in Debian's headless Chromium, served on 127.0.0.1.

Fixtures:
  site           the built _site folder (built by build/lab test; built here if missing)
  server         base URLs of the site served with COOP/COEP (isolated) and without (plain)
  browser        one Chromium for the session
  open_page      open_page(path, isolated=True, **context_options) -> a Page that records every
                 request and console error; after the test it asserts that nothing left
                 127.0.0.1 and that no error was logged.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build"))

from chromium import launch  # noqa: E402
from serve_site import serve_in_background  # noqa: E402

BOOT_TIMEOUT = 90_000  # ms; a cold Pyodide + numpy boot takes about 4 s on these machines


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def site() -> Path:
    """_site, or the folder in LMLAB_SITE (a site built elsewhere with make_site.py --out)."""
    root = Path(os.environ.get("LMLAB_SITE") or REPO / "_site")
    if not (root / "index.html").exists():
        subprocess.run([sys.executable, str(REPO / "build" / "make_site.py"), "--out", str(root)],
                       check=True)
    return root


@pytest.fixture(scope="session")
def server(site):
    isolated, isolated_url = serve_in_background(site, isolation=True)
    plain, plain_url = serve_in_background(site, isolation=False)
    yield {"isolated": isolated_url, "plain": plain_url}
    isolated.shutdown()
    plain.shutdown()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


class PageRecord:
    def __init__(self, page: Page):
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def foreign_requests(self) -> list[str]:
        allowed = {"127.0.0.1"}
        return [
            url for url in self.requests
            if urlparse(url).scheme not in ("data", "blob") and urlparse(url).hostname not in allowed
        ]


@pytest.fixture
def open_page(browser, server):
    """open_page(path, isolated=True, service_workers="block", **context options) -> Page.

    Without isolation the service worker is blocked, as on a host that sends no headers and
    a browser that has no service worker: the worst case, where Stop must replace the worker.
    """
    records: list[PageRecord] = []
    contexts = []

    def open_(path: str = "", isolated: bool = True, wait_ready: bool = True, **options):
        options.setdefault("service_workers", "block" if not isolated else "allow")
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        record = PageRecord(page)
        records.append(record)
        page.goto(server["isolated" if isolated else "plain"] + path)
        if wait_ready:
            wait_ready_state(page)
        return page

    yield open_
    for record in records:
        assert record.foreign_requests() == [], "requests left 127.0.0.1"
        assert record.errors == [], "the page logged errors"
    for context in contexts:
        context.close()


def wait_ready_state(page: Page) -> None:
    page.wait_for_selector("#python-status[data-state=ready]", timeout=BOOT_TIMEOUT)


def wait_until(page: Page, script: str, timeout: float = 30_000) -> None:
    """Until the JS function `script`, which may be async, returns a truthy value. (Playwright's
    wait_for_function does not await a returned promise: a promise is truthy, so it stops at once.)"""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout / 1000:.0f} s: {script}")
        page.wait_for_timeout(200)


# Python's saved start-up (worker.js): is there one, at least a megabyte, not filled with 7s?
SAVED_START = """async () => {
    const cache = await caches.open("lmlab-python-start");
    const [request] = await cache.keys();
    if (!request) return false;
    const bytes = new Uint8Array(await (await cache.match(request)).arrayBuffer());
    return bytes.length > 1_000_000 && bytes.subarray(0, 64).some((b) => b !== 7);
}"""


def wait_saved_start(page: Page) -> None:
    """Until a boot has saved Python's start-up (it does so in the background)."""
    wait_until(page, SAVED_START)


def load_data_on_request(page: Page) -> None:
    """A page whose data comes only when the reader asks for it (the talk page's model): press
    its Load, as a reader would before Run all, and wait until it is loaded."""
    if page.locator(".chat-load-button").count():
        page.locator(".chat-load-button").click(timeout=BOOT_TIMEOUT)
        page.wait_for_selector("[data-widget=chat][data-loaded]", timeout=180_000)


def keep_a_variable_then_stop_a_loop(page: Page) -> None:
    """The tour's cell 1 sets a variable; cell 2, an endless loop, is run and then stopped with
    its own button after half a second; returns once cell 2 has ended in an error."""
    set_code(page, 1, "kept = 'still here'")
    assert run_cell(page, 1) == "done"
    set_code(page, 2, "while True:\n    pass")
    cell(page, 2).locator(".cell-run").click()
    page.wait_for_selector('.cell[data-number="2"][data-state=running]')
    page.wait_for_timeout(500)
    cell(page, 2).locator(".cell-run").click()  # the Run button is Stop while running
    page.wait_for_selector('.cell[data-number="2"][data-state=error]', timeout=30_000)


def cell(page: Page, number: int):
    return page.locator(f'.cell[data-number="{number}"]')


def run_cell(page: Page, number: int, timeout: float = 30_000) -> str:
    """Click Run on cell `number`, wait until it finishes, return its state."""
    target = cell(page, number)
    target.locator(".cell-run").click()
    page.wait_for_function(
        """n => { const c = document.querySelector(`.cell[data-number="${n}"]`);
                  return c && ["done", "error", "stopped"].includes(c.dataset.state); }""",
        arg=number, timeout=timeout,
    )
    return target.get_attribute("data-state")


def set_code(page: Page, number: int, code: str) -> None:
    """Replace a cell's code through its editor (a change like any keystroke: it is saved)."""
    page.evaluate(
        """async ([n, code]) => {
            const view = await lmlab.page.cells.find((c) => c.number === String(n)).mountEditor();
            view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
        }""",
        [number, code],
    )


def shown_code(page: Page, number: int) -> str:
    """The code a cell shows: its static view (before its editor is built) or its editor."""
    return cell(page, number).locator(".code-view code, .cm-content").inner_text()


def output_text(page: Page, number: int) -> str:
    return cell(page, number).locator(".cell-output").inner_text()


def horizontal_overflow(page: Page) -> float:
    """How far the page is wider than the window (> 0 means it scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def assert_no_axe_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)


def axe_violations(page: Page) -> list[str]:
    """Run axe-core (from npm) on the page as it is now; one line per violated rule."""
    # Two frames first: what the page does once new output is laid out (output.js marks blocks
    # that scroll as regions in the tab order) is part of the page as it is.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.add_script_tag(path=str(REPO / "node_modules" / "axe-core" / "axe.min.js"))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['html'][:160]})"
        for v in result["violations"]
    ]


def char_point(page: Page, number: int, line: int, column: int) -> dict:
    """Where a character of cell `number`'s code is drawn: {x, y}, a quarter into its width (a
    click there puts the caret just before it). In the static view, or in the editor if it has
    been built already: they have the same geometry."""
    return page.evaluate(
        """([n, line, column]) => {
            const lines = document.querySelectorAll(
              `.cell[data-number="${n}"] :is(.code-text, .cm-content > .cm-line)`);
            const text = lines[line];
            const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
            let left = column, node;
            while ((node = walker.nextNode()) && node.length <= left) left -= node.length;
            const range = document.createRange();
            range.setStart(node, left);
            range.setEnd(node, left + 1);
            const r = range.getBoundingClientRect();
            return { x: r.left + r.width * 0.25, y: r.top + r.height / 2 };
        }""",
        [number, line, column],
    )


def cell_number(page: Page, cell_id: str) -> int:
    """The number of the cell the chapter names `id=cell_id`."""
    return int(page.locator(f"#cell-{cell_id}").get_attribute("data-number"))


def run_all_and_compare_with_built(page: Page, ignore_prefix: str | None = None) -> dict[int, str]:
    """Run every cell (Run all); assert each ends done and prints what the built page printed
    (lines starting with ignore_prefix aside, e.g. a timing). Returns the live outputs."""
    built = {int(c.get_attribute("data-number")): c.locator(".cell-output").inner_text()
             for c in page.locator(".cell").all()}
    page.click("[data-action=run-all]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.cell')].every(c => ['done','error'].includes(c.dataset.state))",
        timeout=180_000,
    )

    def kept(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if not (ignore_prefix and ln.startswith(ignore_prefix))]

    live = {}
    for number, text in built.items():
        assert cell(page, number).get_attribute("data-state") == "done", number
        live[number] = output_text(page, number)
        assert kept(live[number]) == kept(text), number
    return live


def check_exercise(page: Page, name: str) -> str:
    """Press the exercise's Check button and wait for its verdict: "pass" or "fail"."""
    exercise = page.locator(f'.exercise[data-exercise="{name}"]')
    exercise.evaluate("e => { delete e.dataset.result; }")
    exercise.locator(".exercise-check").click()
    page.wait_for_function(
        "name => ['pass', 'fail', 'error'].includes("
        "document.querySelector(`.exercise[data-exercise=${name}]`).dataset.result)",
        arg=name)
    return exercise.get_attribute("data-result")


def assert_exercise_fails_then_passes(page: Page, name: str, cell_number: int, prelude: str) -> None:
    """The exercise as given fails with feedback that names what was expected; its own solution
    (after `prelude`, e.g. imports from earlier cells) typed into its cell passes."""
    assert check_exercise(page, name) == "fail"
    exercise = page.locator(f'.exercise[data-exercise="{name}"]')
    assert "expected" in exercise.locator(".exercise-feedback").inner_text()
    solution = exercise.locator(".exercise-solution code").evaluate("e => e.textContent")
    set_code(page, cell_number, prelude + solution)
    assert check_exercise(page, name) == "pass"
