"""Chapter 3 as a reader uses it: the BPE visualizer (stepping before Python, keyboard, typed
text, bytes, play with reduced motion, a shared link, training with the reader's own
get_pair_counts and merge_pair), the tokenizer playground (GPT-2's ids,
tokens and ids linked by hover and by keyboard, whitespace made visible, the reader's encode),
the five exercises, axe-core and a 375 px phone. Every number is compared with CPython's
lmlab."""

import json

from conftest import (
    assert_no_axe_violations,
    cell,
    cell_number,
    horizontal_overflow,
    run_cell,
    set_code,
    wait_ready_state,
)
from lmlab import wordbpe

PAGE = "03-tokenization.html"
BPE = ".widget[data-widget=bpe-visualizer]"
PLAY = ".widget[data-widget=tokenizer-playground]"


def config(page, widget: str) -> dict:
    return json.loads(page.locator(widget).get_attribute("data-config"))


def visible(token: str) -> str:
    return token.replace(" ", "·").replace("\t", "→").replace("\n", "↵")



def shown_tokens(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("els => els.map(e => e.textContent)")


def wait_bpe(page, **expected) -> None:
    """Until the visualizer has drawn a state with these text / level / step values."""
    page.wait_for_function(
        """([sel, want]) => { const d = document.querySelector(sel).dataset.drawn;
             if (!d) return false; const drawn = JSON.parse(d);
             return Object.entries(want).every(([k, v]) => drawn[k] === v); }""",
        arg=[BPE, expected], timeout=60_000,
    )


def test_visualizer_steps_by_keyboard_before_python(open_page):
    page = open_page(PAGE, wait_ready=False)
    kwargs = config(page, BPE)["kwargs"]
    expected = wordbpe.bpe_visualizer(**kwargs)["steps"]
    page.wait_for_selector(f"{BPE} .bv-step:not([disabled])")
    assert shown_tokens(page, f"{BPE} .bv-tok") == [visible(t) for t in expected[0]["tokens"]]
    page.locator(f"{BPE} .bv-step").focus()
    for _ in range(3):
        page.keyboard.press("Enter")
    page.keyboard.press("Space")
    wait_bpe(page, step=4)
    step = expected[4]
    assert shown_tokens(page, f"{BPE} .bv-tok") == [visible(t) for t in step["tokens"]]
    merge = page.locator(f"{BPE} .bv-merge").inner_text()
    assert f"Step 4 merged {visible(step['pair'][0])} + {visible(step['pair'][1])}" in merge
    assert f"which occurred {step['count']:,} times" in merge
    leader = page.locator(f"{BPE} .bv-pairs tr.is-leader td").all_inner_texts()
    assert leader[1] == f"{step['top'][0][2]:,}"
    stats = page.locator(f"{BPE} .bv-stats").inner_text()
    assert f"{step['vocab_size']}" in stats and f"{step['num_tokens']} tokens" in stats
    # Shift+Tab to Back; the announcement is polite and says what happened.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    wait_bpe(page, step=3)
    announcer = page.locator(f"{BPE} .bv-announce")
    assert announcer.get_attribute("aria-live") == "polite"
    assert announcer.inner_text().startswith("Step 3: merged")
    assert "bpe-step=3" in page.evaluate("location.hash")
    # The step slider answers the arrow keys.
    page.locator(f"{BPE} .bv-step-input").focus()
    page.keyboard.press("End")
    wait_bpe(page, step=len(expected) - 1)
    assert shown_tokens(page, f"{BPE} .bv-final .bv-chip") == [visible(t) for t in expected[-1]["tokens"]]


def test_visualizer_learns_the_readers_text_at_character_and_byte_level(open_page):
    page = open_page(PAGE)
    kwargs = config(page, BPE)["kwargs"]
    box = page.locator(f"{BPE} .bv-text")
    box.fill("unhappiness")
    wait_bpe(page, text="unhappiness", step=0)
    want = wordbpe.bpe_visualizer(**{**kwargs, "text": "unhappiness"})
    assert shown_tokens(page, f"{BPE} .bv-final .bv-chip") == want["final"]
    # Bytes, from the keyboard: the radio group moves with the arrow keys.
    page.locator(f"{BPE} .bv-level[value=chars]").focus()
    page.keyboard.press("ArrowRight")
    wait_bpe(page, text="unhappiness", level="bytes")
    box.fill("naïve")
    wait_bpe(page, text="naïve", level="bytes")
    want = wordbpe.bpe_visualizer(**{**kwargs, "text": "naïve", "level": "bytes"})
    assert shown_tokens(page, f"{BPE} .bv-tok") == want["steps"][0]["tokens"]
    assert len(want["steps"][0]["tokens"]) == 6
    assert "256" in page.locator(f"{BPE} .bv-stats").inner_text()
    assert "bpe-level=bytes" in page.evaluate("location.hash")


def test_a_shared_link_restores_text_level_and_step(open_page):
    page = open_page(PAGE + "#bpe-text=hello+there&bpe-step=5")
    wait_bpe(page, text="hello there", step=5)
    assert page.locator(f"{BPE} .bv-text").input_value() == "hello there"
    kwargs = config(page, BPE)["kwargs"]
    want = wordbpe.bpe_visualizer(**{**kwargs, "text": "hello there"})
    assert shown_tokens(page, f"{BPE} .bv-tok") == [visible(t) for t in want["steps"][5]["tokens"]]


def test_play_runs_to_the_end_and_respects_reduced_motion(open_page):
    page = open_page(PAGE, reduced_motion="reduce")
    steps = len(wordbpe.bpe_visualizer(**config(page, BPE)["kwargs"])["steps"])
    page.locator(f"{BPE} .bv-step-input").fill(str(steps - 3))
    wait_bpe(page, step=steps - 3)
    play = page.locator(f"{BPE} .bv-play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    wait_bpe(page, step=steps - 2)
    new = page.locator(f"{BPE} .bv-tok.is-new")
    if new.count():
        assert new.first.evaluate("e => getComputedStyle(e).animationName") == "none"
    wait_bpe(page, step=steps - 1)
    page.wait_for_function("sel => document.querySelector(sel).getAttribute('aria-pressed') === 'false'",
                           arg=f"{BPE} .bv-play")
    assert page.locator(f"{BPE} .bv-announce").inner_text().startswith("Finished.")


def wait_playground(page, text: str, mine: bool = False) -> None:
    page.wait_for_function(
        """([sel, text, mine]) => { const d = document.querySelector(sel).dataset.drawn;
             return d && JSON.parse(d).text === text && JSON.parse(d).mine === mine; }""",
        arg=[PLAY, text, mine], timeout=60_000,
    )


def test_playground_shows_gpt2_ids_linked_to_tokens(open_page):
    page = open_page(PAGE)
    gpt2 = wordbpe.gpt2_tokenizer()
    text = "The cat sat on the mat\n  ChatGPT\tstrawberry"
    page.locator(f"{PLAY} .tp-text").fill(text)
    wait_playground(page, text)
    gpt2_col = f'{PLAY} .tp-col[data-side="gpt2"]'
    ids = gpt2.encode(text)
    assert shown_tokens(page, f"{gpt2_col} .tp-ids .tp-item") == [str(i) for i in ids]
    assert shown_tokens(page, f"{gpt2_col} .tp-tokens .tp-item") == [
        visible(t) for t in gpt2.token_strings(ids)]
    assert "↵" in "".join(shown_tokens(page, f"{gpt2_col} .tp-tokens .tp-item"))
    want = wordbpe.playground(text)
    assert shown_tokens(page, f'{PLAY} .tp-col[data-side="book"] .tp-ids .tp-item') == [
        str(i) for i in want["book"]["ids"]]
    # Hover a token: its id lights up, and the other way round.
    page.locator(f"{gpt2_col} .tp-tokens .tp-item").nth(2).hover()
    assert page.locator(f"{gpt2_col} .tp-ids .tp-item.is-linked").inner_text() == str(ids[2])
    page.locator(f"{gpt2_col} .tp-ids .tp-item").nth(4).hover()
    assert page.locator(f"{gpt2_col} .tp-tokens .tp-item.is-linked").inner_text() == visible(
        gpt2.token_strings([ids[4]])[0])
    # Keyboard: one tab stop per list, arrows move, the pair is linked and announced.
    page.locator(f"{gpt2_col} .tp-tokens .tp-item").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.dataset.index")
    assert focused == "2"
    assert page.locator(f"{gpt2_col} .tp-ids .tp-item.is-linked").inner_text() == str(ids[2])
    assert page.locator(f"{PLAY} .tp-announce").inner_text() == (
        f"Token 3 of {len(ids)}: {visible(gpt2.token_strings([ids[2]])[0])}, id {ids[2]}")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.index") == str(len(ids) - 1)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    assert "tok-text=" in page.evaluate("location.hash")


def exercise(page, name: str):
    return page.locator(f'.exercise[data-exercise="{name}"]')


def check(page, name: str, result: str) -> str:
    """Press Check on an exercise, by keyboard, and wait for its verdict; returns the feedback."""
    exercise(page, name).locator(".exercise-check").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([n, r]) => document.querySelector(`.exercise[data-exercise=\"${n}\"]`).dataset.result === r",
        arg=[name, result], timeout=120_000)
    return exercise(page, name).locator(".exercise-feedback").inner_text()


def solution(page, name: str) -> str:
    return exercise(page, name).locator(".exercise-solution code").text_content()


def test_the_five_exercises_and_the_readers_encode_in_the_playground(open_page):
    page = open_page(PAGE)
    switch = page.locator(f"{PLAY} .tp-mine")
    result = page.locator(f"{PLAY} .tp-mine-result")
    text = page.locator(f"{PLAY} .tp-text").input_value()

    # Before encode exists, the playground says what to do.
    switch.check()
    wait_playground(page, text, mine=True)
    assert "Write encode in the exercise below" in result.inner_text()

    # The starter fails with the input, what came back and what was expected.
    feedback = check(page, "get_pair_counts", "fail")
    assert "get_pair_counts([1, 2])" in feedback
    assert "{}" in feedback and "{(1, 2): 1}" in feedback

    # Each solution passes; encode's check ends with GPT-2's own ids; passes are remembered.
    for name in ["get_pair_counts", "merge_pair", "train_bpe", "encode", "decode"]:
        number = int(exercise(page, name).locator(".cell").get_attribute("data-number"))
        set_code(page, number, solution(page, name))
        feedback = check(page, name, "pass")
        if name == "encode":
            assert "gives GPT-2's ids" in feedback
    page.locator(f"{PLAY} .tp-text").fill("The cat sat on the mat")
    wait_playground(page, "The cat sat on the mat", mine=True)
    assert result.inner_text() == "Your encode gives the same 6 ids as GPT-2."

    # An encode that never merges: the check names the input, and the playground marks the ids.
    number = int(exercise(page, "encode").locator(".cell").get_attribute("data-number"))
    set_code(page, number, "def encode(text, merges):\n    return list(text.encode('utf-8'))")
    feedback = check(page, "encode", "fail")
    assert "encode('low'" in feedback
    page.locator(f"{PLAY} .tp-text").fill("The cat")
    wait_playground(page, "The cat", mine=True)
    assert "positions differ from GPT-2" in result.inner_text()
    assert page.locator(f'{PLAY} .tp-col[data-side="gpt2"] .tp-ids .is-different').count() >= 1
    page.reload()
    wait_ready_state(page)
    assert exercise(page, "decode").get_attribute("data-passed") == "yes"


def test_chapter_passes_axe_and_fits_a_phone(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    page.locator(f"{BPE} .bv-step").click()
    page.locator(f"{PLAY} .tp-text").fill("A long line of text: supercalifragilisticexpialidocious " * 3)
    wait_playground(page, "A long line of text: supercalifragilisticexpialidocious " * 3)
    assert horizontal_overflow(page) <= 0
    assert_no_axe_violations(page)


def test_widgets_are_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    kwargs = config(page, BPE)["kwargs"]
    want = wordbpe.bpe_visualizer(**kwargs)
    assert shown_tokens(page, f"{BPE} .bv-tok") == [visible(t) for t in want["steps"][0]["tokens"]]
    play = wordbpe.playground(config(page, PLAY)["kwargs"]["text"])
    assert shown_tokens(page, f'{PLAY} .tp-col[data-side="gpt2"] .tp-ids .tp-item') == [
        str(i) for i in play["gpt2"]["ids"]]
    context.close()


def test_the_page_survives_a_reload_with_state(open_page):
    page = open_page(PAGE)
    page.locator(f"{BPE} .bv-step").click()
    page.locator(f"{BPE} .bv-step").click()
    wait_bpe(page, step=2)
    page.reload()
    wait_ready_state(page)
    wait_bpe(page, step=2)
    assert cell(page, 1).count() == 1


def test_the_visualizer_trains_with_the_readers_own_functions(open_page):
    page = open_page(PAGE)
    kwargs = config(page, BPE)["kwargs"]
    switch = page.locator(f"{BPE} .bv-mine")
    source = page.locator(f"{BPE} .bv-source-text")
    error = page.locator(f"{BPE} .widget-error")
    assert "takes longer" in page.locator(f"{BPE} .bv-source").inner_text()  # slower, it says

    # Before the exercise cells have run, the widget says what to do and keeps lmlab's merges.
    page.wait_for_function("sel => !document.querySelector(sel).disabled", arg=f"{BPE} .bv-mine")
    switch.focus()
    page.keyboard.press("Space")
    page.wait_for_function("sel => !document.querySelector(sel).hidden", arg=f"{BPE} .widget-error")
    assert "Run the cell that defines get_pair_counts() first" in error.inner_text()
    assert source.inner_text() == "The merges are lmlab's."

    # The solutions learn lmlab's merges, and the widget says so.
    for name in ["get_pair_counts", "merge_pair"]:
        number = cell_number(page, name)
        set_code(page, number, solution(page, name))
        assert run_cell(page, number) == "done"
    text = "hello hello hello"
    page.locator(f"{BPE} .bv-text").fill(text)
    wait_bpe(page, text=text)
    page.wait_for_function("sel => document.querySelector(sel).textContent.includes('same')",
                           arg=f"{BPE} .bv-source-text", timeout=60_000)
    want = wordbpe.bpe_visualizer(**{**kwargs, "text": text})
    assert source.inner_text() == (f"Your get_pair_counts() and merge_pair() learned the same "
                                   f"{len(want['steps']) - 1} merges as lmlab.")
    assert shown_tokens(page, f"{BPE} .bv-final .bv-chip") == [visible(t) for t in want["final"]]
    assert error.is_hidden()

    # A merge_pair that merges only the first occurrence in each list: the widget names the step
    # from which its merges differ, as CPython's lmlab computes it with the same function.
    first_only = ("def merge_pair(ids, pair, new_id):\n"
                  "    for i in range(len(ids) - 1):\n"
                  "        if (ids[i], ids[i + 1]) == pair:\n"
                  "            return ids[:i] + [new_id] + ids[i + 2:]\n"
                  "    return list(ids)\n")
    number = cell_number(page, "merge_pair")
    set_code(page, number, first_only)
    assert run_cell(page, number) == "done"
    text = "mississippi lulled hohoho"
    page.locator(f"{BPE} .bv-text").fill(text)
    wait_bpe(page, text=text)
    page.wait_for_function("sel => document.querySelector(sel).textContent.includes('different')",
                           arg=f"{BPE} .bv-source-text", timeout=60_000)
    namespace: dict = {}
    exec(first_only, namespace)  # noqa: S102 - the reader's cell, run by CPython as reference
    mine = wordbpe.bpe_visualizer(**{**kwargs, "text": text}, merge_pair=namespace["merge_pair"])
    k = mine["mine"]["first_difference"]
    assert k is not None
    assert source.inner_text() == (f"Your get_pair_counts() and merge_pair() learned different "
                                   f"merges from lmlab's, from step {k} on.")
    assert shown_tokens(page, f"{BPE} .bv-final .bv-chip") == [visible(t) for t in mine["final"]]

    # Switched off, the merges are lmlab's again.
    switch.focus()
    page.keyboard.press("Space")
    page.wait_for_function("sel => document.querySelector(sel).textContent === \"The merges are lmlab's.\"",
                           arg=f"{BPE} .bv-source-text", timeout=60_000)
    want = wordbpe.bpe_visualizer(**{**kwargs, "text": text})
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n",
                           arg=[f"{BPE} .bv-final .bv-chip", len(want["final"])])
    assert shown_tokens(page, f"{BPE} .bv-final .bv-chip") == [visible(t) for t in want["final"]]
