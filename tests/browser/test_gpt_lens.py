"""Chapter 8's gpt-lens widget as a reader uses it: drawn before any script runs, the lens, the
heads and the map from the keyboard equal to CPython's lmlab.gpt_lens at the decimals shown, a new
prompt and another head computed in the page, shared in the URL fragment and restored from it,
axe-core in both themes, a 375 px phone."""

import math
import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "08-the-transformer.html"
PROMPT = "ROMEO:\nBut soft, what light"
COMPUTE = 60_000  # ms: a new prompt is read in tens of ms; generous for a loaded machine


def lens(page):
    return page.locator('[data-widget="gpt-lens"]')


def lmlab_view(prompt=PROMPT, layer=0, head=0):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.gpt_lens import lens_view

    return lens_view(prompt, layer=layer, head=head)


def text(locator) -> str:
    return " ".join(locator.inner_text().split())


def expected_summary(view, pos) -> str:
    """The summary's sentence, from the lens: the stage from which the answer stays on top."""
    at_pos = view["lens"][pos]
    stages = at_pos["stages"]
    settled = len(stages) - 1
    while settled > 0 and stages[settled - 1]["rank"] == 1:
        settled -= 1
    answer, final = f"“{at_pos['answer']}”", fixed(at_pos["answer_p"], 2)
    reading = f"Reading “{view['tokens'][pos]}” (position {pos + 1} of {len(view['tokens'])}): "
    if settled == len(stages) - 1:
        return f"{reading}only the last block settles it: the final answer {answer} {final}."
    when = "straight from the embeddings" if settled == 0 else f"after {view['stages'][settled]}"
    return (f"{reading}{when} the model already expects {answer} "
            f"({fixed(stages[settled]['p'], 2)}); the final answer {answer} {final}.")


def assert_position(page, view, pos):
    """The strip's choice, the summary, the lens table and the heads' table at pos as lmlab says."""
    widget = lens(page)
    assert widget.locator(".gl").get_attribute("data-focus").split(",")[0] == str(pos)
    checked = widget.locator('.gl-token[aria-checked="true"]')
    assert checked.count() == 1 and checked.get_attribute("data-pos") == str(pos)
    assert checked.inner_text() == view["tokens"][pos]
    assert text(widget.locator(".gl-summary")) == expected_summary(view, pos)
    rows = widget.locator(".gl-lens tbody tr")
    at_pos = view["lens"][pos]
    assert rows.count() == len(view["stages"]) == view["n_layer"] + 1
    for s, stage in enumerate(at_pos["stages"]):
        row = rows.nth(s)
        assert text(row.locator("th")) == view["stages"][s]
        chips = [" ".join(c.split()) for c in row.locator(".gl-tops li").all_inner_texts()]
        assert chips == [f"{piece} {fixed(p, 2)}" for piece, p in stage["top"]]
        marked = row.locator("mark").all_inner_texts()
        assert [m.split()[0] for m in marked] == \
            [piece for piece, _ in stage["top"] if piece == at_pos["answer"]]
        assert text(row.locator(".gl-final")) == f"{fixed(stage['p'], 2)} (#{stage['rank']})"
        assert text(row.locator(".gl-norm")) == fixed(stage["norm"], 1)
    looks = widget.locator(".gl-looks tbody tr")
    for layer in range(view["n_layer"]):
        cells = [" ".join(c.split()) for c in looks.nth(layer).locator("td").all_inner_texts()]
        assert cells == [f"{view['tokens'][key]} {fixed(w, 2)}"
                         for key, w in view["looks"][pos][layer]]


def assert_cell(page, view, pos, k):
    assert lens(page).locator(".gl").get_attribute("data-focus") == f"{pos},{k}"
    w = view["attention"][pos][k]
    tokens = view["tokens"]
    assert text(lens(page).locator(".gl-readout")) == (
        f"Block {view['layer'] + 1}, head {view['head'] + 1}: position {pos + 1} (“{tokens[pos]}”) "
        f"gives position {k + 1} (“{tokens[k]}”) weight {fixed(w, 2)}.")


def test_the_lens_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    view = lmlab_view()
    T = len(view["tokens"])
    assert lens(page).locator(".gl-token").all_inner_texts() == view["tokens"]
    assert "".join(view["tokens"]) == "ROMEO:↵But␣soft,␣what␣light"
    assert lens(page).locator(".gl-prompt").input_value() == PROMPT
    assert lens(page).locator(".gl-cropped").is_hidden()
    assert_position(page, view, T - 1)
    # the map: the lower triangle only, each weight an opacity in hundredths
    paths = lens(page).locator(".gl-cells path").evaluate_all(
        "els => els.map(e => [e.getAttribute('fill-opacity'), e.getAttribute('d')])")
    drawn = {}
    for opacity, d in paths:
        for cell in d.split("M")[1:]:
            k, q = (int(v) for v in cell.split("h")[0].split())
            drawn[(q, k)] = opacity
    weights = view["attention"]
    expected = {(q, k): f"{math.floor(weights[q][k] * 100 + 0.5) / 100:.2f}"  # as JS rounds
                for q in range(T) for k in range(q + 1) if weights[q][k] >= 0.005}
    assert drawn == expected
    context.close()


def test_the_keyboard_chooses_positions_and_cells(open_page):
    page = open_page(PAGE)
    view = lmlab_view()
    T = len(view["tokens"])
    lens(page).locator('.gl-token[tabindex="0"]').focus()
    pos = T - 1
    for key in ["ArrowLeft", "ArrowLeft", "ArrowUp", "Home", "ArrowRight", "End", "ArrowLeft"]:
        page.keyboard.press(key)
        pos = {"Home": 0, "End": T - 1}.get(key, pos + (1 if key == "ArrowRight" else -1))
        pos = max(0, min(T - 1, pos))
        assert page.evaluate("() => document.activeElement.dataset.pos") == str(pos)
        assert_position(page, view, pos)
    # said politely, once the keys rest
    page.wait_for_function("(said) => document.querySelector('.gl-announce').textContent === said",
                           arg=expected_summary(view, pos))
    assert f"-pos={pos}" in page.url
    # the map: Up and Down move the position (the lens follows), Left and Right the key
    lens(page).locator(".gl-map").focus()
    k = 0
    for key in ["ArrowUp", "ArrowUp", "ArrowRight", "ArrowRight", "End", "ArrowLeft", "ArrowDown"]:
        page.keyboard.press(key)
        if key == "ArrowUp":
            pos -= 1
        elif key == "ArrowDown":
            pos += 1
        k = {"ArrowRight": k + 1, "ArrowLeft": k - 1, "End": pos}.get(key, k)
        k = min(k, pos)
        assert_cell(page, view, pos, k)
    assert_position(page, view, pos)
    assert f"-k={k}" in page.url


def test_another_head_and_a_new_prompt_come_from_python_and_are_shared(open_page):
    page = open_page(PAGE)
    widget = lens(page)
    widget.locator(".gl-layer").select_option("2")
    page.wait_for_function("() => document.querySelector('[data-widget=gpt-lens] .gl').dataset.shown.endsWith(',2,0')",
                           timeout=COMPUTE)
    widget.locator(".gl-head").select_option("1")
    page.wait_for_function("() => document.querySelector('[data-widget=gpt-lens] .gl').dataset.shown.endsWith(',2,1')",
                           timeout=COMPUTE)
    view = lmlab_view(layer=2, head=1)
    T = len(view["tokens"])
    assert_cell(page, view, T - 1, 0)
    assert widget.locator(".gl-looks td.is-chosen").count() == 1
    prompt = "JULIET:\nO Romeo, Romeo! wherefore art thou"
    widget.locator(".gl-prompt").fill(prompt)
    view = lmlab_view(prompt, layer=2, head=1)
    T = len(view["tokens"])
    page.wait_for_function(f"() => document.querySelector('[data-widget=gpt-lens] .gl').dataset.shown === '{T},2,1'",
                           timeout=COMPUTE)
    assert widget.locator(".widget-status").inner_text().startswith("Live:")
    assert_position(page, view, T - 1)
    widget.locator('.gl-token[tabindex="0"]').focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    widget.locator(".gl-map").focus()
    page.keyboard.press("ArrowRight")
    assert_position(page, view, T - 4)
    assert_cell(page, view, T - 4, 1)
    assert "-layer=3" in page.url and "-head=2" in page.url and f"-pos={T - 4}" in page.url
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function(f"() => document.querySelector('[data-widget=gpt-lens] .gl').dataset.shown === '{T},2,1'",
                           timeout=COMPUTE)
    assert widget.locator(".gl-prompt").input_value() == prompt
    assert widget.locator(".gl-layer").input_value() == "2"
    assert_position(page, view, T - 4)
    assert_cell(page, view, T - 4, 1)


def test_a_long_prompt_is_cropped_and_says_so(open_page):
    page = open_page(PAGE)
    prompt = "To be, or not to be, that is the question:\n" * 4
    view = lmlab_view(prompt)
    assert view["dropped"] > 0
    lens(page).locator(".gl-prompt").fill(prompt)
    page.wait_for_function("() => document.querySelector('[data-widget=gpt-lens] .gl').dataset.shown.startsWith('64,')",
                           timeout=COMPUTE)
    assert text(lens(page).locator(".gl-cropped")) == (
        f"The model reads at most 64 tokens: the first {view['dropped']} of this prompt are left out.")
    assert lens(page).locator(".gl-token").all_inner_texts() == view["tokens"]
    assert_position(page, view, 63)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    lens(page).locator('.gl-token[tabindex="0"]').focus()
    page.keyboard.press("ArrowLeft")
    lens(page).locator(".gl-map").focus()
    page.keyboard.press("ArrowLeft")
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    for part in (".gl-prompt", ".gl-strip", ".gl-summary", ".gl-lens", ".gl-looks", ".gl-map",
                 ".gl-readout"):
        box = lens(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
