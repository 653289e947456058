"""Chapter 5 as a reader uses it: the PositionalEncodingHeatmap from the keyboard and the mouse
(each cell's value, the dot products, a bigger table), the position lab (five schemes' scores
and weights from the keyboard against CPython's lmlab, a sequence longer than the trained
length, shared links), the four exercises, axe-core in both themes, a 375 px phone and shareable
state in the URL. (Every cell's live output equal to the built one: test_prerendered.py, for
every chapter.)"""

import re
import sys

import conftest as ui
import numpy as np
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "05-position.html"


def heatmap(page):
    return page.locator('[data-widget="positional-heatmap"]')


def lmlab_heatmap(T, dim):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.position import heatmap as compute

    return compute(T, dim)


def test_the_heatmap_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    assert page.locator(".ph-grid rect.ph-pos, .ph-grid rect.ph-neg").count() == 20 * 64
    assert page.locator(".ph-legend").count() == 1
    context.close()


def test_arrow_keys_give_every_cells_value_and_the_dot_products(open_page):
    page = open_page(PAGE)
    expected = lmlab_heatmap(20, 64)
    heatmap(page).locator(".ph-map").focus()
    for key, (pos, col) in [("ArrowRight", (0, 1)), ("ArrowDown", (1, 1)), ("PageDown", (1, 9)),
                            ("ArrowDown", (2, 9)), ("End", (2, 63)), ("Home", (2, 0))]:
        page.keyboard.press(key)
        assert heatmap(page).get_attribute("data-focus") == f"{pos},{col}"
        text = heatmap(page).locator(".ph-readout").inner_text()
        assert text.startswith(f"Position {pos}, dimension {col} ")
        assert f": {expected['pe'][pos][col]:.3f}." in text
        assert f"with position 0 is {expected['dots'][pos][0]:.2f}" in text
    bars = heatmap(page).locator(".ph-dots .ph-dot")
    assert bars.count() == 20 and heatmap(page).locator(".ph-dots .ph-dot.is-self").count() == 1


def test_hover_reads_a_cell(open_page):
    page = open_page(PAGE)
    heatmap(page).locator(".ph-grid").scroll_into_view_if_needed()
    box = heatmap(page).locator(".ph-grid").bounding_box()
    page.mouse.move(box["x"] + box["width"] * (10.5 / 64), box["y"] + box["height"] * (3.5 / 20))
    assert heatmap(page).get_attribute("data-focus") == "3,10"


def test_a_bigger_table_comes_from_python_and_is_shared_in_the_url(open_page):
    page = open_page(PAGE)
    heatmap(page).locator(".ph-T").fill("40")
    heatmap(page).locator(".ph-T").dispatch_event("change")
    page.wait_for_function("() => document.querySelectorAll('.ph-grid rect.ph-pos, .ph-grid rect.ph-neg').length === 40 * 64")
    assert "T=40" in page.evaluate("location.hash")
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelectorAll('.ph-grid rect.ph-pos, .ph-grid rect.ph-neg').length === 40 * 64")


def lab(page):
    return page.locator('[data-widget="position-lab"]')


def lmlab_position_lab(**kwargs):
    lmlab_heatmap(4, 8)  # puts py/ on the path
    from lmlab.position import lab_scores, lab_weights, position_lab

    settings = {"T": 24, "trained": 16, "dim": 16, "content": "repeat", "seed": 0, "alibi_head": 2,
                **kwargs}
    exact = lab_scores(**settings)
    return position_lab(**settings), exact, {name: lab_weights(s) for name, s in exact.items()}


def assert_lab_readout(page, m, n, show="scores", **kwargs):
    """The readout at (m, n) gives each scheme's figure as CPython's lmlab computes it, at the 3
    decimals shown (clear of a rounding edge), or says the learned table has no row."""
    assert lab(page).get_attribute("data-focus") == f"{m},{n}"
    view, scores, weights = lmlab_position_lab(**kwargs)
    exact = scores if show == "scores" else weights
    text = " ".join(lab(page).locator(".pl-readout").inner_text().split())
    assert text.startswith(f"Query at position {m}")
    assert f"key at position {n} ({m - n} back)" in text
    for scheme in view["schemes"]:
        value = exact[scheme["name"]][m, n]
        if np.isnan(value):
            assert f"{scheme['label']} none: the table has no row for position {m}" in text
        else:
            shown = fixed(value, 3)
            assert f"{scheme['label']} {shown}" in text
            # the page's copy (the triangle row by row in thousandths) prints the same
            assert f"{scheme[show][m * (m + 1) // 2 + n] / 1000:.3f}" == shown


def drawn_cells(svg) -> dict[tuple[int, int], tuple[str, float | None]]:
    """(query m, key n) -> (class, fill-opacity) of every cell a panel draws: its paths are
    rectangles "M{n} {m}h{width}v1h-{width}z", a run of cells of one row."""
    paths = svg.locator(".pl-pos, .pl-neg, .pl-none").evaluate_all(
        "els => els.map(e => [e.getAttribute('class'), e.getAttribute('fill-opacity'), e.getAttribute('d')])")
    cells = {}
    for cls, opacity, d in paths:
        assert re.fullmatch(r"(M\d+ \d+h(\d+)v1h-\2z)+", d), d
        for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)", d):
            for n in range(int(x), int(x) + int(width)):
                assert (int(y), n) not in cells, "a cell drawn twice"
                cells[int(y), n] = (cls, None if opacity is None else float(opacity))
    return cells


def triangle(T: int, rows: range | None = None) -> set[tuple[int, int]]:
    return {(m, n) for m in (rows or range(T)) for n in range(m + 1)}


def test_the_position_lab_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    assert lab(page).locator(".pl-panel").count() == 5
    # 24 tokens: the 300 cells of each lower triangle; the learned panel has no row past 16
    assert set(drawn_cells(lab(page).locator(".pl-svg").first)) == triangle(24)
    learned = drawn_cells(lab(page).locator('.pl-svg[data-scheme="learned"]'))
    assert set(learned) == triangle(24)
    assert {cell for cell, (cls, _) in learned.items() if cls == "pl-none"} == triangle(24, range(16, 24))
    # each cell's colour: red above 0, blue below, |score| / the panel's largest as its opacity,
    # against CPython's lmlab (the page's opacity is in hundredths, of figures in thousandths)
    _, scores, _ = lmlab_position_lab()
    exact = scores["sinusoidal"]
    largest = np.abs(exact[np.tril_indices(24)]).max()
    for (m, n), (cls, opacity) in drawn_cells(lab(page).locator('.pl-svg[data-scheme="sinusoidal"]')).items():
        assert cls == ("pl-pos" if exact[m, n] >= 0 else "pl-neg")
        assert abs(opacity - abs(exact[m, n]) / largest) <= 0.006
    context.close()


def test_the_lab_from_the_keyboard_shows_lmlabs_numbers(open_page):
    page = open_page(PAGE)
    lab(page).locator(".pl-panels").focus()
    assert_lab_readout(page, 0, 0)
    m, n = 0, 0
    moves = {"PageDown": (8, 0), "ArrowDown": (1, 0), "ArrowRight": (0, 1)}
    for key in ["PageDown", "PageDown", "ArrowDown", "ArrowRight", "ArrowRight", "End",
                "ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown", "Home"]:
        page.keyboard.press(key)
        if key == "End":
            n = m
        elif key == "Home":
            n = 0
        else:
            m, n = m + moves[key][0], n + moves[key][1]
        assert_lab_readout(page, m, n)
    assert "past the 16 positions" in lab(page).locator(".pl-readout").inner_text()
    page.wait_for_function("() => document.querySelector('.pl-announce').textContent.startsWith('Query at')")
    # weights: the same cells through the softmax
    lab(page).locator('input[value="weights"]').check()
    assert_lab_readout(page, m, n, show="weights")


def test_a_longer_sequence_comes_from_python_and_is_shared_in_the_url(open_page):
    page = open_page(PAGE)
    lab(page).locator('input[value="random"]').check()
    page.wait_for_function("() => location.hash.includes('content=random')")
    lab(page).locator(".pl-T").fill("48")
    lab(page).locator(".pl-T").dispatch_event("change")
    page.wait_for_function("() => location.hash.includes('T=48')")
    assert set(drawn_cells(lab(page).locator(".pl-svg").first)) == triangle(48)
    lab(page).locator(".pl-head").select_option("0")
    page.wait_for_function("() => location.hash.includes('head=0')")
    lab(page).locator(".pl-panels").focus()
    for _ in range(5):
        page.keyboard.press("PageDown")
    page.keyboard.press("ArrowRight")
    assert_lab_readout(page, 40, 1, T=48, content="random", alibi_head=0)
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelector('[data-widget=position-lab]').dataset.focus === '40,1'"
                           " && document.querySelectorAll('.pl-svg')[0].getAttribute('viewBox') === '0 0 48 48'")
    assert set(drawn_cells(lab(page).locator(".pl-svg").first)) == triangle(48)
    assert_lab_readout(page, 40, 1, T=48, content="random", alibi_head=0)


def test_a_new_length_says_at_once_that_it_is_computing(open_page):
    page = open_page(PAGE)
    at_once = page.evaluate("""() => { const w = document.querySelector('[data-widget=position-lab]');
        const t = w.querySelector('.pl-T'); t.value = '30';
        t.dispatchEvent(new Event('change', { bubbles: true }));
        return [w.querySelector('.pl').getAttribute('aria-busy'), w.querySelector('.widget-status').textContent]; }""")
    assert at_once == ["true", "Computing the scores for 30 tokens..."]
    page.wait_for_function("() => location.hash.includes('T=30')")
    assert lab(page).locator(".pl").get_attribute("aria-busy") is None
    assert lab(page).locator(".widget-status").inner_text().startswith("Live:")
    assert set(drawn_cells(lab(page).locator(".pl-svg").first)) == triangle(30)


def test_hover_reads_a_cell_of_the_lab(open_page):
    page = open_page(PAGE)
    svg = lab(page).locator('.pl-svg[data-scheme="rope"]')
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    page.mouse.move(box["x"] + box["width"] * (5.5 / 24), box["y"] + box["height"] * (20.5 / 24))
    assert_lab_readout(page, 20, 5)


def test_the_heatmap_draws_the_readers_sinusoidal(open_page):
    page = open_page(PAGE)
    switch = heatmap(page).locator(".ph-mine")

    def toggle_and_wait(text):
        switch.focus()
        page.keyboard.press("Space")
        page.wait_for_function(
            "t => document.querySelector('[data-widget=positional-heatmap] .widget-status').textContent.includes(t)",
            arg=text)

    def value_at(pos, col):
        heatmap(page).locator(".ph-map").focus()
        page.keyboard.press("Home")  # dimension 0; then up to position 0
        for _ in range(20):
            page.keyboard.press("ArrowUp")
        for _ in range(col):
            page.keyboard.press("ArrowRight")
        for _ in range(pos):
            page.keyboard.press("ArrowDown")
        return heatmap(page).locator(".ph-readout strong").inner_text()

    # Not defined yet: said, and lmlab's table stays.
    switch.focus()
    page.keyboard.press("Space")
    error = heatmap(page).locator(".widget-error")
    error.wait_for(state="visible")
    assert "Run the exercise's cell that defines sinusoidal() first" in error.inner_text()
    page.keyboard.press("Space")  # off
    # Half done (the cos columns left at zero): the heatmap shows their table, not lmlab's.
    number = ui.cell_number(page, "sinusoidal_exercise")
    ui.set_code(page, number, "import numpy as np\n\ndef sinusoidal(T, d):\n"
                "    pe = np.zeros((T, d))\n"
                "    pe[:, 0::2] = np.sin(np.arange(T)[:, None] * 10000 ** (-np.arange(0, d, 2) / d))\n"
                "    return pe\n")
    ui.run_cell(page, number)
    toggle_and_wait("your sinusoidal()")
    expected = lmlab_heatmap(20, 64)
    assert value_at(3, 1) == "0.000" != f"{expected['pe'][3][1]:.3f}"
    assert value_at(3, 0) == f"{expected['pe'][3][0]:.3f}"
    toggle_and_wait("lmlab.position.heatmap")
    assert value_at(3, 1) == f"{expected['pe'][3][1]:.3f}"


@pytest.mark.parametrize("name", ["sinusoidal", "rope", "alibi", "model_input"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, f"{name}_exercise"),
                                         "import numpy as np\n")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    heatmap(page).locator(".ph-map").focus()
    page.keyboard.press("ArrowDown")
    lab(page).locator('input[value="weights"]').check()
    lab(page).locator(".pl-panels").focus()
    page.keyboard.press("PageDown")
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    box = heatmap(page).locator(".ph-grid").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    for part in (".pl-controls", ".pl-panels", ".pl-readout"):
        box = lab(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part

