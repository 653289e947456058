"""Chapter 7's attention-heads widget as a reader uses it: drawn before any script runs, the maps
and the next-character probabilities from the keyboard and the mouse equal to CPython's lmlab at
the decimals shown, a head switched off and a new name computed in the page (which trains the
model there first), shared in the URL fragment, axe-core in both themes, a 375 px phone."""

import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "07-attention.html"
TRAINING = 240_000  # ms: the first call trains the model in the page (some seconds; more under load)


def heads(page):
    return page.locator('[data-widget="attention-heads"]')


def lmlab_view(name="emma", off=()):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.attention_lm import heads_view

    return heads_view(name, off=list(off))


def text(locator) -> str:
    return " ".join(locator.inner_text().split())


def assert_focus(page, q, k, name="emma", off=()):
    """The readout and the next characters at (q, k) as CPython's lmlab computes them."""
    assert heads(page).get_attribute("data-focus") == f"{q},{k}"
    view = lmlab_view(name, off)
    readout = text(heads(page).locator(".ah-readout"))
    so = "".join(view["tokens"][: q + 1])
    assert readout.startswith(f'Position {q} (having read "{so}") looks at position {k}')
    for h in range(view["n_head"]):
        assert f"head {h + 1} {fixed(view['weights'][h][q][k], 3)}" in readout
    rows = heads(page).locator(".ah-next-list li").all_inner_texts()
    probs = view["probs"][q]
    order = sorted(range(len(probs)), key=lambda i: -probs[i])[:5]
    truth = view["vocab"].index(view["targets"][q])
    if truth not in order:
        order.append(truth)
    assert len(rows) == len(order)
    for row, i in zip(rows, order, strict=True):
        char = view["vocab"][i]
        words = row.split()
        assert words[-1 if i != truth else -3] == fixed(probs[i], 3)
        assert (char == "." and "end mark" in row) or words[0] == char
        assert ("(comes next)" in row) == (i == truth)
    assert f"(loss here {fixed(view['nll'][q], 4)})" in text(heads(page).locator(".ah-next-title"))


def assert_losses(page, name="emma", off=()):
    view = lmlab_view(name, off)
    loss = text(heads(page).locator(".ah-loss"))
    assert loss.startswith(f'"{name}": {fixed(view["loss"], 4)} per character')
    assert f"Held-out names: {fixed(view['held_out_all'], 4)} per character" in loss
    if off:
        assert f"; {fixed(view['held_out'], 4)} with head" in loss


def test_the_heads_are_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    view = lmlab_view()
    H, T = view["n_head"], len(view["tokens"])
    assert heads(page).locator(".ah-panel").count() == H
    for h in range(H):
        cells = heads(page).locator(".ah-map").nth(h).locator(".ah-cells rect")
        drawn = cells.evaluate_all(
            "els => els.map(e => [+e.getAttribute('y'), +e.getAttribute('x'), e.getAttribute('fill-opacity')])")
        # the lower triangle only: no cell above the diagonal, each weight at 3 decimals
        assert sorted((q, k) for q, k, _ in drawn) == [(q, k) for q in range(T) for k in range(q + 1)]
        for q, k, opacity in drawn:
            assert opacity == fixed(view["weights"][h][q][k], 3)
    assert_losses(page)
    summary = heads(page).locator(".ah-summary li").all_inner_texts()
    ablation = view["ablation"]
    assert len(summary) == H
    for h, line in enumerate(summary):
        share = round(ablation["looked_at"]["top"][h]["share"] * 100)
        assert line.startswith(f"Head {h + 1} looks at ") and f" in {share}% of positions" in line
        assert line.endswith(f"by {fixed(ablation['without'][h] - ablation['all'], 4)}.")
    context.close()


def test_the_keyboard_and_the_mouse_read_every_head(open_page):
    page = open_page(PAGE)
    heads(page).locator(".ah-panels").focus()
    assert_focus(page, 0, 0)
    q, k = 0, 0
    moves = {"ArrowDown": (1, 0), "ArrowRight": (0, 1), "ArrowLeft": (0, -1), "ArrowUp": (-1, 0)}
    for key in ["ArrowDown", "ArrowDown", "ArrowRight", "ArrowDown", "ArrowDown", "ArrowDown",
                "End", "ArrowLeft", "ArrowUp", "Home"]:
        page.keyboard.press(key)
        if key == "End":
            k = q
        elif key == "Home":
            k = 0
        else:
            q = min(4, max(0, q + moves[key][0]))
            k = min(q, max(0, k + moves[key][1]))
        assert_focus(page, q, k)
    page.wait_for_function("() => document.querySelector('.ah-announce').textContent.startsWith('Position')")
    assert f"-q={q}" in page.url and f"-k={k}" in page.url
    svg = heads(page).locator(".ah-map").nth(2)
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    # the viewBox has one unit of margin for the characters, then the 5 x 5 cells
    page.mouse.move(box["x"] + box["width"] * (2.5 / 6), box["y"] + box["height"] * (4.5 / 6))
    assert_focus(page, 3, 1)


def test_a_head_switched_off_and_a_new_name_come_from_python_and_are_shared(open_page):
    page = open_page(PAGE)
    ablation = lmlab_view()["ablation"]
    worst = max(range(ablation["n_head"]), key=lambda h: ablation["without"][h])
    busy = page.evaluate("""(h) => { const w = document.querySelector('[data-widget=attention-heads]');
        w.querySelectorAll('.ah-head')[h].click();
        return [w.querySelector('.ah').getAttribute('aria-busy'), w.querySelector('.widget-status').textContent]; }""",
                         worst)
    assert busy[0] == "true" and busy[1].startswith("Training the attention model in your browser")
    page.wait_for_function(f"() => document.querySelector('[data-widget=attention-heads]').dataset.off === '{worst}'",
                           timeout=TRAINING)
    assert heads(page).locator(".widget-status").inner_text().startswith("Live:")
    assert heads(page).locator(".ah-panel").nth(worst).get_attribute("class") == "ah-panel is-off"
    assert_losses(page, off=[worst])
    heads(page).locator(".ah-panels").focus()
    for key in ["ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight"]:
        page.keyboard.press(key)
    assert_focus(page, 3, 1, off=[worst])
    heads(page).locator(".ah-name").fill("sebastian")
    page.wait_for_function("() => document.querySelector('[data-widget=attention-heads]').dataset.name === 'sebastian'",
                           timeout=TRAINING)
    assert_losses(page, "sebastian", off=[worst])
    assert_focus(page, 3, 1, "sebastian", off=[worst])
    assert heads(page).locator(".ah-map").first.locator(".ah-cells rect").count() == 10 * 11 // 2
    assert f"-off={worst + 1}" in page.url and "-name=sebastian" in page.url
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelector('[data-widget=attention-heads]').dataset.name === 'sebastian'",
                           timeout=TRAINING)
    assert heads(page).locator(".ah-head").nth(worst).is_checked() is False
    assert_focus(page, 3, 1, "sebastian", off=[worst])
    assert_losses(page, "sebastian", off=[worst])


def test_a_name_it_cannot_read_says_why(open_page):
    page = open_page(PAGE)
    heads(page).locator(".ah-name").fill("zoë")
    error = heads(page).locator(".widget-error")
    error.wait_for(state="visible", timeout=TRAINING)
    assert "not in the vocabulary" in error.inner_text()
    assert heads(page).get_attribute("data-name") == "emma"  # the last good drawing stays


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    heads(page).locator(".ah-panels").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    for part in (".ah-controls", ".ah-panels", ".ah-readout", ".ah-next", ".ah-summary"):
        box = heads(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
    # the maps wrap: two to a row, not four squeezed into one
    tops = {round(heads(page).locator(".ah-panel").nth(h).bounding_box()["y"]) for h in range(4)}
    assert len(tops) == 2
