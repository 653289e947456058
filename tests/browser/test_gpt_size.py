"""Chapter 8's GptSize widget as a reader uses it: drawn before any script runs, presets and
settings from the keyboard with every figure equal to CPython's lmlab.model_size.size_view,
settings that make no GPT explained (and the last good numbers kept), the state in the URL,
axe-core in both themes, a 375 px phone."""

import sys

import conftest as ui
import pytest

REPO = ui.REPO
PAGE = "08-the-transformer.html"
BATCH = 8  # the chapter's directive


def size_view(preset="gpt2", **kwargs):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.model_size import size_view as compute

    return compute(preset, batch=kwargs.pop("batch", BATCH), **kwargs)


def widget(page):
    return page.locator('[data-widget="gpt-size"]')


def texts(locator) -> list[str]:
    return [" ".join(t.split()) for t in locator.all_inner_texts()]


def assert_shows(page, view):
    """Every figure the widget shows is the one size_view computed with CPython."""
    w = widget(page)
    total = texts(w.locator(".gs-total"))[0]
    s = view["settings"]
    assert total.startswith(f"{view['total']:,} parameters ({view['total_text']}): "
                            f"{view['per_block']:,} in each of {s['n_layer']:,} block")
    legend = texts(w.locator(".gs-legend li"))
    assert len(legend) == 5
    for line, part in zip(legend, view["parts"], strict=True):
        assert line.startswith(f"{part['label']} {part['text']} {part['share_text']}"), line
    widths = w.locator(".gs-bar rect").evaluate_all("rs => rs.map(r => Number(r.getAttribute('width')))")
    assert widths == pytest.approx([p["share"] * 1000 for p in view["parts"] if p["params"]], abs=0.006)
    memory, flops = w.locator(".gs-table").all()
    assert texts(memory.locator("th")) == [row["label"] for row in view["memory"]]
    assert texts(memory.locator("td")) == [row["text"] for row in view["memory"]]
    assert texts(flops.locator("td")) == [view["flops"]["text"][key]
                                          for key in ("matmul", "attention", "total", "training", "six_n")]
    regimes = texts(w.locator(".gs-regimes li"))
    for line, case in zip(regimes, view["intensity"]["cases"], strict=True):
        assert f"does {case['intensity_text']} FLOPs per byte" in line
        assert f"(the ridge is {view['intensity']['ridge_text']})" in line
        assert f"{case['bound']}-bound" in line
        if case["bound"] == "memory":
            assert f"at most {case['peak_share_text']} of the" in line
    assert view["intensity"]["token_seconds_text"] in texts(w.locator(".gs-note"))[0]
    pressed = w.locator('.gs-preset[aria-pressed="true"]')
    assert [b.get_attribute("data-preset") for b in pressed.all()] == (
        [view["matches"]] if view["matches"] else [])
    fields = w.locator(".gs-input").evaluate_all("is => is.map(i => [i.dataset.field, Number(i.value)])")
    assert dict(fields) == view["settings"]


def assert_figures_fit(page):
    """No figure in the tables runs out of its cell (they do not wrap)."""
    spill = widget(page).locator(".gs-table td").evaluate_all(
        "tds => tds.filter(td => td.scrollWidth > td.clientWidth).map(td => td.textContent)")
    assert spill == []


def wait_drawn(page, total):
    page.wait_for_function("t => document.querySelector('.gs-total strong').textContent === t",
                           arg=f"{total:,}")


def type_into(page, field, value):
    """Focus a setting, replace its text as typed keys, and Tab out (which commits it)."""
    widget(page).locator(f'.gs-input[data-field="{field}"]').focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(str(value))
    page.keyboard.press("Tab")


def test_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    assert_shows(page, size_view())
    assert widget(page).locator(".gs-preset:disabled").count() == 6
    context.close()


def test_presets_from_the_keyboard(open_page):
    page = open_page(PAGE)
    assert_shows(page, size_view())
    widget(page).locator('.gs-preset[data-preset="book"]').focus()
    page.keyboard.press("Enter")
    book = size_view("book")
    wait_drawn(page, book["total"])
    assert_shows(page, book)
    assert_figures_fit(page)
    page.wait_for_function("t => document.querySelector('.gs-announce').textContent === t",
                           arg=book["summary"])
    for _ in range(5):
        page.keyboard.press("Tab")  # past the four GPT-2 sizes to GPT-3
    assert page.evaluate("document.activeElement.dataset.preset") == "gpt3"
    page.keyboard.press("Space")
    gpt3 = size_view("gpt3")
    wait_drawn(page, gpt3["total"])
    assert_shows(page, gpt3)
    assert "GPT-3" in widget(page).locator('.gs-preset[aria-pressed="true"]').inner_text()


def test_settings_and_the_tie_switch_from_the_keyboard(open_page):
    page = open_page(PAGE)
    type_into(page, "n_layer", 24)
    wait_drawn(page, size_view(n_layer=24)["total"])
    type_into(page, "n_embd", 1024)
    page.wait_for_selector('.gs-input[data-field="n_head"][aria-invalid="true"]')  # 1024 / 12
    type_into(page, "n_head", 16)
    medium = size_view(n_layer=24, n_embd=1024, n_head=16)
    wait_drawn(page, medium["total"])
    assert_shows(page, medium)  # GPT-2 medium's shape: its button is pressed
    widget(page).locator(".gs-tie-box").focus()
    page.keyboard.press("Space")
    untied = size_view(n_layer=24, n_embd=1024, n_head=16, tie_weights=False)
    wait_drawn(page, untied["total"])
    assert_shows(page, untied)
    type_into(page, "block_size", 4096)
    type_into(page, "batch", 32)
    longer = size_view(n_layer=24, n_embd=1024, n_head=16, tie_weights=False, block_size=4096,
                       batch=32)
    page.wait_for_function("() => location.hash.includes('batch=32')")
    assert_shows(page, longer)


def test_settings_that_make_no_gpt_are_explained(open_page):
    page = open_page(PAGE)
    problems = widget(page).locator(".gs-problems")
    type_into(page, "n_head", 7)
    problems.wait_for(state="visible")
    bad = size_view(n_head=7)
    assert texts(problems.locator("li")) == [p["message"] for p in bad["problems"]]
    assert "768 numbers do not split into 7 equal heads" in problems.inner_text()
    page.wait_for_function("t => document.querySelector('.gs-announce').textContent === t",
                           arg=bad["problems"][0]["message"])
    assert widget(page).locator(".gs-results.is-stale").count() == 1
    assert_total = texts(widget(page).locator(".gs-total"))[0]
    assert assert_total.startswith("124,439,808 parameters")  # the last good numbers stay
    type_into(page, "n_layer", 0)
    type_into(page, "vocab_size", "")
    # out of range first: whether heads divide the width is asked of whole numbers in range
    page.wait_for_function("() => document.querySelectorAll('.gs-problem-list li').length === 2")
    worse = size_view(n_head=7, n_layer=0, vocab_size=float("nan"))
    assert [p["field"] for p in worse["problems"]] == ["n_layer", "vocab_size"]
    assert texts(problems.locator("li")) == [p["message"] for p in worse["problems"]]
    invalid = widget(page).locator('.gs-input[aria-invalid="true"]')
    assert sorted(i.get_attribute("data-field") for i in invalid.all()) == ["n_layer", "vocab_size"]
    for field, value in [("n_layer", 12), ("vocab_size", 50257), ("n_head", 8)]:
        type_into(page, field, value)
    fixed = size_view(n_head=8)  # as many parameters as 12 heads: wait for the problems to go
    problems.wait_for(state="hidden")
    assert widget(page).locator(".gs-results.is-stale").count() == 0
    assert widget(page).locator('.gs-input[aria-invalid="true"]').count() == 0
    assert_shows(page, fixed)
    assert widget(page).locator(".widget-error").is_hidden()


def test_the_state_is_shared_in_the_url(open_page):
    page = open_page(PAGE)
    widget(page).locator('.gs-preset[data-preset="gpt2-xl"]').click()
    type_into(page, "block_size", 2048)
    widget(page).locator(".gs-tie-box").uncheck()
    page.wait_for_function("() => location.hash.includes('tie=0') && location.hash.includes('block_size=2048')")
    assert "preset=gpt2-xl" in page.evaluate("location.hash")
    page.reload()
    ui.wait_ready_state(page)
    expected = size_view("gpt2-xl", block_size=2048, tie_weights=False)
    wait_drawn(page, expected["total"])
    assert_shows(page, expected)
    assert not widget(page).locator(".gs-tie-box").is_checked()


def test_a_setting_typed_before_python_answers_a_preset_changes_that_preset(open_page):
    # A preset fills the fields the moment it is chosen: a setting the reader types next, before
    # Python has answered (here Python is busy with a cell for two seconds), changes the preset's
    # shape, not the one shown before it.
    page = open_page(PAGE)
    ui.set_code(page, 1, "import time\ntime.sleep(2)")
    ui.cell(page, 1).locator(".cell-run").click()
    page.wait_for_selector('.cell[data-number="1"][data-state=running]')
    widget(page).locator('.gs-preset[data-preset="gpt2-xl"]').click()
    type_into(page, "block_size", 2048)
    assert ui.cell(page, 1).get_attribute("data-state") == "running"
    expected = size_view("gpt2-xl", block_size=2048)
    wait_drawn(page, expected["total"])
    assert_shows(page, expected)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    widget(page).locator('.gs-preset[data-preset="gpt3"]').click()
    type_into(page, "n_head", 7)
    widget(page).locator(".gs-problems").wait_for(state="visible")
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    widget(page).locator('.gs-preset[data-preset="gpt3"]').click()
    wait_drawn(page, size_view("gpt3")["total"])
    assert ui.horizontal_overflow(page) <= 0
    assert_figures_fit(page)
    for part in (".gs-presets", ".gs-settings", ".gs-bar", ".gs-legend", ".gs-tables", ".gs-regimes"):
        box = widget(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
