"""Chapter 7's attention-matrix widget as a reader uses it: drawn before any script runs, driven
from the keyboard (a roving tabindex over the cells), every cell's weight and score equal to
CPython's lmlab.attention.attention_view at the two decimals shown, in every mode and with the
causal mask (the upper triangle zeroed), an edited sentence with a word GloVe lacks, the state
restored from the URL, axe-core in both themes and a 375 px phone."""

import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "07-attention.html"
SENTENCE = "the cat sat on the floor because it was tired"
T = 10


def widget(page):
    return page.locator('[data-widget="attention-matrix"]')


def lmlab_view(**kwargs):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.attention import attention_view

    return attention_view(**kwargs)


def wait_shown(page, mode, causal, T):
    page.wait_for_function(
        "([want]) => { const w = document.querySelector('[data-widget=attention-matrix]');"
        " return w.dataset.shown === want && !w.querySelector('[aria-busy=true]'); }",
        arg=[f"{mode},{int(causal)},{T}"])


def assert_cells_match(page, view):
    """Every cell's label gives CPython's weight and score at the two decimals the page shows."""
    labels = widget(page).locator("td.am-cell").evaluate_all(
        "cells => cells.map(c => [+c.dataset.q, +c.dataset.k, c.getAttribute('aria-label'), c.classList.contains('is-masked')])")
    T = len(view["tokens"])
    assert len(labels) == T * T
    for q, k, label, masked in labels:
        assert label.startswith(f"Query {view['tokens'][q]} (row {q + 1}), key {view['tokens'][k]} (column {k + 1}): ")
        assert masked == bool(view["masked"][q][k])
        if masked:
            assert label.endswith("masked, weight 0")
        else:
            weight, score = view["weights"][q][k], view["scores"][q][k]
            assert label.endswith(f"weight {fixed(weight, 2)}, score {fixed(score, 2)}"), label


def test_the_matrix_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    view = lmlab_view(sentence=SENTENCE)
    assert len(view["tokens"]) == T
    assert widget(page).locator("td.am-cell").count() == T * T
    assert widget(page).locator(".am-rowhead").all_inner_texts() == view["tokens"]
    assert widget(page).locator(".am-readout").is_visible()
    summary = widget(page).locator(".am-summary").inner_text()
    assert "rows sum to 1" in summary and "the scores are symmetric" in summary
    assert f"{view['self_top']} of {T} words attend most to themselves" in summary
    assert_cells_match(page, view)
    context.close()


def test_arrow_keys_move_one_focusable_cell_and_read_it(open_page):
    page = open_page(PAGE)
    view = lmlab_view(sentence=SENTENCE)
    w = widget(page)
    w.locator('td.am-cell[tabindex="0"]').focus()
    for key, (q, k) in [("ArrowRight", (0, 1)), ("ArrowDown", (1, 1)), ("ArrowDown", (2, 1)),
                        ("End", (2, 9)), ("ArrowDown", (3, 9)), ("Home", (3, 0)),
                        ("ArrowUp", (2, 0)), ("ArrowLeft", (2, 0))]:
        page.keyboard.press(key)
        assert w.get_attribute("data-focus") == f"{q},{k}"
        focused = page.evaluate("() => [document.activeElement.dataset.q, document.activeElement.dataset.k]")
        assert focused == [str(q), str(k)]
        assert w.locator('td.am-cell[tabindex="0"]').count() == 1
        text = " ".join(w.locator(".am-readout").inner_text().split())
        tokens = view["tokens"]
        assert text.startswith(f"Query “{tokens[q]}”, key “{tokens[k]}”: weight {fixed(view['weights'][q][k], 2)}, "
                               f"score {fixed(view['scores'][q][k], 2)}")
        shares = w.locator(".am-mix-value").all_inner_texts()
        assert shares == [fixed(x, 2) for x in view["weights"][q]]
        row = view["rows"][q]
        nearest = w.locator(".am-nearest").inner_text()
        assert ", ".join(f"{word} ({fixed(c, 2)})" for word, c in row["nearest"]) in nearest
        top = "itself" if row["top"] == q else f"“{tokens[row['top']]}”"
        assert w.locator(".am-summary").inner_text().startswith(
            f"“{tokens[q]}” attends most to {top} ({fixed(row['top_weight'], 2)}); rows sum to 1")
    # Tab leaves the grid in one step (one cell in the tab order), Shift+Tab comes back to the same cell
    page.keyboard.press("Tab")
    assert page.evaluate("() => !document.activeElement.closest('.am-grid')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => [document.activeElement.dataset.q, document.activeElement.dataset.k]") == ["2", "0"]
    page.wait_for_function("() => document.querySelector('.am-announce').textContent.includes('rows sum to 1')")


def test_hover_reads_a_cell(open_page):
    page = open_page(PAGE)
    cell = widget(page).locator('td.am-cell[data-q="7"][data-k="1"]')
    cell.hover()
    assert widget(page).get_attribute("data-focus") == "7,1"
    assert "Query “it”, key “cat”" in widget(page).locator(".am-readout").inner_text()


@pytest.mark.parametrize("mode", ["scaled", "projected"])
def test_modes_and_the_causal_mask_from_the_keyboard(open_page, mode):
    page = open_page(PAGE)
    w = widget(page)
    w.locator(f'input[value="{mode}"]').focus()
    page.keyboard.press("Space")
    wait_shown(page, mode, False, T)
    view = lmlab_view(sentence=SENTENCE, mode=mode)
    assert_cells_match(page, view)
    symmetric = "the scores are symmetric" if mode == "scaled" else "the scores are not symmetric"
    assert symmetric in w.locator(".am-summary").inner_text()
    assert ("not learned" in w.locator(".am-note").inner_text()) == (mode == "projected")
    w.locator(".am-causal").focus()
    page.keyboard.press("Space")
    wait_shown(page, mode, True, T)
    view = lmlab_view(sentence=SENTENCE, mode=mode, causal=True)
    assert_cells_match(page, view)
    # the upper triangle, and only it, is masked: weight 0
    masked = w.locator("td.am-cell.is-masked").evaluate_all("cells => cells.map(c => [+c.dataset.q, +c.dataset.k])")
    assert sorted(map(tuple, masked)) == [(q, k) for q in range(T) for k in range(T) if k > q]
    assert "masked cells are 0" in w.locator(".am-summary").inner_text()
    w.locator('td.am-cell[tabindex="0"]').focus()
    page.keyboard.press("ArrowRight")
    assert "masked, because the key comes after the query. Weight 0" in w.locator(".am-readout").inner_text()
    assert w.locator(".am-mix-value").all_inner_texts()[:2] == ["1.00", "masked"]


def test_an_edited_sentence_names_the_words_glove_lacks(open_page):
    page = open_page(PAGE)
    w = widget(page)
    w.locator(".am-sentence").fill("The cat sat on the mat")
    wait_shown(page, "raw", False, 5)
    view = lmlab_view(sentence="The cat sat on the mat")
    assert w.locator(".am-rowhead").all_inner_texts() == ["the", "cat", "sat", "on", "the"]
    assert "left out: “mat”" in w.locator(".am-dropped").inner_text()
    assert_cells_match(page, view)
    w.locator(".am-sentence").fill("qzxv")
    page.wait_for_function("() => !document.querySelector('[data-widget=attention-matrix] .widget-error').hidden")
    assert "none of these words" in w.locator(".widget-error").inner_text()
    assert w.locator("td.am-cell").count() == 25  # the last matrix stays


def test_the_url_fragment_restores_the_state(open_page):
    page = open_page(PAGE)
    w = widget(page)
    sentence = "the dog chased the cat because it was hungry"
    view = lmlab_view(sentence=sentence, mode="projected", causal=True)
    assert view["unknown"] == ["chased"] and len(view["tokens"]) == 8
    w.locator(".am-sentence").fill(sentence)
    w.locator('input[value="projected"]').check()
    w.locator(".am-causal").check()
    wait_shown(page, "projected", True, 8)
    w.locator('td.am-cell[tabindex="0"]').focus()
    for key in ("ArrowDown", "ArrowDown", "ArrowRight"):
        page.keyboard.press(key)
    assert w.get_attribute("data-focus") == "2,1"
    page.reload()
    ui.wait_ready_state(page)
    wait_shown(page, "projected", True, 8)
    page.wait_for_function(
        "() => document.querySelector('[data-widget=attention-matrix]').dataset.focus === '2,1'")
    assert w.locator(".am-sentence").input_value() == sentence
    assert w.locator('input[value="projected"]').is_checked() and w.locator(".am-causal").is_checked()
    assert "left out: “chased”" in w.locator(".am-dropped").inner_text()
    assert_cells_match(page, view)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    w = widget(page)
    w.locator(".am-causal").check()
    wait_shown(page, "raw", True, T)
    w.locator('td.am-cell[tabindex="0"]').focus()
    page.keyboard.press("ArrowDown")
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    # the most the widget draws: 12 words, the longest ones on the axes
    widget(page).locator(".am-sentence").fill(
        "the animal did not cross the street because it was too tired")
    wait_shown(page, "raw", False, 12)
    assert ui.horizontal_overflow(page) <= 0
    for part in (".am-controls", ".am-grid", ".am-side", ".am-readout"):
        box = widget(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
    # every cell keeps a size a finger or a pointer can find
    cell = widget(page).locator('td.am-cell[data-q="11"][data-k="11"]').bounding_box()
    assert cell["width"] >= 16 and cell["height"] >= 16
