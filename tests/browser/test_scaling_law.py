"""Chapter 9's ScalingLaw widget as a reader uses it: drawn before any script runs, the budget and
size sliders and the presets from the keyboard with every readout equal to CPython's
lmlab.scaling.scaling_view (at the precision shown), the state in the URL, axe-core in both
themes, a 375 px phone."""

import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "09-from-gpt-to-chatgpt.html"
KEYS = ["gpt3", "gopher", "chinchilla", "llama2-7b", "llama3-8b", "book"]


def scaling_view(*args, **kwargs):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.scaling import scaling_view as compute

    return compute(*args, **kwargs)


def widget(page):
    return page.locator('[data-widget="scaling-law"]')


def texts(locator) -> list[str]:
    return [" ".join(t.split()) for t in locator.all_inner_texts()]


def size_text(view) -> str:
    chosen = view["chosen"]
    return f"{chosen['params_text']} parameters ({fixed(10 ** chosen['size_vs_optimum'], 2)} × the optimum)"


def assert_shows(page, view):
    """Every readout is the one scaling_view computed with CPython, as printed."""
    w = widget(page)
    chosen, optimum = view["chosen"], view["optimum"]
    assert texts(w.locator(".sl-c-value")) == [view["compute_text"]]
    assert texts(w.locator(".sl-words")) == [f"About {view['compute_words']} at full speed."]
    assert texts(w.locator(".sl-n-value")) == [size_text(view)]
    assert texts(w.locator(".sl-readouts td")) == [
        chosen["params_text"], chosen["tokens_text"], chosen["tokens_per_param_text"],
        fixed(chosen["loss"], 3), fixed(optimum["loss"], 3), fixed(view["rule"]["loss"], 3)]  # fmt: skip
    assert texts(w.locator(".sl-readouts th"))[-2:] == [
        f"Loss at the optimum ({optimum['params_text']} parameters, "
        f"{optimum['tokens_per_param_text']} tokens each)",
        f"Loss with 20 tokens per parameter ({view['rule']['params_text']} parameters)"]
    assert texts(w.locator(".sl-note")) == ([view["note"]] if view["note"] else [""])
    pressed = w.locator('.sl-preset[aria-pressed="true"]')
    assert [b.get_attribute("data-model") for b in pressed.all()] == (
        [view["matches"]] if view["matches"] else [])
    # the valley: one point per size, the optimum and the chosen size marked; every model plotted
    assert w.locator(".sl-curve").get_attribute("points").count(",") == len(view["valley"]["loss"])
    for mark in (".sl-opt", ".sl-chosen", ".sl-rule-mark"):
        assert w.locator(f".sl-valley {mark}").count() == 1, mark
    assert w.locator(".sl-model text").all_text_contents() == [m["name"] for m in view["models"]]
    assert "too small: not enough capacity" in w.locator(".sl-valley").text_content()
    assert "too big: too few tokens" in w.locator(".sl-valley").text_content()


def wait_shows(page, view):
    """Until the widget shows this view's budget and size, then everything else of it."""
    page.wait_for_function(
        """([c, n]) => document.querySelector('.sl-c-value').textContent === c
                       && document.querySelector('.sl-n-value').textContent === n""",
        arg=[view["compute_text"], size_text(view)])
    assert_shows(page, view)


def slider_value(page, cls) -> float:
    return float(widget(page).locator(cls).input_value())


def test_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    assert_shows(page, scaling_view(model="chinchilla"))
    assert widget(page).locator(".sl-preset:disabled").count() == len(KEYS)
    assert widget(page).locator("input[type=range]:disabled").count() == 2
    context.close()


def test_sliders_from_the_keyboard(open_page):
    page = open_page(PAGE)
    start = scaling_view(model="chinchilla")
    assert_shows(page, start)
    compute = widget(page).locator(".sl-compute")
    compute.focus()
    before = slider_value(page, ".sl-compute")  # Chinchilla's 23.77, on the slider's 0.1 steps
    page.keyboard.press("ArrowRight")
    after = slider_value(page, ".sl-compute")
    assert after == pytest.approx(before + 0.1)
    # a new budget keeps the model's place in its valley (Chinchilla's 2.15x the optimum)
    bigger = scaling_view(after, size_vs_optimum=start["chosen"]["size_vs_optimum"])
    wait_shows(page, bigger)
    assert bigger["optimum"]["params"] > start["optimum"]["params"]
    widget(page).locator(".sl-size").focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    offset = slider_value(page, ".sl-size")
    assert offset == pytest.approx(0.25)  # 0.33 shown as 0.35, two steps of 0.05 down
    smaller = scaling_view(after, size_vs_optimum=offset)
    wait_shows(page, smaller)
    page.keyboard.press("Home")  # the smallest size: 1/100 of the optimum
    tiny = scaling_view(after, size_vs_optimum=-2)
    wait_shows(page, tiny)
    assert tiny["chosen"]["loss"] > smaller["chosen"]["loss"]
    compute.focus()
    page.keyboard.press("End")
    wait_shows(page, scaling_view(26, size_vs_optimum=-2))
    page.wait_for_function("t => document.querySelector('.sl-announce').textContent === t",
                           arg=scaling_view(26, size_vs_optimum=-2)["summary"])
    assert widget(page).locator(".widget-error").is_hidden()


def test_presets_from_the_keyboard(open_page):
    page = open_page(PAGE)
    widget(page).locator('.sl-preset[data-model="gpt3"]').focus()
    page.keyboard.press("Enter")
    wait_shows(page, scaling_view(model="gpt3"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.model") == "gopher"
    page.keyboard.press("Space")
    gopher = scaling_view(model="gopher")
    wait_shows(page, gopher)
    assert gopher["compute_text"] == "5.0e23 FLOPs (Gopher)"
    for _ in range(3):
        page.keyboard.press("Tab")  # past Chinchilla and Llama 2 7B to Llama 3 8B
    page.keyboard.press("Enter")
    llama = scaling_view(model="llama3-8b")
    wait_shows(page, llama)
    assert llama["chosen"]["tokens_per_param_text"] == "1,880"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    book = scaling_view(model="book")
    wait_shows(page, book)
    assert book["chosen"]["params_text"] == "502.8 k" and "extrapolation" in book["note"]


def test_the_state_is_shared_in_the_url(open_page):
    page = open_page(PAGE)
    widget(page).locator('.sl-preset[data-model="llama2-7b"]').click()
    page.wait_for_function("() => location.hash.includes('model=llama2-7b')")
    page.reload()
    ui.wait_ready_state(page)
    wait_shows(page, scaling_view(model="llama2-7b"))
    size = widget(page).locator(".sl-size")
    size.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.hash.includes('-c=') && location.hash.includes('-n=')")
    shared = dict(part.split("=") for part in page.evaluate("location.hash.slice(1)").split("&"))
    c, n = float(shared["w1-c"]), float(shared["w1-n"])
    llama = scaling_view(model="llama2-7b")
    assert c == pytest.approx(llama["log10_compute"], abs=1e-4)  # written to 4 decimals
    assert n == slider_value(page, ".sl-size") == pytest.approx(-0.25)
    wait_shows(page, scaling_view(llama["log10_compute"], size_vs_optimum=n))
    page.reload()
    ui.wait_ready_state(page)
    wait_shows(page, scaling_view(c, size_vs_optimum=n))
    assert widget(page).locator('.sl-preset[aria-pressed="true"]').count() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    widget(page).locator('.sl-preset[data-model="book"]').click()
    wait_shows(page, scaling_view(model="book"))
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    widget(page).locator('.sl-preset[data-model="gopher"]').click()
    wait_shows(page, scaling_view(model="gopher"))
    assert ui.horizontal_overflow(page) <= 0
    spill = widget(page).locator(".sl-readouts td").evaluate_all(
        "tds => tds.filter(td => td.scrollWidth > td.clientWidth).map(td => td.textContent)")
    assert spill == []
    for part in (".sl-presets", ".sl-compute", ".sl-size", ".sl-readouts", ".sl-valley", ".sl-frontier"):
        box = widget(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
