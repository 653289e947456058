"""Chapter 9's chat-stages widget as a reader uses it: drawn before any script runs; a typed line
answered (Enter or the button), a preset, the temperature and Sample again, each written a few
tokens at a time and ending with the three replies CPython's lmlab.chat_stages.stages_view
computes; a newer request while one is written ends with its own replies only; Show tokens; the
state in the URL fragment and restored from it; axe-core in both themes, also while writing; a
375 px phone."""

import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
PAGE = "09-from-gpt-to-chatgpt.html"
LINE = "How now, my friend! why dost thou look so pale?"  # the chapter's directive
COMPUTE = 120_000  # ms: three models write up to 40 tokens each; generous for a loaded machine


def stages(line=LINE, temperature=0.0, seed=0):
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab.chat_stages import stages_view

    return stages_view(line, temperature, seed)


def widget(page):
    return page.locator('[data-widget="chat-stages"]')


def words(text: str) -> str:
    return " ".join(text.split())


def end_text(col, view) -> str:
    n = col["new_tokens"]
    if col["ended"] is None:
        return f"No turns, no end token: it continues the text until the widget stops it at {n} tokens."
    if col["ended"]:
        return f"Stopped: wrote <|end|> after {n - 1} token{'' if n == 2 else 's'}."
    return f"Ran out of room: {n} tokens and no <|end|> (the model reads {view['block_size']} tokens in all)."


def wait_shown(page, view):
    """Until the widget shows this request's replies, all three written."""
    shown = f"{view['line']}|{view['temperature']:.1f}|{view['seed']}"
    page.wait_for_function("""(s) => { const cs = document.querySelector('[data-widget=chat-stages] .cs');
                                       return cs.dataset.shown === s && cs.dataset.done === 'true'; }""",
                           arg=shown, timeout=COMPUTE)
    assert widget(page).locator(".cs").get_attribute("aria-busy") is None


def assert_shows(page, view, as_tokens=False):
    """Every column as lmlab computed it: what the model reads, what it wrote (repeats marked),
    how it ended, the flag and the log-probabilities at the decimals shown."""
    cols = widget(page).locator(".cs-col")
    assert cols.count() == 3
    for i, col in enumerate(view["columns"]):
        c = cols.nth(i)
        prompt, reply = c.locator(".cs-prompt"), c.locator(".cs-reply")
        specials = c.locator(".cs-prompt .cs-chip.is-special").all_inner_texts()
        assert specials == ([] if i == 0 else ["<|user|>", "<|assistant|>"])
        if as_tokens:
            assert prompt.locator(".cs-chip").all_inner_texts() == [t for t, _ in col["prompt_tokens"]]
            assert reply.locator(".cs-chip").all_inner_texts() == [t for t, _ in col["reply_tokens"]]
        else:
            assert words(prompt.inner_text()) == words("".join(
                t if s else t.replace("␣", " ").replace("↵", "\n") for t, s in col["prompt_tokens"]))
            assert words(reply.inner_text()) == words(col["reply"])
            assert reply.locator("mark").all_inner_texts() == [p for p, r in col["parts"] if r]
        assert c.locator(".cs-end").inner_text() == end_text(col, view)
        marked = "" if as_tokens else " (marked)"
        assert c.locator(".cs-flag").inner_text() == (
            f"Says one word three times in a row{marked}." if col["repeats"]
            else "No word three times in a row.")
        if i:
            assert words(c.locator(".cs-logp").inner_text()) == (
                f"log p of this reply: under the fine-tuned model {fixed(col['logprob']['fine-tuned'], 2)}, "
                f"under the aligned {fixed(col['logprob']['aligned'], 2)}")
    play = widget(page).locator(".cs-play")
    if view["play_reply"] is None:
        assert play.is_hidden()
    else:
        assert words(play.inner_text()) == words(f"In the play, the reply to this line is: “{view['play_reply']}”")
    assert widget(page).locator(".cs-seed-out").inner_text() == str(view["seed"])


def test_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    view = stages()
    assert view["columns"][1]["repeats"] and not view["columns"][2]["repeats"]
    assert_shows(page, view)
    assert widget(page).locator(".cs-line").input_value() == LINE
    assert widget(page).locator("input:disabled, select:disabled, button:disabled").count() == 6
    context.close()


def test_a_typed_line_is_answered_with_enter_or_the_button(open_page):
    page = open_page(PAGE)
    line = widget(page).locator(".cs-line")
    line.fill("What is your name?")
    line.press("Enter")
    wait_shown(page, view := stages("What is your name?"))
    assert_shows(page, view)
    assert widget(page).locator(".widget-status").inner_text().startswith("Live:")
    page.wait_for_function("() => document.querySelector('.cs-announce').textContent.startsWith('Fine-tuned:')")
    line.fill("Good morrow, sir. Whither away?")
    widget(page).locator(".cs-ask").focus()
    page.keyboard.press("Space")
    wait_shown(page, view := stages("Good morrow, sir. Whither away?"))
    assert_shows(page, view)
    widget(page).locator(".cs-preset").select_option(view["presets"][2])
    wait_shown(page, view := stages(view["presets"][2]))
    assert_shows(page, view)


# Every redraw of the widget while it writes: the request shown, the tokens of each column, whether
# each is done and what its end line says, and the widget's aria-busy.
RECORD_DRAWS_JS = """() => {
  const w = document.querySelector('[data-widget="chat-stages"]');
  window.csDraws = [];
  w.addEventListener("widget:drawn", () => {
    const cs = w.querySelector(".cs");
    window.csDraws.push({
      shown: cs.dataset.shown, busy: cs.getAttribute("aria-busy"),
      columns: [...w.querySelectorAll(".cs-col")].map((c) => ({
        writing: c.classList.contains("is-writing"), caret: c.querySelectorAll(".cs-caret").length,
        end: c.querySelector(".cs-end").textContent, reply: c.querySelector(".cs-reply").textContent })),
      announced: w.querySelector(".cs-announce").textContent,
    });
  });
}"""


def test_the_replies_are_written_a_few_tokens_at_a_time(open_page):
    view = stages("Whither away so fast?")
    from lmlab.chat_stages import stages_stream

    answers = [stages_stream("Whither away so fast?", 0.0, 0, 0)]
    while not answers[-1]["done"]:
        answers.append(stages_stream("Whither away so fast?", 0.0, 0, len(answers)))
    page = open_page(PAGE)
    page.evaluate(RECORD_DRAWS_JS)
    line = widget(page).locator(".cs-line")
    line.fill("Whither away so fast?")
    line.press("Enter")
    wait_shown(page, view)
    assert_shows(page, view)
    draws = page.evaluate("window.csDraws")
    assert len(draws) == len(answers)  # one redraw per call, each with CPython's replies so far
    for drawn, answer in zip(draws, answers, strict=True):
        assert [" ".join(c["reply"].split()) for c in drawn["columns"]] == \
            [words(col["reply"]) for col in answer["columns"]]
    first, *_, last = draws
    assert all(d["shown"] == "Whither away so fast?|0.0|0" for d in draws)
    # At once: the prompts, the pretrained model's first token, the chat models' empty replies,
    # each with its caret and "Writing..."
    assert [c["reply"] for c in first["columns"][1:]] == ["", ""]
    assert [c["end"] for c in first["columns"]] == \
        ["Writing… 1 token so far."] + ["Writing… 0 tokens so far."] * 2
    assert all(c["writing"] and c["caret"] == 1 for c in first["columns"])
    assert all(d["busy"] == "true" for d in draws[:-1])
    for before, after in zip(draws, draws[1:], strict=False):
        for was, now in zip(before["columns"], after["columns"], strict=True):
            assert now["reply"].startswith(was["reply"]) or not was["writing"]
    assert not any(c["writing"] or c["caret"] for c in last["columns"])
    # Announced once, when done: while writing, the live region says nothing new.
    assert all(d["announced"] == first["announced"] for d in draws)
    page.wait_for_function("() => document.querySelector('.cs-announce').textContent.startsWith('Fine-tuned:')")
    assert widget(page).locator(".cs-announce").inner_text() == \
        f"Fine-tuned: {said(view['columns'][1])} Aligned: {said(view['columns'][2])}"


def said(col) -> str:
    return f"{col['reply'] or '(nothing)'}{' (repeats a word)' if col['repeats'] else ''}"


def test_a_newer_request_while_one_is_written_ends_with_its_replies_only(open_page):
    page = open_page(PAGE)
    page.evaluate(RECORD_DRAWS_JS)
    line = widget(page).locator(".cs-line")
    line.fill("What news from Padua?")
    line.press("Enter")
    # Once the first tokens are drawn, another line, then the temperature, then Sample again.
    page.wait_for_function("() => window.csDraws.some((d) => d.columns[0].reply)", timeout=COMPUTE)
    line.fill("Is the king well?")
    line.press("Enter")
    temp = widget(page).locator(".cs-temp")
    temp.focus()
    page.keyboard.press("ArrowRight")
    widget(page).locator(".cs-again").click()
    wait_shown(page, view := stages("Is the king well?", 0.1, 1))
    assert_shows(page, view)
    draws = page.evaluate("window.csDraws")
    order = list(dict.fromkeys(d["shown"] for d in draws))
    assert order[0] == "What news from Padua?|0.0|0" and order[-1] == "Is the king well?|0.1|1"
    asked = [order.index(d["shown"]) for d in draws]
    assert asked == sorted(asked)  # no request drawn once a newer one was
    assert draws[-1]["columns"][1]["reply"] == view["columns"][1]["reply"]
    page.wait_for_timeout(500)  # an older loop that went on would draw again
    assert len(page.evaluate("window.csDraws")) == len(draws)
    assert_shows(page, view)


def test_temperature_and_sample_again_change_the_replies(open_page):
    page = open_page(PAGE)
    temp = widget(page).locator(".cs-temp")
    temp.focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_shown(page, view := stages(LINE, 0.8, 0))
    assert_shows(page, view)
    assert widget(page).locator(".cs-temp-out").inner_text() == "0.8"
    again = widget(page).locator(".cs-again")
    for seed in (1, 2):
        again.focus()
        page.keyboard.press("Enter")
        wait_shown(page, view := stages(LINE, 0.8, seed))
        assert_shows(page, view)
    replies = {tuple(c["reply"] for c in stages(LINE, 0.8, s)["columns"]) for s in range(3)}
    assert len(replies) > 1  # the seed matters


def test_show_tokens_and_the_state_in_the_url(open_page):
    page = open_page(PAGE)
    line = widget(page).locator(".cs-line")
    line.fill("Whose tongue?")
    line.press("Enter")
    wait_shown(page, stages("Whose tongue?"))
    widget(page).locator(".cs-again").click()
    view = stages("Whose tongue?", 0.0, 1)
    wait_shown(page, view)
    widget(page).locator(".cs-show-tokens").check()
    assert_shows(page, view, as_tokens=True)
    page.wait_for_function("() => location.hash.includes('tokens=1') && location.hash.includes('seed=1')")
    page.reload()
    ui.wait_ready_state(page)
    wait_shown(page, view)
    assert widget(page).locator(".cs-line").input_value() == "Whose tongue?"
    assert widget(page).locator(".cs-show-tokens").is_checked()
    assert_shows(page, view, as_tokens=True)


def test_a_line_too_long_is_explained(open_page):
    page = open_page(PAGE)
    line = widget(page).locator(".cs-line")
    line.fill("word " * 60)
    line.press("Enter")
    error = widget(page).locator(".widget-error")
    error.wait_for(state="visible", timeout=COMPUTE)
    assert "leave room for a reply" in error.inner_text()
    assert_shows(page, stages())  # the last replies stay


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    widget(page).locator(".cs-show-tokens").check()
    widget(page).locator(".cs-again").click()
    wait_shown(page, stages(LINE, 0.0, 1))
    ui.assert_no_axe_violations(page)
    # While writing: the carets and "Writing..." lines, with a stream held at its first answer.
    page.evaluate("""() => { const call = lmlab.python.call.bind(lmlab.python);
        lmlab.python.call = (slug, fn, args, kwargs) => (kwargs && kwargs.calls > 0
          ? new Promise(() => {}) : call(slug, fn, args, kwargs)); }""")
    widget(page).locator(".cs-again").click()
    widget(page).locator(".cs-col.is-writing .cs-caret").first.wait_for(timeout=COMPUTE)
    assert widget(page).locator(".cs").get_attribute("aria-busy") == "true"
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    widget(page).locator(".cs-show-tokens").check()
    assert ui.horizontal_overflow(page) <= 0
    for part in (".cs-line", ".cs-ask", ".cs-preset", ".cs-temp", ".cs-again", ".cs-columns"):
        box = widget(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
    widget(page).locator(".cs-again").click()  # and while the replies are written
    widget(page).locator(".cs-col.is-writing").first.wait_for(timeout=COMPUTE)
    assert ui.horizontal_overflow(page) <= 0
    wait_shown(page, stages(LINE, 0.0, 1))
    assert ui.horizontal_overflow(page) <= 0
