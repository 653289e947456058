"""Chapter 1 and its TemperatureExplorer as a reader meets them: the widget before Python, its
numbers against CPython's lmlab, the keyboard, the reader's own softmax (working and broken),
axe-core, and a 375 px phone."""

import json

import pytest
from conftest import assert_no_axe_violations, cell, horizontal_overflow, run_cell, set_code
from lmlab import sampling
from printed import fixed

PAGE = "01-what-is-a-language-model.html"
WIDGET = ".widget[data-widget=temperature-explorer]"


def config(page) -> dict:
    return json.loads(page.locator(WIDGET).get_attribute("data-config"))


def cell_number(page, cell_id: str) -> int:
    return int(page.locator(f"#cell-{cell_id}").get_attribute("data-number"))


def shown(page) -> dict:
    """What the widget shows: the rows in order, its three statistics as text, and the bars'
    widths (each bar's fraction of its track)."""
    return page.evaluate(
        """sel => {
            const w = document.querySelector(sel);
            const text = (s) => w.querySelector(s).textContent.replace(/\\s+/g, " ").trim();
            return {
                rows: [...w.querySelectorAll(".tx-row")].map(r =>
                    [r.querySelector(".tx-token").textContent, r.querySelector(".tx-prob").textContent]),
                widths: [...w.querySelectorAll(".tx-fill")].map(r => Number(r.getAttribute("width"))),
                entropy: text("[data-stat=entropy]"),
                top: text("[data-stat=top]"),
                effective: text("[data-stat=effective]"),
                temperature: text(".tx-t"),
            };
        }""",
        WIDGET,
    )


def expected(cfg: dict, temperature: float, stats: dict | None = None) -> dict:
    """The same view, computed here by CPython's lmlab and formatted as the widget formats."""
    stats = stats or sampling.temperature_explorer(cfg["kwargs"]["logits"], temperature)
    top = cfg["tokens"][stats["order"][0]]
    return {
        "rows": [[cfg["tokens"][i], fixed(stats["probs"][i], 3)] for i in stats["order"]],
        "widths": [stats["probs"][i] for i in stats["order"]],
        "entropy": f"{fixed(stats['entropy'], 2)} nats ({fixed(stats['entropy_bits'], 2)} bits)",
        "top": f"{top} {fixed(stats['top_prob'], 3)}",
        "effective": fixed(stats["effective_tokens"], 2),
        "temperature": fixed(temperature, 2),
    }


# A bar's width is a probability computed by numpy in Pyodide; the reference is computed by
# CPython's numpy, whose SIMD kernels round the last bits differently (1e-17 apart is seen). The
# widest bar is a few hundred pixels, so 1e-9 of it is far below anything on screen.
BAR_TOLERANCE = 1e-9


def assert_shows(page, cfg: dict, temperature: float, stats: dict | None = None) -> None:
    """The widget shows what CPython's lmlab computes: every printed figure exactly as printed,
    every bar to within BAR_TOLERANCE."""
    view, want = shown(page), expected(cfg, temperature, stats)
    widths, want_widths = view.pop("widths"), want.pop("widths")
    assert view == want
    assert widths == pytest.approx(want_widths, rel=0, abs=BAR_TOLERANCE)


def slide_to(page, value: str) -> None:
    """Move the slider as a pointer would (set the value, fire input) and wait for the redraw."""
    page.evaluate(
        """([sel, value]) => {
            const slider = document.querySelector(sel + " .tx-input");
            slider.value = value;
            slider.dispatchEvent(new Event("input", { bubbles: true }));
        }""",
        [WIDGET, value],
    )
    wait_drawn(page, value)


def wait_drawn(page, value: str) -> None:
    page.wait_for_function(
        "([sel, v]) => document.querySelector(sel).dataset.drawnTemperature === String(Number(v))",
        arg=[WIDGET, value], timeout=30_000,
    )


def test_the_widget_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    cfg = config(page)
    assert_shows(page, cfg, cfg["kwargs"]["temperature"])
    assert "waking up" in page.locator(f"{WIDGET} .widget-status").inner_text()
    context.close()


def test_the_widget_says_it_is_waking_up_until_python_is_ready(open_page):
    page = open_page(PAGE, wait_ready=False)
    status = page.locator(f"{WIDGET} .widget-status")
    if not page.locator("#python-status[data-state=ready]").count():
        assert status.get_attribute("data-state") == "waking"
    page.wait_for_selector(f"{WIDGET} .widget-status[data-state=live]", timeout=90_000)
    assert "lmlab.sampling.temperature_explorer" in status.inner_text()


@pytest.mark.parametrize("value", ["0.1", "0.35", "0.7", "1.5", "2.25", "3"])
def test_displayed_numbers_equal_cpython_lmlab(open_page, value):
    page = open_page(PAGE)
    slide_to(page, value)
    assert_shows(page, config(page), float(value))


def test_keyboard_alone_moves_the_slider_and_samples(open_page):
    page = open_page(PAGE)
    cfg = config(page)
    slider = page.locator(f"{WIDGET} .tx-input")
    assert slider.evaluate("el => el.labels[0].textContent").startswith("Temperature")
    # The slider is the first stop of Tab inside the widget (clicking the prompt's text puts the
    # starting point of keyboard navigation there).
    page.locator(f"{WIDGET} .tx-prompt").click()
    page.keyboard.press("Tab")
    assert slider.evaluate("el => el === document.activeElement")
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    wait_drawn(page, "0.7")
    assert_shows(page, cfg, 0.7)
    page.keyboard.press("Home")
    wait_drawn(page, "0.1")
    assert_shows(page, cfg, 0.1)
    page.keyboard.press("End")
    wait_drawn(page, "3")
    assert_shows(page, cfg, 3.0)
    # Tab on to Sample; Enter and Space each draw one token with the next seed.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "tx-sample"
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    tokens = [cfg["tokens"][sampling.sample_token(cfg["kwargs"]["logits"], 3.0, cfg["seed"] + i)]
              for i in range(2)]
    draws = page.locator(f"{WIDGET} .tx-draws")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel + ' .tx-draws').textContent.split('·').length === n",
        arg=[WIDGET, 2],
    )
    assert draws.inner_text().split(": ", 1)[1].split(" · ") == tokens
    announcer = page.locator(f"{WIDGET} .tx-announce")
    assert announcer.get_attribute("aria-live") == "polite"
    assert announcer.inner_text() == f"Draw 2 at temperature 3.00: {tokens[1]}"


def test_the_readers_softmax_drives_the_bars_and_a_broken_one_is_shown(open_page):
    page = open_page(PAGE)
    cfg = config(page)
    switch = page.locator(f"{WIDGET} .tx-mine")
    error = page.locator(f"{WIDGET} .widget-error")
    status = page.locator(f"{WIDGET} .widget-status")

    # Switched on before the cell has run: the widget asks for it and keeps drawing lmlab's.
    switch.check()
    page.wait_for_function("sel => !document.querySelector(sel + ' .widget-error').hidden", arg=WIDGET)
    assert "Run the cell that defines softmax() first" in error.inner_text()
    assert_shows(page, cfg, 1.0)

    # The chapter's own softmax: the bars come from it, and agree with lmlab.
    softmax_cell = cell_number(page, "softmax")
    assert run_cell(page, softmax_cell) == "done"
    slide_to(page, "0.5")
    assert error.is_hidden()
    assert "your softmax()" in status.inner_text()
    assert_shows(page, cfg, 0.5)

    # A softmax that forgets to normalise: its error inside the widget, lmlab's bars meanwhile.
    original = cell(page, softmax_cell).locator(".cm-content").inner_text()
    set_code(page, softmax_cell, original.replace("return e / e.sum()", "return e"))
    assert run_cell(page, softmax_cell) == "done"
    slide_to(page, "0.8")
    assert error.is_visible()
    assert "Your softmax() did not work" in error.inner_text()
    assert "must sum to 1" in error.inner_text()
    assert_shows(page, cfg, 0.8)

    # One that raises: the traceback points into the reader's cell.
    set_code(page, softmax_cell, "def softmax(logits, T=1.0):\n    return 1 / 0")
    assert run_cell(page, softmax_cell) == "done"
    slide_to(page, "1.2")
    assert "ZeroDivisionError" in error.inner_text()
    assert f'File "<cell {softmax_cell}>", line 2' in error.inner_text()
    assert_shows(page, cfg, 1.2)

    # A deliberately different distribution proves the bars really are the reader's.
    set_code(page, softmax_cell, "def softmax(logits, T=1.0):\n    return [1 / len(logits)] * len(logits)")
    assert run_cell(page, softmax_cell) == "done"
    slide_to(page, "0.6")
    assert error.is_hidden()
    uniform = [1 / len(cfg["tokens"])] * len(cfg["tokens"])
    assert_shows(page, cfg, 0.6, sampling.describe_distribution(uniform))

    # Switched off: lmlab's again, and the widget kept working throughout.
    switch.uncheck()
    page.wait_for_function(
        "sel => document.querySelector(sel + ' .widget-status').textContent.includes('lmlab')", arg=WIDGET
    )
    assert_shows(page, cfg, 0.6)


def test_axe_finds_no_violations_in_any_widget_state(open_page):
    page = open_page(PAGE)
    page.locator(f"{WIDGET} .tx-sample").click()
    page.locator(f"{WIDGET} .tx-mine").check()  # the cell has not run: the error box shows
    page.wait_for_function("sel => !document.querySelector(sel + ' .widget-error').hidden", arg=WIDGET)
    assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 740})
    assert horizontal_overflow(page) <= 0
    box = page.locator(WIDGET).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    # Every token name and probability is on screen in full, and the slider still works.
    clipped = page.evaluate(
        """sel => [...document.querySelectorAll(sel + ' .tx-token, ' + sel + ' .tx-prob')]
                  .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)""",
        WIDGET,
    )
    assert clipped == []
    slide_to(page, "2")
    assert_shows(page, config(page), 2.0)


@pytest.mark.parametrize("preference", ["reduce", "no-preference"])
def test_reduced_motion_turns_the_animations_off(open_page, preference):
    page = open_page(PAGE, reduced_motion=preference)
    page.locator(f"{WIDGET} .tx-sample").click()
    page.wait_for_selector(f"{WIDGET} .tx-row.is-sampled")
    motion = page.evaluate(
        """sel => {
            const style = (s) => getComputedStyle(document.querySelector(sel + " " + s));
            return [style(".tx-fill").transitionDuration, style(".tx-row.is-sampled").animationName];
        }""",
        WIDGET,
    )
    assert (motion == ["0s", "none"]) == (preference == "reduce")
