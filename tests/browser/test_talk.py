"""Talk to a real model, as a reader uses it: SmolLM2 fetched only on request and then kept, a
conversation by keyboard whose replies, distributions, attention weights and trees equal CPython's
lmlab, Stop, the conversation as tokens, a file that cannot be had, axe in both themes and 375 px.
"""

import re
import sys

import conftest as ui
import pytest

REPO = ui.REPO
SLUG = "90-talk-to-a-real-model"
PAGE = f"{SLUG}.html"
LOAD_TIMEOUT = 180_000

pytestmark = pytest.mark.pretrained


def cpython_chat():
    """lmlab.chat in this process, with the model loaded (the reference for what the page shows)."""
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab import chat

    chat.load()
    return chat


def chat_widget(page):
    return page.locator('[data-widget="chat"]')


def load(page) -> None:
    button = page.locator(".chat-load-button")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-widget="chat"][data-loaded]', timeout=LOAD_TIMEOUT)


def say(page, text: str) -> str:
    """Type a message, press Enter, wait for the whole reply; returns the reply's text."""
    box = page.locator(".chat-message")
    box.focus()
    box.fill(text)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => !document.querySelector('.chat-send').disabled && document.querySelector('.chat-turn.is-model')",
        timeout=LOAD_TIMEOUT)
    return page.locator(".chat-turn.is-model").last.locator(".chat-text").inner_text()


def greedy(page) -> None:
    """Temperature 0 by keyboard: the replies are the model's argmax, the same on every machine."""
    page.locator(".chat-t").focus()
    page.keyboard.press("Home")
    assert page.locator(".chat-t-out").inner_text() == "0.00"


def shown(text: str) -> str:
    return text.replace(" ", "·").replace("\n", "↵")


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+", text)]


def record_requests(page) -> list[str]:
    """Every URL the page's context asks for from now on, its worker's requests included."""
    urls: list[str] = []
    page.context.on("request", lambda request: urls.append(request.url))
    return urls


def test_the_model_is_fetched_only_when_asked_and_then_kept(open_page):
    first = open_page("01-what-is-a-language-model.html", wait_ready=False)
    elsewhere = record_requests(first)
    ui.wait_ready_state(first)
    page = open_page(PAGE, wait_ready=False)
    requested = record_requests(page)
    ui.wait_ready_state(page)
    page.evaluate("""() => { window.__progress = [];
      lmlab.python.addEventListener("data-progress", (e) => window.__progress.push(e.detail)); }""")
    # A cell run before the model is loaded says what to do.
    ui.run_cell(page, 1)
    assert "Load the model" in ui.output_text(page, 1)
    assert "98 MB" in page.locator(".chat-load-button").inner_text()
    assert not [url for url in elsewhere + requested if url.endswith(".gguf")]
    load(page)
    assert len([url for url in requested if url.endswith(".gguf")]) == 1
    progress = page.evaluate("() => window.__progress")
    assert progress and progress[-1]["received"] == progress[-1]["total"] == 98_362_432
    assert "134,515,008 parameters in 30 layers" in page.locator(".chat-load-text").inner_text()
    # A later visit reads the model from Cache Storage: the site is not asked for it again.
    requested.clear()
    page.reload()
    ui.wait_ready_state(page)
    load(page)
    assert not [url for url in requested if url.endswith(".gguf")]
    assert page.locator(".chat-load-text").inner_text().startswith("Loaded")
    ui.run_all_and_compare_with_built(page)  # the cells, on the model the chat loaded


def test_a_conversation_by_keyboard_equals_cpython(open_page):
    chat = cpython_chat()
    page = open_page(PAGE)
    load(page)
    greedy(page)
    chat.new_conversation()
    reference = []
    for message in ("What is the capital of France?", "And of Germany?"):
        chat.say(message)
        tokens = []
        while not tokens or not tokens[-1]["done"]:
            tokens.append(chat.next_token(temperature=0))
        reference.append(tokens)
        assert say(page, message) == shown("".join(t["text"] for t in tokens[:-1]))
    assert "".join(t["text"] for t in reference[1]) == "The capital of Germany is Berlin.<|im_end|>"
    assert "tokens/s" in page.locator(".chat-speed").inner_text()

    # Show tokens: the system message and the special tokens the model reads.
    page.locator(".chat-show-tokens").focus()
    page.keyboard.press("Space")
    specials = page.locator(".chat-chip.is-special").all_inner_texts()
    assert specials.count("<|im_start|>") == 5 and "<|im_end|>" in specials
    assert "You·are·a·helpful" in "".join(page.locator(".chat-turn.is-user").first.locator(".chat-chip").all_inner_texts())

    # Open the reply's second token by keyboard; the view's temperature to 1.00 by keyboard.
    page.locator(".chat-tok[tabindex='0']").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-widget=chat]').dataset.inspected")
    slider = page.locator(".chat-step-t")
    slider.focus()
    page.keyboard.press("End")
    for _ in range(20):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => JSON.parse(document.querySelector('[data-widget=chat]').dataset.inspected).temperature === 1")
    want = chat.inspect(1, temperature=1.0, top_k=None, top_p=0.9)
    rows = page.locator(".chat-cand:not(.chat-cand-head)")
    assert rows.count() == len(want["candidates"])
    for row, candidate in zip(rows.all(), want["candidates"], strict=True):
        assert row.locator(".chat-cand-text").inner_text() == shown(candidate["text"])
        got = float(row.locator(".chat-num").first.inner_text())
        assert abs(got - candidate["prob"]) <= 0.0015  # 3 decimals, float32 noise aside
    assert "ranks 1 of 49,152 tokens" in page.locator(".chat-step-title").inner_text()

    # Attention: layer 12, head 5.
    page.locator(".chat-layer").select_option(index=11)
    page.locator(".chat-head").select_option(index=4)
    page.wait_for_function("() => document.querySelector('.chat-attn-title').textContent.includes('layer 12, head 5')")
    want = chat.attention(1, 11, 4)
    top = sorted(range(len(want["weights"])), key=lambda i: -want["weights"][i])[:5]
    items = page.locator(".chat-attn-top li").all_inner_texts()
    for item, i in zip(items, top, strict=True):
        assert f"(token {i + 1})" in item
        assert abs(numbers(item)[-1] - want["weights"][i]) <= 0.0015

    # The tree: two deep, three branches, at the view's temperature.
    page.locator(".chat-grow").click()
    page.wait_for_selector(".chat-tree .gx-tree")
    want = chat.tree(1, depth=2, branches=3, temperature=1.0)
    words = page.locator(".chat-tree .gx-tree > li > ul > li:not(.is-unshown) > .gx-word").all_inner_texts()
    assert words == [shown(child["word"]) for child in want["children"]]
    assert page.locator(".chat-tree .gx-node.is-path").count() >= 2  # the reply's own path


def test_stop_ends_the_reply_and_the_next_turn_closes_it(open_page):
    page = open_page(PAGE)
    load(page)
    box = page.locator(".chat-message")
    box.fill("Write a long story about a dragon who learns to cook.")
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.chat-turn.is-model .chat-tok').length >= 3",
                           timeout=LOAD_TIMEOUT)
    page.locator(".chat-stop").click()
    page.wait_for_function("() => !document.querySelector('.chat-send').disabled", timeout=30_000)
    written = page.locator(".chat-turn.is-model .chat-tok").count()
    assert 3 <= written < 12  # stopped within a token or two of the press, far from 200
    assert "Stopped." in page.locator(".chat-announce").inner_text()
    say(page, "Thank you.")
    page.locator(".chat-show-tokens").check()
    second_turn = page.locator(".chat-turn.is-user").nth(1).locator(".chat-chip").all_inner_texts()
    assert second_turn[0] == "<|im_end|>"  # the cut reply is closed before the new turn


def test_a_model_that_cannot_be_fetched_says_why(open_page):
    page = open_page(PAGE, wait_ready=False)
    page.route(re.compile(r".*\.gguf$"), lambda route: route.fulfill(status=404, body="gone"))
    ui.wait_ready_state(page)
    page.locator(".chat-load-button").click()
    error = page.locator("[data-widget=chat] .widget-error")
    error.wait_for(state="visible", timeout=LOAD_TIMEOUT)
    assert "404" in error.inner_text() and "could not be loaded" in error.inner_text()
    assert page.locator(".chat-load-button").is_enabled()  # the reader can try again
    ui.run_cell(page, 1)
    assert "404" in ui.output_text(page, 1)


def test_a_browser_without_the_memory_is_told_so_and_can_try_again(open_page):
    page = open_page(PAGE)
    # Python's memory in the browser ends at 4 GB (wasm32): take 3.8 GB of it, as other arrays
    # of the reader's (or a small device) would, so the model's float32 weights cannot fit.
    hog = ("import numpy as np\n"
           "hogs = [np.ones(25_000_000) for _ in range(19)]\n"
           "print(sum(h.nbytes for h in hogs))")
    ran = page.evaluate("""async (code) => lmlab.python.run(lmlab.page.slug, "hog", code)""", hog)
    assert ran
    page.locator(".chat-load-button").click()
    error = page.locator("[data-widget=chat] .widget-error")
    error.wait_for(state="visible", timeout=LOAD_TIMEOUT)
    assert "could not give Python the memory the model needs" in error.inner_text()
    assert page.locator(".chat-load-text").inner_text() == "Not loaded. Press Load to try again."
    # The page is still usable: free the memory, and Load works.
    assert page.evaluate("""async () => lmlab.python.run(lmlab.page.slug, "free", "del hogs")""")
    load(page)
    assert error.is_hidden()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_and_a_phone_with_a_step_open(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme, viewport={"width": 375, "height": 800})
    load(page)
    greedy(page)
    say(page, "What is the capital of France?")
    page.locator(".chat-tok").first.click()
    page.wait_for_function("() => document.querySelector('[data-widget=chat]').dataset.inspected")
    page.locator(".chat-grow").click()
    page.wait_for_selector(".chat-tree .gx-tree")
    page.locator(".chat-show-tokens").check()
    assert ui.horizontal_overflow(page) <= 0
    ui.assert_no_axe_violations(page)
