"""Faults a reader will hit, each with and without cross-origin isolation: Stop whatever Python is
doing, HTML output that cannot run script or fetch from elsewhere, long outputs by keyboard (and
axe after cells have run), output floods, a click that lands in the cell clicked, input(), "ready"
meaning ready, and a queued cell's button."""

import make_site
import pytest
from conftest import (
    REPO,
    assert_no_axe_violations,
    cell,
    cell_number,
    char_point,
    output_text,
    run_cell,
    set_code,
    wait_saved_start,
)

TOUR = "00-how-this-book-works.html"
CHAPTER1 = "01-what-is-a-language-model.html"
MODES = pytest.mark.parametrize("isolated", [True, False], ids=["iso", "plain"])
REMOTE = "http://203.0.113.9"  # TEST-NET-3: a request here would leave the page's origin


def record_states(page, number: int) -> None:
    """From now on, every state cell `number` passes through is recorded (see states())."""
    page.evaluate(
        """(n) => {
            const c = document.querySelector(`.cell[data-number="${n}"]`);
            window.statesBefore = [];
            window.stateCell = c;
            new MutationObserver((records) => window.statesBefore.push(...records.map((r) => r.oldValue)))
              .observe(c, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
        }""",
        number,
    )


def states(page) -> list[str]:
    """The states the recorded cell has been in, the present one last."""
    return page.evaluate("[...window.statesBefore, window.stateCell.dataset.state]")


def wait_state(page, number: int, state: str, timeout: float = 30_000) -> None:
    page.wait_for_selector(f'.cell[data-number="{number}"][data-state={state}]', timeout=timeout)


def start(page, number: int, code: str) -> None:
    set_code(page, number, code)
    cell(page, number).locator(".cell-run").click()
    wait_state(page, number, "running")


# 1. Stop


def set_a_variable(page) -> None:
    set_code(page, 1, "kept = 'still here'")
    assert run_cell(page, 1) == "done"


def assert_the_variable_is_back(page) -> None:
    """After a Stop: in place, or by a new worker that ran cell 1 again."""
    set_code(page, 7, "kept")
    assert run_cell(page, 7, timeout=90_000) == "done"
    assert output_text(page, 7).strip() == "'still here'"


STUCK = {
    # Python's own sleep never looks at the interrupt buffer; the book's wakes on Stop.
    "a sleep": "import time\nprint('before', flush=True)\ntime.sleep(60)\nprint('after')",
    # sum() over a range runs in C from start to end: CPython never checks for the interrupt.
    "a long C call": "print('before', flush=True)\nsum(range(10**13))\nprint('after')",
}


@MODES
@pytest.mark.parametrize("stuck_in", STUCK)
def test_stop_ends_any_cell_and_shows_at_once_it_was_pressed(open_page, isolated, stuck_in):
    page = open_page(TOUR, isolated=isolated)
    set_a_variable(page)
    start(page, 2, STUCK[stuck_in])
    page.wait_for_function("() => document.querySelector('.cell[data-number=\"2\"] .cell-output').innerText.includes('before')")
    record_states(page, 2)
    stop = cell(page, 2).locator(".cell-run")
    assert stop.inner_text() == "Stop"
    stop.click()
    wait_state(page, 2, "error")
    assert states(page) == ["running", "stopping", "error"]
    text = output_text(page, 2)
    assert "after" not in text
    if isolated and stuck_in == "a sleep":  # stopped in place: the same Python, its variables
        assert "KeyboardInterrupt: stopped by you" in text
        assert page.locator("#notices").is_hidden()
    else:  # a new worker, which ran the cells that had run again
        assert "Stopped: Python was stopped." in text
        notice = page.locator("#notices").inner_text()
        assert "were run again" in notice
        assert ("did not stop in place" in notice) is isolated
    assert_the_variable_is_back(page)


def test_stop_in_the_toolbar_ends_a_widget_call_in_place(open_page):
    # Chapter 1's temperature explorer can draw with the reader's own softmax; one that never
    # returns keeps the widget's call running until Stop, which ends that call in place: the
    # widget says it was stopped and draws lmlab's bars, and the page's variables stay.
    page = open_page(CHAPTER1)
    widget = page.locator(".widget[data-widget=temperature-explorer]")
    number = cell_number(page, "softmax")
    set_code(page, number, "kept = 'still here'\ndef softmax(logits, T=1.0):\n    while True:\n        pass")
    assert run_cell(page, number) == "done"
    widget.locator(".tx-mine").check()
    page.wait_for_function("() => lmlab.python.current?.kind === 'call'")
    page.wait_for_timeout(300)
    page.click("[data-action=stop]")
    error = widget.locator(".widget-error")
    page.wait_for_function("() => !document.querySelector('.widget[data-widget=temperature-explorer] .widget-error').hidden")
    assert "Your softmax() did not work" in error.inner_text()
    assert "KeyboardInterrupt: stopped by you" in error.inner_text()
    assert page.locator("#notices").is_hidden()
    widget.locator(".tx-mine").uncheck()
    assert_the_variable_is_back(page)


# The next import of a book module (the worker's quiet-moment work imports them, worker.js
# whenQuiet) becomes a minute of Python, once; records whether a Stop ended it.
SLOW_NEXT_BOOK_IMPORT = """import sys, time

class SlowOnce:
    started = interrupted = False

    def find_spec(self, name, path=None, target=None):
        if self.started or not name.startswith("lmlab."):
            return None
        self.started = True
        try:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
        except KeyboardInterrupt:
            self.interrupted = True
            raise

slow = SlowOnce()
sys.meta_path.insert(0, slow)"""


def test_a_stop_while_the_worker_works_in_a_quiet_moment_stops_the_cell_in_place(open_page):
    # The page sends the cell while the worker is busy with work of its own; the Stop pressed then
    # lands in that work. It is meant for the cell, which must still end in place (the page
    # replaces a worker whose Python has not stopped within its grace).
    page = open_page(TOUR, wait_ready=False)
    set_code(page, 1, SLOW_NEXT_BOOK_IMPORT)
    cell(page, 1).locator(".cell-run").click()  # before "ready": before any quiet-moment work
    wait_state(page, 1, "done")
    wait_saved_start(page)  # the first quiet-moment work; the book's imports come next
    page.wait_for_timeout(2000)
    start(page, 2, "while True:\n    pass")
    page.wait_for_timeout(300)
    cell(page, 2).locator(".cell-run").click()
    wait_state(page, 2, "error")
    assert "KeyboardInterrupt" in output_text(page, 2)
    assert page.locator("#notices").is_hidden()
    set_code(page, 7, "slow.started, slow.interrupted")
    assert run_cell(page, 7) == "done"
    assert output_text(page, 7).strip() == "(True, True)"


# 2. HTML output

ATTACKS = f"""
<img src="data:image/png;base64,AAAA" onerror="document.title='owned'; top.owned = 'img'">
<script>top.owned = 'script'</script>
<a id="js-link" href="javascript:top.owned='link'">a script link</a>
<iframe srcdoc="<script>parent.owned='iframe'</script>"></iframe>
<svg width="20" height="20" onload="top.owned='svg onload'"><script>top.owned='svg script'</script>
  <rect class="kept-rect" width="10" height="10" fill="teal"/>
  <image href="{REMOTE}/image.png" width="5" height="5"/>
  <use href="{REMOTE}/sprite.svg#a"/>
  <a href="javascript:top.owned='svg link'"><text y="15">x</text></a>
  <rect width="1" height="1" fill="url({REMOTE}/paint.svg#p)"/>
</svg>
<meta http-equiv="refresh" content="0; url={REMOTE}/refresh">
<base href="{REMOTE}/base/">
<form action="{REMOTE}/form"><button id="submit-me">send</button></form>
<details open ontoggle="top.owned='details'"><summary>s</summary>d</details>
<object data="{REMOTE}/object"></object><embed src="{REMOTE}/embed">
<link rel="stylesheet" href="{REMOTE}/link.css">
<video poster="{REMOTE}/poster.png"></video>
<img srcset="{REMOTE}/a.png 2x" alt="srcset">
<style>@import url({REMOTE}/import.css);
  .kept-style {{ color: rgb(1, 2, 3); }}
  .fetching {{ background-image: url({REMOTE}/sheet.png); }}
  @font-face {{ font-family: x; src: url({REMOTE}/font.woff2); }}</style>
<div class="fetching" style="background: u\\72 l({REMOTE}/escaped.png); color: rgb(4, 5, 6)">styled</div>
<table class="kept-table"><tr><th>a</th><td>1</td></tr></table>
<p class="kept-style" id="notices">mine</p>
<img class="sentinel" alt="a dot" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=">
"""


@MODES
def test_displayed_html_stays_rich_and_runs_or_fetches_nothing(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    title, base = page.title(), page.evaluate("document.baseURI")
    code = f"class Page:\n    def _repr_html_(self):\n        return {ATTACKS!r}\n\nPage()"
    set_code(page, 4, code)
    assert run_cell(page, 4) == "done"
    rich = cell(page, 4).locator(".output-rich")
    # Whatever could fire has had its chance: the sentinel image has loaded and frames have passed.
    page.wait_for_function(
        """() => { const img = document.querySelector('.cell[data-number="4"] .sentinel');
                   return img && img.complete && img.naturalWidth === 1; }"""
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("window.owned") is None
    assert page.title() == title and page.evaluate("document.baseURI") == base
    assert rich.locator("script, iframe, meta, base, form, object, embed, link").count() == 0
    html = rich.inner_html()
    assert REMOTE not in html and "javascript:" not in html
    assert page.evaluate(
        """() => [...document.querySelectorAll('.output-rich *')]
                 .every((el) => [...el.attributes].every((a) => !a.name.startsWith('on')))"""
    )
    # Still rich: the table, the SVG, the styles that fetch nothing.
    assert rich.locator("table.kept-table td").inner_text() == "1"
    assert rich.locator("svg rect.kept-rect").count() == 1
    assert rich.locator("p.kept-style").evaluate("el => getComputedStyle(el).color") == "rgb(1, 2, 3)"
    styled = rich.locator("div.fetching")
    assert styled.evaluate("el => getComputedStyle(el).color") == "rgb(4, 5, 6)"
    assert styled.evaluate("el => getComputedStyle(el).backgroundImage") == "none"
    # The reader's id="notices" did not take the book's.
    assert page.evaluate("document.getElementById('notices').closest('.cell')") is None
    # (open_page checks, after the test, that no request left the page's origin.)


# 3. Long outputs by keyboard, and axe after cells have run


@MODES
def test_long_outputs_and_errors_scroll_by_keyboard_and_pass_axe(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    set_code(page, 3, "for i in range(400):\n    print('line', i)")
    assert run_cell(page, 3) == "done"
    set_code(page, 6, "import numpy as np\nnp.ones((3, 3)) @ np.ones((4, 4))")
    assert run_cell(page, 6) == "error"
    long_output = cell(page, 3).locator("pre.output-stdout")
    long_output.locator("xpath=self::*[@tabindex='0']").wait_for()
    assert long_output.get_attribute("role") == "region"
    assert long_output.get_attribute("aria-label") == "Output of cell 3 (scrollable)"
    assert_no_axe_violations(page)
    # From the cell's Run button: Tab (past Reset) onto the code, Escape and Tab out of the
    # editor, onto the output; then Page Down scrolls it.
    cell(page, 3).locator(".cell-run").focus()
    page.keyboard.press("Tab")
    if page.evaluate("document.activeElement.classList.contains('cell-reset')"):
        page.keyboard.press("Tab")
    page.wait_for_function("() => document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert long_output.evaluate("el => el === document.activeElement")
    page.keyboard.press("PageDown")
    long_output.evaluate("el => new Promise((r) => { const go = () => el.scrollTop > 0 ? r() : requestAnimationFrame(go); go(); })")


# 4. Floods


@MODES
def test_a_flood_keeps_few_lines_and_the_page_answers(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    set_code(page, 3, "print('a\\n' * 200000)")
    assert run_cell(page, 3) == "done"
    shown = cell(page, 3).locator("pre.output-stdout")
    assert shown.evaluate("el => el.textContent.split('\\n').length - 1") == 1000
    assert "199,001 earlier lines hidden" in cell(page, 3).locator(".output-hidden-lines").inner_text()
    # flush=True in a tight loop, forever: the page keeps few lines, and answers the Stop click.
    start(page, 5, "k = 0\nwhile True:\n    print(k, flush=True)\n    k += 1")
    notice = cell(page, 5).locator(".output-hidden-lines")
    notice.wait_for()
    page.wait_for_function(
        """() => { const pre = document.querySelector('.cell[data-number="5"] pre.output-stdout');
                   return pre.textContent.split('\\n').length - 1 <= 1000; }"""
    )
    cell(page, 5).locator(".cell-run").click()
    wait_state(page, 5, "error")
    set_code(page, 7, "print('alive')")
    assert run_cell(page, 7, timeout=90_000) == "done"


# 5. A click lands in the cell clicked


def click_code_and_type(page, number: int, word: str) -> None:
    """Click the third letter of `word` in cell `number`'s code (its static view), type "QQ", and
    check it went there, and nowhere else."""
    codes = page.evaluate("lmlab.page.cells.map((c) => c.code)")
    lines = codes[number - 1].split("\n")
    line = next(i for i, text in enumerate(lines) if word in text)
    column = lines[line].index(word) + 2
    offset = sum(len(text) + 1 for text in lines[:line]) + column
    # Where the reader sees it: once the page has painted a frame since the scroll or jump.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    point = char_point(page, number, line, column)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(
        """(n) => document.activeElement.classList.contains('cm-content')
                  && document.activeElement.closest('.cell').dataset.number === String(n)""",
        arg=number,
    )
    page.keyboard.type("QQ")
    code = codes[number - 1]
    codes[number - 1] = code[:offset] + "QQ" + code[offset:]
    assert page.evaluate("lmlab.page.cells.map((c) => c.code)") == codes


SCROLL_TO = "(n) => document.querySelector(`.cell[data-number=\"${n}\"]`).scrollIntoView({ block: 'center' })"


@MODES
@pytest.mark.parametrize("before", ["another cell's Run", "a scroll", "a link jump"])
def test_one_click_on_code_puts_the_caret_there(open_page, isolated, before):
    """At once after: Run on another cell (the focus was on its button; here the editor is built
    by the click itself), a programmatic scroll (editors are being built for the cells now on
    screen), a jump by an in-page link (the focus was on the link)."""
    page = open_page(CHAPTER1, isolated=isolated)
    number = lambda cell_id: int(page.locator(f"#cell-{cell_id}").get_attribute("data-number"))  # noqa: E731
    if before == "another cell's Run":
        page.evaluate("lmlab.page.editorsOnScreen.stop()")
        cell(page, 3).locator(".cell-run").click()
        page.evaluate(SCROLL_TO, number("greedy"))
        click_code_and_type(page, number("greedy"), "greedy")
    elif before == "a scroll":
        cell(page, 3).locator(".cell-run").click()
        page.evaluate(SCROLL_TO, number("topk"))
        click_code_and_type(page, number("topk"), "top_k_filter")
    else:
        page.locator(".widget a[href='#cell-softmax']").click()
        click_code_and_type(page, number("softmax"), "tokens")


# 6. input()


@MODES
def test_input_asks_the_reader_or_says_why_it_cannot(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    set_code(page, 3, "print('hello')\nname = input('name? ')\nprint('hi', name.upper())")
    if not isolated:
        assert run_cell(page, 3) == "error"
        text = output_text(page, 3)
        assert "input() cannot ask you anything on this page" in text
        assert 'name = "Ada"' in text and 'File "<cell 3>", line 2' in text
        return
    cell(page, 3).locator(".cell-run").click()
    field = cell(page, 3).get_by_label("name?")
    field.wait_for()
    assert "hello" in output_text(page, 3)
    field.fill("Ada")
    field.press("Enter")
    wait_state(page, 3, "done")
    assert output_text(page, 3).split("\n")[:3] == ["hello", "name? Ada", "hi ADA"]
    # Stop while it waits for an answer.
    cell(page, 3).locator(".cell-run").click()
    field.wait_for()
    cell(page, 3).locator(".cell-run").click()
    wait_state(page, 3, "error")
    assert "KeyboardInterrupt" in output_text(page, 3)
    assert cell(page, 3).locator(".output-answer").count() == 0
    assert page.locator("#notices").is_hidden()


# 7. The widgets' modules are imported once Python is ready: after the cells run while it started


def test_a_cell_run_while_python_starts_goes_before_the_widgets_imports(open_page):
    # Chapter 9's widgets call lmlab.chat_stages (a few hundred ms of imports in Pyodide): a cell
    # the reader ran while Python was starting does not wait for them.
    page = open_page("09-from-gpt-to-chatgpt.html", wait_ready=False)
    set_code(page, 1, "import sys\nprint('lmlab.chat_stages' in sys.modules)")
    cell(page, 1).locator(".cell-run").click()
    assert cell(page, 1).get_attribute("data-state") == "queued"  # Python takes seconds to start
    wait_state(page, 1, "done")
    assert output_text(page, 1).strip() == "False"
    assert run_cell(page, 1) == "done"  # a run asked for after "ready" comes after them
    assert output_text(page, 1).strip() == "True"


@MODES
def test_a_call_after_ready_finds_the_pages_widget_modules_imported_and_the_books_follow(
        open_page, isolated):
    # Chapter 1's widgets call lmlab.sampling: imported before anything asked after "Python ready".
    page = open_page(CHAPTER1, isolated=isolated)
    set_code(page, 1, "import sys\n'lmlab.sampling' in sys.modules")
    assert run_cell(page, 1) == "done"
    assert output_text(page, 1).strip() == "True"
    # The tour has no widget; the modules of every other page's widgets come once Python is idle.
    page = open_page(TOUR, isolated=isolated)
    book = sorted(make_site.warm_modules(REPO / "web" / "chapters"))
    set_code(page, 1, f"import sys\n[m for m in {book!r} if m not in sys.modules]")
    for _ in range(30):
        assert run_cell(page, 1) == "done"
        if output_text(page, 1).strip() == "[]":
            break
        page.wait_for_timeout(1500)  # the worker imports them after a second with no message
    assert output_text(page, 1).strip() == "[]"


# 8. A queued cell's button


@MODES
def test_a_queued_cell_can_leave_the_queue_and_only_that(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    before = output_text(page, 2)
    start(page, 1, "import time\ntime.sleep(4)\nprint('first done')")
    set_code(page, 3, "print('third ran')")
    for n in (2, 3):
        cell(page, n).locator(".cell-run").click()
    run_button, queued_button = cell(page, 1).locator(".cell-run"), cell(page, 2).locator(".cell-run")
    assert cell(page, 2).get_attribute("data-state") == "queued"  # cell 1 sleeps for seconds yet
    assert (run_button.inner_text(), run_button.get_attribute("aria-label")) == ("Stop", "Stop cell 1")
    assert queued_button.inner_text() == "Leave queue"
    assert queued_button.get_attribute("aria-label") == "Take cell 2 out of the queue"
    queued_button.click()
    assert cell(page, 2).get_attribute("data-state") == "prerendered"
    assert queued_button.inner_text() == "Run"
    assert cell(page, 1).get_attribute("data-state") == "running"
    assert cell(page, 3).get_attribute("data-state") == "queued"
    wait_state(page, 3, "done")
    assert "first done" in output_text(page, 1) and "third ran" in output_text(page, 3)
    assert output_text(page, 2) == before
