"""Chapter 6 as a reader uses it: the gradient-through-time widget drawn before any script, worked
from the keyboard against CPython's lmlab, shared in the URL. (Its exercises:
test_chapter_exercises.py; axe in both themes and at 375 px: test_book.py, for every chapter;
every cell's live output equal to the built one: test_prerendered.py, for every chapter.)"""

import sys

import conftest as ui
import pytest

REPO = ui.REPO
PAGE = "06-neural-next-token-prediction.html"


def widget(page):
    return page.locator('[data-widget="gradient-through-time"]')


def lmlab_gradients(steps: int, weight_scale: float) -> dict:
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.rnn import vanishing_gradients

    return vanishing_gradients(steps=steps, weight_scale=weight_scale, seed=0)


def amount(x: float) -> str:
    """A gradient norm as the widget prints it (gradient-through-time.js amount())."""
    if x == 0:
        return "0"
    if 1e-2 <= x < 1e4:
        rounded = float(f"{x:.2g}")
        return str(int(rounded)) if rounded.is_integer() else str(rounded)
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def expected_readout(state: dict, at: int) -> str:
    return (f"the RNN's hidden state gets {amount(state['rnn'][at - 1])} of the gradient, "
            f"the LSTM's {amount(state['lstm'][at - 1])} "
            f"(its forget gate averages {state['mean_forget']:.2f}).")


def test_the_widget_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    assert widget(page).locator(".gt-chart polyline.gt-rnn").count() == 1
    assert widget(page).locator(".gt-chart polyline.gt-lstm").count() == 1
    text = widget(page).locator(".gt-readout").inner_text()
    assert text.startswith("Step 1, 99 steps before the last: ")
    assert text.endswith(expected_readout(lmlab_gradients(100, 1.0), 1))
    context.close()


def test_the_scale_and_the_step_from_the_keyboard_against_lmlab(open_page):
    page = open_page(PAGE)
    scale = widget(page).locator(".gt-scale")
    scale.focus()
    for _ in range(2):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "() => document.querySelector('[data-widget=gradient-through-time]').dataset.scale === '0.90'")
    state = lmlab_gradients(100, 0.9)
    readout = widget(page).locator(".gt-readout")
    assert readout.inner_text().endswith(expected_readout(state, 1))
    assert state["rnn"][0] < 1e-5 < 0.1 < state["lstm"][0]  # vanishes in the RNN, not the LSTM
    at = widget(page).locator(".gt-at-input")
    at.focus()
    page.keyboard.press("End")
    assert readout.inner_text() == "Step 100, the last: " + expected_readout(state, 100)
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert readout.inner_text().startswith("Step 97, 3 steps before the last: ")
    assert readout.inner_text().endswith(expected_readout(state, 97))
    # Fewer steps: the step slider's range follows.
    widget(page).locator(".gt-steps").focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        "() => document.querySelector('[data-widget=gradient-through-time] .gt-at-input').max === '10'")
    assert widget(page).locator(".gt-steps-value").inner_text() == "10"
    assert widget(page).locator(".gt-readout").inner_text().endswith(
        expected_readout(lmlab_gradients(10, 0.9), 10))
    page.wait_for_function(
        "() => document.querySelector('[data-widget=gradient-through-time] .gt-announce').textContent !== ''")


def test_the_setting_is_shared_in_the_url(open_page):
    page = open_page(PAGE)
    widget(page).locator(".gt-scale").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('[data-widget=gradient-through-time]').dataset.scale === '1.05'")
    page.wait_for_function("() => location.hash.includes('scale=1.05')")  # once the reader pauses
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function(
        "() => document.querySelector('[data-widget=gradient-through-time]').dataset.scale === '1.05'")
    assert widget(page).locator(".gt-readout").inner_text().endswith(
        expected_readout(lmlab_gradients(100, 1.05), 1))


def valley(page):
    return page.locator('[data-widget="descent-valley"]')


def lmlab_descent(lr: float) -> dict:
    lmlab_gradients(10, 1.0)  # puts py/ on the path
    from lmlab.optim import descent_trace

    return descent_trace("two_minima", lr, 30, dim=1)


def signed(x: float, digits: int) -> str:
    return f"−{-x:.{digits}f}" if x < 0 else f"{x:.{digits}f}"


def test_the_descent_from_the_keyboard_against_lmlab(open_page):
    page = open_page(PAGE)
    rate = valley(page).locator(".dv-rate")
    rate.focus()
    for _ in range(5):  # 0.1 -> 0.15, 0.19, 0.25, 0.3, 0.45
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('[data-widget=descent-valley]').dataset.lr === '0.45'")
    flown = lmlab_descent(0.45)
    assert valley(page).locator(".dv-outcome").inner_text().startswith(
        f"Learning rate 0.45: it flew off, past x = {signed(flown['points'][-1][0], 0)}, "
        f"after {len(flown['points']) - 1} steps.")
    page.keyboard.press("ArrowLeft")  # 0.3: still moving, nearest the deeper valley
    page.wait_for_function(
        "() => document.querySelector('[data-widget=descent-valley]').dataset.lr === '0.3'")
    trace = lmlab_descent(0.3)
    at = valley(page).locator(".dv-at")
    at.focus()
    page.keyboard.press("Home")
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    x, slope = trace["points"][2][0], trace["gradients"][2][0]
    assert valley(page).locator(".dv-readout").inner_text() == (
        f"Step 2: x = {signed(x, 3)}, loss {signed(trace['losses'][2], 3)}, slope {signed(slope, 3)}."
        f" The next step moves x by −0.3 × {signed(slope, 3)} = {signed(-0.3 * slope, 3)}.")
    assert "lr=0.3" in page.evaluate("location.hash") and "at=2" in page.evaluate("location.hash")
    # The bowl, from the select.
    valley(page).locator(".dv-name").select_option("bowl")
    page.wait_for_function(
        "() => document.querySelector('[data-widget=descent-valley]').dataset.name === 'bowl'")
    assert "Learning rate 0.3: after 30 steps" in valley(page).locator(".dv-outcome").inner_text()


def test_the_descent_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    settled = lmlab_descent(0.1)
    assert valley(page).locator(".dv-chart circle.dv-visit").count() == len(settled["points"])
    assert valley(page).locator(".dv-outcome").inner_text() == (
        f"Learning rate 0.1: after 30 steps it has settled in the shallower minimum, "
        f"at x = {settled['points'][-1][0]:.2f}.")
    context.close()


def trainer(page):
    return page.locator('[data-widget="mlp-trainer"]')


def lmlab_session(steps: int, **settings) -> dict:
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab import mlp_lm

    kwargs = {"block_size": 3, "n_embd": 2, "n_hidden": 64, "lr": 0.3, "seed": 0} | settings
    session = mlp_lm.session_start(**kwargs)["id"]
    mlp_lm.session_train(session, steps)
    state = mlp_lm.session_state(session, with_losses=False)
    mlp_lm.session_end(session)
    return state


def held_out_in(readout: str) -> float:
    return float(readout.split("held-out loss ")[1].split(",")[0])


def test_the_trainer_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    start = lmlab_session(0)
    readout = trainer(page).locator(".mt-readout").inner_text()
    assert readout.startswith("Step 0: held-out loss ")
    assert held_out_in(readout) == pytest.approx(start["evals"][0]["held_out"], abs=0.0015)
    assert trainer(page).locator(".mt-plane text.mt-char").count() == len(start["vocab"])
    assert trainer(page).locator(".mt-samples li").count() == len(start["samples"])
    context.close()


def test_the_trainer_trains_and_pauses_from_the_keyboard_against_lmlab(open_page):
    page = open_page(PAGE)
    widget = trainer(page)
    ui.wait_until(page, "async () => document.querySelector('[data-widget=mlp-trainer]').dataset.loaded === 'true'")
    run = widget.locator(".mt-run")
    run.focus()
    page.keyboard.press("Enter")
    assert run.get_attribute("aria-pressed") == "true" and run.inner_text() == "Pause"
    page.wait_for_function(
        "() => Number(document.querySelector('[data-widget=mlp-trainer]').dataset.step) >= 300",
        timeout=60_000)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-widget=mlp-trainer] .mt-announce')"
                           ".textContent.startsWith('Paused.')")
    step = int(widget.get_attribute("data-step"))
    assert step % 20 == 0 and step >= 300
    reference = lmlab_session(step)
    readout = widget.locator(".mt-readout").inner_text()
    # float32 training on two numpy builds (SIMD here, none in Pyodide): the last bits differ and
    # a few hundred SGD steps carry that into the fourth decimal at most
    assert held_out_in(readout) == pytest.approx(reference["evals"][-1]["held_out"], abs=0.005)
    words = [s["word"] for s in reference["samples"]]
    shown = widget.locator(".mt-samples li").evaluate_all(
        "items => items.map(li => li.firstChild.textContent)")
    assert len(shown) == len(words)
    assert widget.locator(".mt-chart polyline.mt-held").get_attribute("points").count(",") == \
        step // 100 + 1


def test_a_new_block_size_starts_new_weights_and_is_shared(open_page):
    page = open_page(PAGE)
    widget = trainer(page)
    ui.wait_until(page, "async () => document.querySelector('[data-widget=mlp-trainer]').dataset.loaded === 'true'")
    widget.locator(".mt-block").select_option("5")
    page.wait_for_function("() => document.querySelector('[data-widget=mlp-trainer] .mt-announce')"
                           ".textContent.startsWith('New weights')")
    reference = lmlab_session(0, block_size=5)
    assert f"{reference['parameters']:,} weights" in widget.locator(".mt-readout").inner_text()
    assert "block=5" in page.evaluate("location.hash")
