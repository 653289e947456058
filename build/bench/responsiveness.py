"""The boot benchmark's second part: how the page answers once Python is ready (boot.py prints it).

  widget   on a fresh page, the first slider move after "Python ready" and the later ones, by
           keyboard (ArrowRight on the focused slider) and by pointer (a click on the slider's
           track): from the input event's creation to the widget redrawn with Python's answer
  stop     Stop pressed on a cell in time.sleep(60), and on a cell printing with flush=True in a
           tight loop: from the click's creation to the cell shown stopped; with cross-origin
           isolation (Stop interrupts Python) and without (Stop replaces the worker)
  flood    clicks on the page while a cell floods its output: from the click's creation to its
           handler, and to the next frame painted after it

Times come from the page's own clock: event.timeStamp (when the browser created the event) to
performance.now() in the handler. A helper module (no __main__): boot.py runs it.
"""

import statistics

CHAPTER = "01-what-is-a-language-model.html"
TOUR = "00-how-this-book-works.html"
LATER_MOVES = 10
TIMEOUT = 120_000

SLEEP = "import time\ntime.sleep(60)"
FLOOD = "k = 0\nwhile True:\n    print(k, flush=True)\n    k += 1"

# Until the next redraw of the widget: ms from the creation of the event that caused it.
ARM_WIDGET = """() => {
  const widget = document.querySelector(".widget[data-widget=temperature-explorer]");
  window.__moved = null;
  window.__redrawn = new Promise((resolve) => {
    const start = (event) => (window.__moved ??= event.timeStamp);
    document.addEventListener("keydown", start, { capture: true, once: true });
    document.addEventListener("pointerdown", start, { capture: true, once: true });
    const drawn = () => resolve(performance.now() - window.__moved);
    widget.addEventListener("widget:drawn", drawn, { once: true });
  });
}"""

# Until cell n shows it stopped (state error): ms from the creation of the click on its Stop.
ARM_STOP = """(n) => {
  const cell = document.querySelector(`.cell[data-number="${n}"]`);
  window.__stopped = new Promise((resolve) => {
    let pressed = null;
    const press = (event) => (pressed = event.timeStamp);
    cell.querySelector(".cell-run").addEventListener("pointerdown", press, { once: true });
    new MutationObserver((_, observer) => {
      if (pressed === null || cell.dataset.state !== "error") return;
      observer.disconnect();
      resolve(performance.now() - pressed);
    }).observe(cell, { attributes: true, attributeFilter: ["data-state"] });
  });
}"""

# The next click anywhere: [ms to its handler, ms to the next frame after it].
ARM_CLICK = """() => {
  window.__answered = new Promise((resolve) => {
    document.addEventListener("click", (event) => {
      const handled = performance.now() - event.timeStamp;
      const painted = () => resolve([handled, performance.now() - event.timeStamp]);
      requestAnimationFrame(() => setTimeout(painted));
    }, { capture: true, once: true });
  });
}"""


def answer(page, name: str, what: str) -> float | list[float]:
    """The value the promise window[name] resolves to; an error, not a hang, if it never does."""
    value = page.evaluate(f"""Promise.race([window.{name},
        new Promise((resolve) => setTimeout(() => resolve(null), {TIMEOUT}))])""")
    if value is None:
        raise RuntimeError(f"no answer in {TIMEOUT / 1000:.0f} s: {what}")
    return value


def wait_ready(page) -> None:
    page.wait_for_selector("#python-status[data-state=ready]", timeout=TIMEOUT)


def set_code(page, number: int, code: str) -> None:
    page.evaluate(
        """async ([n, code]) => {
            const view = await lmlab.page.cells.find((c) => c.number === String(n)).mountEditor();
            view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
        }""",
        [number, code],
    )


def widget_moves(page, modality: str) -> list[float]:
    """A fresh page: the first move after ready, then LATER_MOVES more (ms each)."""
    slider = page.locator(".widget[data-widget=temperature-explorer] .tx-input")
    slider.scroll_into_view_if_needed()
    times = []
    for move in range(1 + LATER_MOVES):
        page.evaluate(ARM_WIDGET)
        if modality == "keyboard":
            slider.focus()
            page.keyboard.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")
        else:
            click_slider_to_a_new_value(page, slider, move)
        times.append(answer(page, "__redrawn", f"the widget's redraw after {modality} move {move}"))
    return times


def click_slider_to_a_new_value(page, slider, move: int) -> None:
    """A click on the slider's track that changes its value. The box is measured before each
    click (a notice appearing above the widget moves it), and a click that changed nothing (it
    landed beside the slider, or on the value it had) is made again elsewhere: it would never be
    redrawn."""
    for attempt in range(5):
        before = slider.input_value()
        box = slider.bounding_box()
        fraction = 0.2 + 0.6 * ((move * 7 + attempt * 3) % 11) / 10
        page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        if slider.input_value() != before:
            return
        page.evaluate(ARM_WIDGET)  # the missed click's pointerdown is not the move measured
    raise RuntimeError(f"five clicks on the temperature slider changed nothing (move {move})")


def stop_latency(page, code: str) -> float:
    set_code(page, 2, code)
    page.locator('.cell[data-number="2"] .cell-run').click()
    page.wait_for_selector('.cell[data-number="2"][data-state=running]', timeout=TIMEOUT)
    page.wait_for_timeout(300)  # let the code get going: a Stop at its very first line is no test
    page.evaluate(ARM_STOP, 2)
    page.locator('.cell[data-number="2"] .cell-run').click()
    return answer(page, "__stopped", "the cell's Stop")


def flood_clicks(page, clicks: int) -> list[list[float]]:
    set_code(page, 3, FLOOD)
    page.locator('.cell[data-number="3"] .cell-run').click()
    page.locator('.cell[data-number="3"] .output-hidden-lines').wait_for(timeout=TIMEOUT)
    heading = page.locator("main h1")
    answers = []
    for _ in range(clicks):
        page.evaluate(ARM_CLICK)
        heading.click()
        answers.append(answer(page, "__answered", "a click during a flood of output"))
    page.locator('.cell[data-number="3"] .cell-run').click()
    return answers


def measure(browser, urls: dict[str, str], rounds: int) -> dict:
    """urls: {"isolated": base URL with COOP/COEP, "plain": without}."""
    results = {"keyboard": [], "pointer": [], "stop": {}, "flood": {}}
    for _ in range(rounds):
        context = browser.new_context()
        page = context.new_page()
        for modality in ("keyboard", "pointer"):
            page.goto(urls["isolated"] + CHAPTER)
            wait_ready(page)
            results[modality].append(widget_moves(page, modality))
        context.close()
    for mode, base in urls.items():
        # Without isolation the service worker is blocked, as on a host that sends no headers.
        context = browser.new_context(service_workers="block" if mode == "plain" else "allow")
        page = context.new_page()
        page.goto(base + TOUR)
        wait_ready(page)
        assert page.evaluate("crossOriginIsolated") is (mode == "isolated")
        for name, code in (("sleep", SLEEP), ("flood", FLOOD)):
            results["stop"][(mode, name)] = [stop_latency(page, code) for _ in range(rounds)]
            wait_ready(page)
        results["flood"][mode] = flood_clicks(page, 5 * rounds)
        context.close()
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(results: dict) -> None:
    print("\nAfter Python is ready (ms; p95 over every round's events, median in brackets)")
    rows = []
    med = statistics.median
    for modality in ("keyboard", "pointer"):
        first = [moves[0] for moves in results[modality]]
        later = [t for moves in results[modality] for t in moves[1:]]
        rows.append((f"first widget redraw, {modality}", p95(first), med(first), 50))
        rows.append((f"later widget redraws, {modality}", p95(later), med(later), 50))
    for (mode, name), times in results["stop"].items():
        what = "time.sleep(60)" if name == "sleep" else "a flood (print, flush=True)"
        rows.append((f"Stop -> stopped, {what}, {mode}", p95(times), med(times), 1000))
    for mode, answers in results["flood"].items():
        handled = [a[0] for a in answers]
        framed = [a[1] for a in answers]
        rows.append((f"click during a flood -> handled, {mode}", p95(handled), med(handled), None))
        rows.append((f"click during a flood -> next frame, {mode}", p95(framed), med(framed), 100))
    for label, worst, median, bar in rows:
        verdict = "" if bar is None else f"<= {bar} ms  " + ("ok" if worst <= bar else "MISSED")
        print(f"{label:52}{worst:9.1f} ({median:7.1f})  {verdict}".rstrip())
