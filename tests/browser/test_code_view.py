"""A cell's code before and after its editor exists: the builder's static, highlighted view, the
editor built in its place only while the cell is on screen, and the promise that swapping one
for the other changes no pixel (so the page never moves under the reader)."""

import json
import subprocess
from html.parser import HTMLParser

import chapters
import pytest
from conftest import REPO, cell, char_point

CHAPTERS = sorted(p.stem for p in (REPO / "web" / "chapters").glob("*.md"))
PAGE = "01-what-is-a-language-model.html"


def book_cells(slug: str) -> list:
    return chapters.load(REPO / "web" / "chapters" / f"{slug}.md").cells


class _Text(HTMLParser):
    """The text of a static view as a browser's textContent gives it, and its highlighted words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text, self.classes, self.stack = "", [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(dict(attrs).get("class", ""))

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        self.text += data
        if self.stack and self.stack[-1].startswith("py-"):
            self.classes.append((self.stack[-1], data))


def render(codes: list[str]) -> list[_Text]:
    done = subprocess.run(["node", str(REPO / "build" / "highlight_code.mjs")],
                          input=json.dumps(codes), capture_output=True, text=True, check=True)
    parsed = []
    for markup in json.loads(done.stdout):
        text = _Text()
        text.feed(markup)
        parsed.append(text)
    return parsed


def test_the_static_view_holds_exactly_the_code():
    tricky = [
        "x = 1",
        "",
        "a < b and c > d & e  # <not a tag> &amp;",
        'text = """two\nlines"""\n',
        "\tindented with a tab\n\n\nafter blank lines",
        "naïve = 'κόσμος' + \"😀\"",
    ]
    for code, view in zip(tricky, render(tricky), strict=True):
        assert view.text == code
    keywords = render(["def f(a):\n    return a  # done"])[0].classes
    assert ("py-keyword", "def") in keywords and ("py-keyword", "return") in keywords
    assert ("py-definition", "f") in keywords and ("py-comment", "# done") in keywords


@pytest.mark.parametrize("slug", CHAPTERS)
def test_code_is_shown_highlighted_before_any_script_runs(browser, server, slug):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + slug + ".html")
    shown = page.eval_on_selector_all(".cell .code-view code", "codes => codes.map(c => c.textContent)")
    assert shown == [c.code for c in book_cells(slug)]
    assert page.locator(".cell .code-view .py-keyword").count() > 0
    context.close()


MEASURE_SWAP = """async (n) => {
  const cell = lmlab.page.cells.find((c) => c.number === String(n));
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  cell.element.scrollIntoView({ block: "center" });
  await frames();
  return cell.editor === null;
}"""


def page_box(locator) -> list[float]:
    """Where an element is on the page (not in the viewport, which a screenshot may scroll)."""
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }"
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_building_an_editor_changes_no_pixel(open_page, width):
    page = open_page(PAGE, viewport={"width": width, "height": 900})
    # Build editors only when this test says so.
    page.evaluate("lmlab.page.editorsOnScreen.stop()")
    count = page.locator(".cell").count()
    assert count > 5
    for n in range(1, count + 1):
        target, code = cell(page, n), cell(page, n).locator(".cell-source")
        assert page.evaluate(MEASURE_SWAP, n), f"cell {n} already had its editor"
        before, before_box = code.screenshot(), page_box(target)
        page.evaluate(
            """async (n) => {
                await lmlab.page.cells.find((c) => c.number === String(n)).mountEditor();
                await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            }""",
            n,
        )
        assert target.locator(".cm-editor").count() == 1
        assert page_box(target) == before_box, f"cell {n} moved or resized"
        # Pixel for pixel, the code area is the same (the cell's rounded border, drawn around
        # it, may differ in an antialiased pixel or two with the editor's layers).
        assert code.screenshot() == before, f"cell {n}'s code looks different in the editor"


def test_editors_are_built_only_for_cells_on_screen(open_page):
    page = open_page(PAGE, viewport={"width": 1280, "height": 700})
    page.wait_for_timeout(1000)
    last = page.locator(".cell").count()
    assert cell(page, last).locator(".cm-editor").count() == 0
    cell(page, last).scroll_into_view_if_needed()
    cell(page, last).locator(".cm-editor").wait_for(timeout=10_000)
    # A cell that was never on screen still has its static view.
    assert cell(page, last - 3).locator(".code-view").count() == 1


def test_a_click_on_the_static_code_puts_the_caret_there(open_page):
    page = open_page(PAGE)
    page.evaluate("lmlab.page.editorsOnScreen.stop()")
    code = book_cells(PAGE[:-5])[0].code
    line = code.splitlines().index(next(x for x in code.splitlines() if "import" in x))
    word = "import"
    offset = sum(len(x) + 1 for x in code.splitlines()[:line]) + code.splitlines()[line].index(word)
    page.evaluate("lmlab.page.cells[0].element.scrollIntoView({ block: 'center' })")
    # Where the third letter of the word is drawn in the static view.
    box = char_point(page, 1, line, code.splitlines()[line].index(word) + 2)
    page.mouse.click(box["x"], box["y"])
    page.wait_for_function("() => document.activeElement.classList.contains('cm-content')")
    head = page.evaluate("lmlab.page.cells[0].editor.state.selection.main.head")
    assert head == offset + 2


def test_tab_onto_the_static_code_gives_the_editor_the_focus(open_page):
    page = open_page(PAGE)
    page.evaluate("lmlab.page.editorsOnScreen.stop()")
    run = cell(page, 3).locator(".cell-run")
    run.focus()
    page.keyboard.press("Tab")  # from Run (Reset is hidden) onto the code
    page.wait_for_function("() => document.activeElement.classList.contains('cm-content')")
    assert cell(page, 3).locator(".cm-content").evaluate("el => el === document.activeElement")
