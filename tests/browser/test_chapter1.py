"""Chapter 1 and its TemperatureExplorer as a reader meets them: the widget before Python, its
numbers against CPython's lmlab, the keyboard, the reader's own softmax (working and broken),
axe-core, and a 375 px phone."""

import json

import pytest
from conftest import (
    assert_exercise_fails_then_passes,
    assert_no_axe_violations,
    cell,
    cell_number,
    horizontal_overflow,
    run_cell,
    set_code,
)
from lmlab import sampling
from printed import fixed

PAGE = "01-what-is-a-language-model.html"
WIDGET = ".widget[data-widget=temperature-explorer]"


def config(page) -> dict:
    return json.loads(page.locator(WIDGET).get_attribute("data-config"))



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
    cut = stats.get("cut") or [False] * len(stats["probs"])
    return {
        "rows": [[cfg["tokens"][i], "cut" if cut[i] else fixed(stats["probs"][i], 3)]
                 for i in stats["order"]],
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
    # Tab on past top-k and top-p to Sample; Enter and Space each draw one token with the next seed.
    for control in ("tx-k", "tx-p", "tx-sample"):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == control
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


def wait_cuts(page, top_k, top_p) -> None:
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel).dataset.drawnCuts === want",
        arg=[WIDGET, json.dumps({"top_k": top_k, "top_p": top_p}, separators=(",", ":"))],
        timeout=30_000,
    )


def test_top_k_and_top_p_cut_the_tail_by_keyboard_and_a_link_keeps_them(open_page, server):
    page = open_page(PAGE)
    cfg = config(page)
    logits = cfg["kwargs"]["logits"]
    page.locator(f"{WIDGET} .tx-k").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # off, 1, 2, 3
    wait_cuts(page, 3, None)
    assert_shows(page, cfg, 1.0, sampling.temperature_explorer(logits, 1.0, top_k=3))
    assert [r.inner_text().split("\n")[-1] for r in page.locator(f"{WIDGET} .tx-row").all()][3:] == \
        ["cut"] * (len(logits) - 3)
    page.locator(f"{WIDGET} .tx-k").focus()
    page.keyboard.press("Home")  # off again
    page.locator(f"{WIDGET} .tx-p").focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")  # 1 (off) -> 0.80
    wait_cuts(page, None, 0.8)
    want = sampling.temperature_explorer(logits, 1.0, top_p=0.8)
    assert_shows(page, cfg, 1.0, want)
    assert page.locator(f"{WIDGET} .tx-p-out").inner_text() == "0.80"
    page.locator(f"{WIDGET} .tx-sample").focus()
    for _ in range(3):
        page.keyboard.press("Enter")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel + ' .tx-draws').textContent.split('·').length === n",
        arg=[WIDGET, 3],
    )
    drawn = page.locator(f"{WIDGET} .tx-draws").inner_text().split(": ", 1)[1].split(" · ")
    assert drawn == [cfg["tokens"][sampling.sample_token(logits, 1.0, cfg["seed"] + i, top_p=0.8)]
                     for i in range(3)]
    # The settings are in the link; opening it shows the same cut.
    assert "-p=0.8" in page.url and "-t=1.00" in page.url
    again = open_page(PAGE + "#" + page.url.split("#", 1)[1])
    wait_cuts(again, None, 0.8)
    assert_shows(again, cfg, 1.0, want)


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


# GenerationExplorer: the loop step by step, and the tree of continuations.
GX = ".widget[data-widget=generation-explorer]"


def gx_shown(page) -> dict:
    """What the explorer shows: the generated words, the current step's draw, the tree's rows
    (word, probability, path probability, in document order) and the words marked as the path."""
    return page.evaluate(
        """sel => {
            const w = document.querySelector(sel);
            const text = (e) => e ? e.textContent.trim() : null;
            return {
                made: [...w.querySelectorAll(".gx-made")].map(text),
                candidates: [...w.querySelectorAll(".gx-cand")].map(c =>
                    [text(c.querySelector(".gx-word")), text(c.querySelector(".gx-num"))]),
                roll: text(w.querySelector(".gx-draw .gx-num")),
                tree: [...w.querySelectorAll(".gx-node:not(.is-root):not(.is-unshown)")].map(n =>
                    [text(n.querySelector(":scope > .gx-word")), text(n.querySelector(":scope > .gx-num")),
                     text(n.querySelector(":scope > .gx-path-prob"))]),
                path: [...w.querySelectorAll(".gx-node.is-path > .gx-word")].map(text),
            };
        }""",
        GX,
    )


def gx_expected(kwargs: dict, step: int) -> dict:
    """The same view from CPython's lmlab.generation, formatted as the widget formats."""
    from lmlab import generation

    trace = generation.generation_trace(kwargs["table"], kwargs["prompt"], kwargs["depth"],
                                        kwargs["temperature"], kwargs["seed"])
    tree = generation.sampling_tree(kwargs["table"], kwargs["prompt"], kwargs["depth"],
                                    kwargs["branches"], kwargs["temperature"])

    def rows(node):
        for child in node["children"]:
            yield [child["word"], fixed(child["prob"], 3), f"path {fixed(child['path_prob'], 3)}"]
            yield from rows(child)

    # The path is marked as far as the tree reaches; a drawn word that the tree leaves out (not
    # among the likeliest `branches`) marks its node's "other words" row instead.
    path, node = [], tree
    for s in trace[:step]:
        child = next((c for c in node["children"] if c["word"] == s["word"]), None)
        if child is None:
            if node["children"] and node["unshown"] > 0.0005:
                path.append(f"other words, “{s['word']}” among them")
            break
        path.append(child["word"])
        node = child
    current = trace[step - 1] if step else None
    return {
        "made": [s["word"] for s in trace[:step]],
        "candidates": [[c["word"], fixed(c["prob"], 3)] for c in current["candidates"]] if current else [],
        "roll": fixed(current["roll"], 3) if current else None,
        "tree": list(rows(tree)),
        "path": path,
    }


def gx_wait_drawn(page, **settings) -> None:
    page.wait_for_function(
        """([sel, want]) => {
            const drawn = document.querySelector(sel).dataset.drawn;
            return drawn && Object.entries(want).every(([k, v]) => JSON.parse(drawn)[k] === v);
        }""",
        arg=[GX, settings], timeout=30_000,
    )


def test_generation_explorer_steps_through_the_built_run_before_python(open_page):
    # Python never arrives (its wasm is held back): Step still walks the run the builder computed.
    page = open_page(PAGE, wait_ready=False)
    page.route("**/pyodide.asm.wasm", lambda route: None)
    page.reload()
    kwargs = json.loads(page.locator(GX).get_attribute("data-config"))["kwargs"]
    assert gx_shown(page) == gx_expected(kwargs, 0)
    page.locator(f"{GX} .gx-next").click()
    page.locator(f"{GX} .gx-next").click()
    gx_wait_drawn(page, step=2)
    assert gx_shown(page) == gx_expected(kwargs, 2)
    assert page.locator("#python-status").get_attribute("data-state") != "ready"
    page.unroute_all(behavior="ignoreErrors")


def test_generation_explorer_by_keyboard_matches_cpython(open_page):
    page = open_page(PAGE)
    kwargs = json.loads(page.locator(GX).get_attribute("data-config"))["kwargs"]
    step_button = page.locator(f"{GX} .gx-next")
    step_button.focus()
    for n in range(1, kwargs["depth"] + 1):
        page.keyboard.press("Enter")
        gx_wait_drawn(page, step=n)
        assert gx_shown(page) == gx_expected(kwargs, n)
    announcer = page.locator(f"{GX} .gx-announce")
    assert announcer.get_attribute("aria-live") == "polite"
    assert announcer.inner_text().startswith(f"Step {kwargs['depth']}: after ")
    page.keyboard.press("Enter")  # past the end: said, and the focus stays on Step
    assert "run has ended" in announcer.inner_text()
    assert step_button.evaluate("el => el === document.activeElement")

    # A new seed (Space on the button) redraws the run from Python; the step is kept.
    page.locator(f"{GX} .gx-new-seed").focus()
    page.keyboard.press("Space")
    gx_wait_drawn(page, seed=1)
    assert gx_shown(page) == gx_expected({**kwargs, "seed": 1}, kwargs["depth"])

    # The temperature slider, Home = 0.1, and the branches menu, by arrow keys.
    page.locator(f"{GX} .gx-temperature").focus()
    page.keyboard.press("Home")
    gx_wait_drawn(page, temperature=0.1)
    page.locator(f"{GX} .gx-branches").focus()
    page.keyboard.press("ArrowDown")
    gx_wait_drawn(page, temperature=0.1, branches=kwargs["branches"] + 1)
    settings = {**kwargs, "seed": 1, "temperature": 0.1, "branches": kwargs["branches"] + 1}
    assert gx_shown(page) == gx_expected(settings, kwargs["depth"])
    assert_no_axe_violations(page)


def test_generation_explorer_state_is_in_the_link(open_page):
    page = open_page(PAGE)
    kwargs = json.loads(page.locator(GX).get_attribute("data-config"))["kwargs"]
    page.locator(f"{GX} .gx-depth").select_option(index=1)  # depth 2
    gx_wait_drawn(page, depth=2)
    page.locator(f"{GX} .gx-seed").fill("4")
    page.locator(f"{GX} .gx-seed").press("Enter")
    gx_wait_drawn(page, depth=2, seed=4)
    page.locator(f"{GX} .gx-next").click()
    gx_wait_drawn(page, depth=2, seed=4, step=1)
    fragment = page.url.split("#", 1)[1]
    assert "depth=2" in fragment and "seed=4" in fragment and "step=1" in fragment
    again = open_page(f"{PAGE}#{fragment}")
    gx_wait_drawn(again, depth=2, seed=4, step=1)
    assert gx_shown(again) == gx_expected({**kwargs, "depth": 2, "seed": 4}, 1)


def test_generation_explorer_fits_a_phone(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 740})
    page.locator(f"{GX} .gx-branches").select_option("4")
    page.locator(f"{GX} .gx-depth").select_option("4")
    gx_wait_drawn(page, branches=4, depth=4)
    page.locator(f"{GX} .gx-next").click()
    assert horizontal_overflow(page) <= 0
    box = page.locator(GX).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375


def gx_wait_source(page, text: str) -> None:
    page.wait_for_function("([sel, text]) => document.querySelector(sel).dataset.source === text",
                           arg=[GX, text], timeout=30_000)


THE_ROW = '"the":    {"cat": 0.4, "dog": 0.3, "mat": 0.2, "moon": 0.1},'


def test_generation_explorer_runs_on_the_readers_table_and_says_what_to_fix(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 740})
    kwargs = json.loads(page.locator(GX).get_attribute("data-config"))["kwargs"]
    switch = page.locator(GX).get_by_role("switch", name="Use my table next_word")
    switch.focus()
    page.keyboard.press("Space")  # before the table's cell has run
    page.wait_for_function("sel => !document.querySelector(sel + ' .widget-error').hidden", arg=GX)
    assert "Run the cell that defines next_word first" in page.locator(f"{GX} .widget-error").inner_text()
    gx_wait_source(page, "The table is the one in the widget's settings.")

    # "Give moon more of the probability after the, take the same from cat": the tree follows.
    number = cell_number(page, "table")
    code = cell(page, number).locator(".code-view code, .cm-content").inner_text()
    assert THE_ROW in code
    mine = code.replace(THE_ROW, '"the":    {"cat": 0.2, "dog": 0.3, "mat": 0.2, "moon": 0.3},')
    set_code(page, number, mine)
    assert run_cell(page, number) == "done"
    switch.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Space")
    gx_wait_source(page, "The table is your next_word.")
    table = {**kwargs["table"], "the": {"cat": 0.2, "dog": 0.3, "mat": 0.2, "moon": 0.3}}
    assert page.locator(f"{GX} .widget-error").is_hidden()
    assert "The table is your next_word." in page.locator(f"{GX} .gx-announce").inner_text()
    page.locator(f"{GX} .gx-next").focus()
    page.keyboard.press("Enter")
    gx_wait_drawn(page, step=1)
    assert gx_shown(page) == gx_expected({**kwargs, "table": table}, 1)

    # A row that no longer adds up to one and a word with no row: both listed, and the explorer
    # carries on with the table in its settings.
    broken = code.replace(THE_ROW, '"the":    {"cat": 0.4, "dog": 0.3, "mat": 0.2},').replace(
        '"cat":    {"sat": 0.5, "slept": 0.3, "ran": 0.2},',
        '"cat":    {"sat": 0.5, "slept": 0.3, "purred": 0.2},')
    set_code(page, number, broken)
    assert run_cell(page, number) == "done"
    page.locator(f"{GX} .gx-new-seed").click()
    gx_wait_source(page, "The table is the one in the widget's settings.")
    error = page.locator(f"{GX} .widget-error")
    assert "Your next_word cannot drive the explorer yet (2 problems)" in error.inner_text()
    assert "• The probabilities after 'the' add up to 0.9, not 1: add 0.1 to them." in error.inner_text()
    assert "• 'purred' can follow 'cat', but the table has no row for 'purred'" in error.inner_text()
    gx_wait_drawn(page, seed=1)
    assert gx_shown(page) == gx_expected({**kwargs, "seed": 1}, 1)
    assert horizontal_overflow(page) <= 0
    assert_no_axe_violations(page)
    page.emulate_media(color_scheme="dark")
    assert_no_axe_violations(page)


@pytest.mark.parametrize("name", ["my_top_k", "my_top_p"])
def test_the_top_k_and_top_p_exercises_check_the_readers_code(open_page, name):
    page = open_page(PAGE)
    number = int(page.locator(f'.exercise[data-exercise="{name}"] .cell').get_attribute("data-number"))
    assert_exercise_fails_then_passes(page, name, number, "import numpy as np\n")
