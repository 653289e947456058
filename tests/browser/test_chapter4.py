"""Chapter 4 as a reader uses it: the GloVe vectors arriving, the skip-gram dynamics widget (Step,
Play/Pause, the scrubber, seed, window and k, every figure against CPython's lmlab), the one-hot
triangle and its text alternative, the EmbeddingSpaceExplorer from the keyboard (neighbours,
filters, search, before and after training, analogies, a direction as the horizontal axis, the
reader's own cosine and analogy), the four exercises, axe-core in both themes, a 375 px phone
and shareable state in the URL. (Every cell's live output equal to the built one:
test_prerendered.py, for every chapter.)"""

import json
import re
import sys

import conftest as ui
import pytest
from printed import fixed

REPO = ui.REPO
SLUG = "04-embeddings"
PAGE = f"{SLUG}.html"


def lmlab_embeddings():
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from lmlab import embeddings

    return embeddings


def explorer(page):
    return page.locator('[data-widget="embedding-explorer"]')


def wait_drawn(page, action) -> None:
    """Do something to the explorer and wait until it has redrawn."""
    page.evaluate("""() => { window.__drawn = false; document.querySelector('[data-widget=embedding-explorer]')
        .addEventListener('widget:drawn', () => { window.__drawn = true; }, { once: true }); }""")
    action()
    page.wait_for_function("() => window.__drawn")


def shown_neighbours(page) -> list[tuple[str, str]]:
    items = explorer(page).locator(".ee-detail .ee-neighbours li").all()
    return [(i.locator(".ee-word").inner_text(), i.locator(".ee-cos").inner_text()) for i in items]


def focused_word(page) -> str:
    return explorer(page).locator(".ee-pt.is-focused text").text_content()


# --- the data and the cells -------------------------------------------------------------------

def test_the_page_fetches_the_glove_subset_and_a_cell_reads_it(open_page):
    page = open_page(PAGE)
    listed = json.loads(page.evaluate("document.getElementById('page-data').textContent"))
    assert sorted(e["file"] for e in listed) == ["glove-50d-words.txt", "glove-50d.npy",
                                                 "shakespeare.txt"]
    # the word vectors' bar: at most 1.5 MB on the wire (tiny-shakespeare is chapter 3's text)
    assert sum(e["bytes"] for e in listed if e["file"].startswith("glove")) <= 1_500_000
    number = ui.cell_number(page, "glove")
    assert ui.run_cell(page, number) == "done"
    assert ui.output_text(page, number).startswith("10,020 words, 50 numbers each")


# --- the skip-gram dynamics widget ------------------------------------------------------------

def lmlab_word2vec():
    lmlab_embeddings()  # puts py/ on the path
    from lmlab import word2vec

    return word2vec


def dynamics(page):
    return page.locator('[data-widget="skipgram-dynamics"]')


def expected_readout(seed: int, window: int, k: int, step: int) -> list[str]:
    """The pieces of the readout at `step` (1-based), from CPython's lmlab: the words of the step
    and its figures at the 3 decimals shown (checked clear of a rounding edge)."""
    w2v = lmlab_word2vec()
    view = w2v.skipgram_dynamics(seed=seed, window=window, k=k)
    trace = w2v.sgns_trace(w2v.TOY_CORPUS, window=window, negatives=k, seed=seed)
    parts = w2v.sgns_step_parts(trace)
    t = step - 1
    shown = {}
    for name, raw in (("loss", trace["loss"][t]), ("p_before", parts["p_before"][t]),
                      ("p_after", parts["p_after"][t])):
        shown[name] = fixed(raw, 3)
        # the page's copy (integer thousandths, which it divides by 1000) prints the same
        assert f"{view[name][t] / 1000:.3f}" == shown[name]
    words, k = view["words"], view["k"]
    epoch = t // view["epoch_steps"] + 1
    return [
        f"Step {step:,} of {view['steps']:,} (epoch {epoch}): centre {words[view['centre'][t]]}, "
        f"neighbour {words[view['context'][t]]}, negatives ",
        f"Loss of this pair {shown['loss']};",
        f"{shown['p_before']} before the step and {shown['p_after']} after.",
        *(words[i] for i in view["negatives"][t * k : (t + 1) * k]),
    ]


def wait_for_run(page) -> None:
    """Wait until the dynamics widget holds the whole run: the page carries only its first paint,
    and the run is computed by Python once it is ready (the controls wait for it)."""
    page.wait_for_function("""() => { const w = document.querySelector('[data-widget=skipgram-dynamics]');
        return !w.querySelector('.sg').hasAttribute('aria-busy') && !w.querySelector('.sg-play').disabled; }""")


def sg_step(page) -> int:
    return int(dynamics(page).get_attribute("data-step"))


def assert_readout(page, seed, window, k, step):
    assert sg_step(page) == step
    text = " ".join(dynamics(page).locator(".sg-readout").inner_text().split())
    for piece in expected_readout(seed, window, k, step):
        assert piece in text, (piece, text)


def pre_rendered_dynamics(browser, server) -> dict:
    """The dynamics widget as the page shows it with no script: its figure, readout, scrubber,
    and the state the page embeds."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    widget = dynamics(page)
    shown = {
        "points": widget.locator(".sg-pt").count(),
        "max": widget.locator(".sg-scrubber").get_attribute("max"),
        "readout": " ".join(widget.locator(".sg-readout").inner_text().split()),
        "loss lines": widget.locator(".sg-loss").count(),
        "embedded": widget.locator("script.widget-state").text_content(),
        "figure": widget.locator(".sg-figure").inner_html(),
    }
    context.close()
    return shown


def plotted_points(figure: str) -> list[tuple[str, str, tuple[float, float]]]:
    """(word, classes, (x, y)) of every dot in a .sg-figure's markup, in drawing order."""
    found = re.findall(r'<g class="([^"]+)" transform="translate\(([-\d.]+) ([-\d.]+)\)">'
                       r'<circle r="5"></circle><text x="7" y="4">([^<]+)</text>', figure)
    assert found
    return [(word, cls, (float(x), float(y))) for cls, x, y, word in found]


def test_the_dynamics_widget_is_drawn_before_any_script_runs(browser, server):
    shown = pre_rendered_dynamics(browser, server)
    view = lmlab_word2vec().skipgram_dynamics()
    steps = view["steps"]
    assert shown["points"] == len(view["words"]) == 20
    assert shown["max"] == str(steps)
    assert shown["readout"].startswith(f"Step {steps:,} of {steps:,}")
    for piece in expected_readout(0, 2, 5, steps):
        assert piece in shown["readout"], (piece, shown["readout"])
    assert shown["loss lines"] == 1
    # the page carries the first paint, not the run: a few KB, no per-step arrays
    embedded = json.loads(shown["embedded"])
    assert len(shown["embedded"]) < 10_000
    assert {"positions", "move", "curve"} <= set(embedded) and "push" not in embedded
    assert len(embedded["positions"]) == 20 and embedded["step"] == steps


def test_the_run_comes_from_python_and_draws_what_the_page_showed(browser, server, open_page):
    first_paint = pre_rendered_dynamics(browser, server)["figure"]
    page = open_page(PAGE, wait_ready=False)
    # record every state the widget goes through while Python starts and computes the run
    page.evaluate("""() => { window.__states = [];
        const w = document.querySelector('[data-widget=skipgram-dynamics]');
        const note = () => window.__states.push([w.querySelector('.sg').getAttribute('aria-busy'),
          w.querySelector('.widget-status').textContent.trim(), w.querySelector('.sg-play').disabled]);
        new MutationObserver(note).observe(w, { subtree: true, attributes: true, childList: true, characterData: true }); }""")
    ui.wait_ready_state(page)
    wait_for_run(page)
    states = page.evaluate("window.__states")
    busy = [s for s in states if s[0] == "true"]
    assert busy and all(s[1] == "Computing the run in your browser..." and s[2] for s in busy)
    assert states[-1][0] is None and states[-1][1].startswith("Live:") and not states[-1][2]
    # the live run at its last step draws what the page carried: the same words marked, each
    # at the same place (within a pixel: Pyodide's floats may differ from CPython's in the last
    # bits, and a figure on a rounding edge of 3 decimals may then move by a fraction of one)
    live, built = plotted_points(dynamics(page).locator(".sg-figure").inner_html()), plotted_points(first_paint)
    assert [(word, cls) for word, cls, _ in live] == [(word, cls) for word, cls, _ in built]
    for (_, _, at), (_, _, was) in zip(live, built, strict=True):
        assert abs(at[0] - was[0]) <= 1 and abs(at[1] - was[1]) <= 1
    assert sg_step(page) == lmlab_word2vec().skipgram_dynamics()["steps"]


def test_a_shared_step_lands_once_the_run_is_there(open_page):
    page = open_page(PAGE)
    key = dynamics(page).locator(".sg-scrubber").get_attribute("id").split("-")[0]
    page.goto(page.url.split("#")[0] + f"#{key}-step=321")
    page.reload()
    ui.wait_ready_state(page)
    wait_for_run(page)
    assert_readout(page, 0, 2, 5, 321)
    assert dynamics(page).locator(".sg-scrubber").input_value() == "321"


def test_retraining_says_so_at_once(open_page):
    page = open_page(PAGE)
    wait_for_run(page)
    # the same task as the change: busy and told so before Python has answered
    at_once = page.evaluate("""() => { const w = document.querySelector('[data-widget=skipgram-dynamics]');
        const seed = w.querySelector('.sg-seed'); seed.value = '4';
        seed.dispatchEvent(new Event('change', { bubbles: true }));
        return [w.querySelector('.sg').getAttribute('aria-busy'), w.querySelector('.widget-status').textContent]; }""")
    assert at_once == ["true", "Training with seed 4, window 2, k 5..."]
    wait_for_run(page)
    page.wait_for_function("() => location.hash.includes('seed=4')")
    assert dynamics(page).locator(".widget-status").inner_text().startswith("Live:")
    step = sg_step(page)
    assert_readout(page, 4, 2, 5, step)


def test_the_keyboard_steps_through_training_and_every_figure_is_lmlabs(open_page):
    page = open_page(PAGE)
    wait_for_run(page)
    scrubber = dynamics(page).locator(".sg-scrubber")
    scrubber.focus()
    page.keyboard.press("Home")
    assert sg_step(page) == 0
    assert dynamics(page).locator(".sg-readout").inner_text().startswith("Before training")
    # Tab back to the Step button and press it: one SGD step at a time
    step_button = dynamics(page).locator(".sg-step")
    step_button.focus()
    for expected in (1, 2, 3):
        page.keyboard.press("Enter")
        assert_readout(page, 0, 2, 5, expected)
    # the first step moves nothing: no arrow drawn; later steps have a pull arrow
    scrubber.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert dynamics(page).locator(".sg-pull, .sg-push").count() == 0
    for _ in range(400):
        page.keyboard.press("ArrowRight")
    assert_readout(page, 0, 2, 5, 401)
    assert dynamics(page).locator(".sg-pull").count() == 1
    assert dynamics(page).locator(".sg-pt.is-centre").count() == 1
    assert dynamics(page).locator(".sg-pt.is-context").count() == 1
    assert "step 401 of" in scrubber.get_attribute("aria-valuetext")
    page.wait_for_function("() => document.querySelector('.sg-announce').textContent.startsWith('Step 401')")
    assert "step=401" in page.evaluate("location.hash")


def test_play_and_pause(open_page):
    page = open_page(PAGE)
    wait_for_run(page)
    play = dynamics(page).locator(".sg-play")
    play.click()  # at the end: starts again from step 0
    assert play.get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => Number(document.querySelector('[data-widget=skipgram-dynamics]').dataset.step) > 50")
    play.press("Enter")  # pause, from the keyboard
    assert play.get_attribute("aria-pressed") == "false" and play.inner_text() == "Play"
    paused = sg_step(page)
    page.wait_for_timeout(300)
    assert sg_step(page) == paused
    assert_readout(page, 0, 2, 5, paused)


def test_with_reduced_motion_play_jumps_a_pass_at_a_time(open_page):
    page = open_page(PAGE, reduced_motion="reduce")
    wait_for_run(page)
    epoch = lmlab_word2vec().skipgram_dynamics()["epoch_steps"]
    page.evaluate("""() => { window.__steps = [];
        document.querySelector('[data-widget=skipgram-dynamics]').addEventListener('widget:drawn',
          (e) => window.__steps.push(Number(e.currentTarget.dataset.step))); }""")
    dynamics(page).locator(".sg-play").click()
    page.wait_for_function("() => window.__steps.length >= 2", timeout=10_000)
    dynamics(page).locator(".sg-play").click()
    steps = page.evaluate("window.__steps")
    assert steps[:2] == [epoch, 2 * epoch]


def test_seed_window_and_k_retrain_in_python_and_are_shared_in_the_url(open_page):
    page = open_page(PAGE)
    wait_for_run(page)
    w2v = lmlab_word2vec()
    widget = dynamics(page)
    widget.locator(".sg-window").select_option("1")
    expected_steps = len(w2v.skipgram_dynamics(window=1)["centre"])
    page.wait_for_function(f"() => document.querySelector('.sg-scrubber').max === '{expected_steps}'")
    widget.locator(".sg-k").select_option("2")
    widget.locator(".sg-seed").fill("7")
    widget.locator(".sg-seed").dispatch_event("change")
    steps = len(w2v.skipgram_dynamics(seed=7, window=1, k=2)["centre"])
    page.wait_for_function("() => location.hash.includes('seed=7') && location.hash.includes('k=2')")
    widget.locator(".sg-scrubber").fill("250")
    assert_readout(page, 7, 1, 2, 250)
    assert widget.locator(".sg-scrubber").get_attribute("max") == str(steps)
    assert "window=1" in page.evaluate("location.hash")
    # the link reopens the same run at the same step
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelector('[data-widget=skipgram-dynamics]').dataset.step === '250'")
    assert widget.locator(".sg-window").input_value() == "1"
    assert_readout(page, 7, 1, 2, 250)


# --- the explorer -----------------------------------------------------------------------------

def test_the_explorer_is_drawn_before_any_script_runs(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    points = page.locator('[data-widget="embedding-explorer"] .ee-pt')
    words, _ = lmlab_embeddings().explorer_words()
    assert points.count() == len(words)
    assert "PCA" in page.locator(".ee-pca").inner_text()
    context.close()


def test_arrow_keys_move_between_words_and_show_lmlabs_neighbours(open_page):
    page = open_page(PAGE)
    views = lmlab_embeddings().explorer_views(k=5, seed=0)
    explorer(page).locator(".ee-plot").focus()
    seen = set()
    for key in ["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp", "ArrowRight", "ArrowRight"]:
        page.keyboard.press(key)
        word = focused_word(page)
        seen.add(word)
        i = views["trained"]["words"].index(word)
        expected = [(w, f"{c:.3f}") for w, c in views["trained"]["neighbours"][i]]
        assert shown_neighbours(page) == expected
    assert len(seen) >= 3
    announced = explorer(page).locator(".ee-announce").inner_text()
    assert announced.startswith(focused_word(page)) and "Nearest:" in announced


def test_hover_focuses_a_word(open_page):
    page = open_page(PAGE)
    point = explorer(page).locator('.ee-pt text', has_text="queen").first
    point.hover()
    assert focused_word(page) == "queen"


def test_before_training_the_neighbours_are_random(open_page):
    page = open_page(PAGE)
    views = lmlab_embeddings().explorer_views(k=5, seed=0)
    explorer(page).locator(".ee-q").fill("cat")
    explorer(page).locator(".ee-search button").click()
    assert focused_word(page) == "cat"
    assert shown_neighbours(page)[0][0] == "dog"
    explorer(page).locator('.ee-view input[value="random"]').check()
    i = views["random"]["words"].index("cat")
    assert shown_neighbours(page) == [(w, f"{c:.3f}") for w, c in views["random"]["neighbours"][i]]
    assert "random" in page.evaluate("location.hash")


def test_a_hidden_cluster_is_skipped_by_the_keyboard(open_page):
    page = open_page(PAGE)
    views = lmlab_embeddings().explorer_views(k=5, seed=0)
    animals = {w for w, c in zip(views["trained"]["words"], views["trained"]["clusters"], strict=True)
               if c == "animals"}
    explorer(page).locator(".ee-filter", has_text="animals").locator("input").uncheck()
    assert explorer(page).locator(".ee-pt.is-hidden").count() == len(animals)
    explorer(page).locator(".ee-plot").focus()
    for _ in range(12):
        page.keyboard.press("ArrowRight")
        assert focused_word(page) not in animals
        page.keyboard.press("ArrowDown")
        assert focused_word(page) not in animals


def test_the_analogy_mode_solves_and_draws_arrows(open_page):
    page = open_page(PAGE)
    box = explorer(page).locator(".ee-analogy-box")
    box.locator("summary").click()
    wait_drawn(page, lambda: box.locator("button").click())
    answers = box.locator(".ee-answers li").all()
    assert answers[0].inner_text().split() == ["queen", "0.852"]
    assert "king (cosine" in box.locator(".ee-inputs").inner_text()
    assert explorer(page).locator(".ee-arrow").count() == 2
    assert "a=man" in page.evaluate("location.hash")


def test_a_shared_link_reopens_the_word_view_and_analogy(open_page):
    page = open_page(PAGE)
    key = explorer(page).locator(".ee-plot").evaluate("e => e.getAttribute('aria-describedby').split('-')[0]")
    page.goto(page.url.split("#")[0] + f"#{key}-word=tokyo&{key}-a=france&{key}-b=paris&{key}-c=italy")
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelectorAll('.ee-answers li').length > 0")
    assert focused_word(page) == "tokyo"
    assert explorer(page).locator(".ee-answers li").first.inner_text().split()[0] == "rome"


def test_the_readers_cosine_ranks_the_neighbours(open_page):
    page = open_page(PAGE)
    number = ui.cell_number(page, "cosine")
    ui.set_code(page, number, "import numpy as np\n\ndef cosine(a, b):\n    return -float(a @ b)\n")
    assert ui.run_cell(page, number) == "done"
    explorer(page).locator(".ee-mine").check()
    explorer(page).locator(".ee-q").fill("king")
    explorer(page).locator(".ee-search button").click()
    page.wait_for_function("() => document.querySelector('.ee-focus-title').textContent.includes('your cosine')")
    # a deliberately odd cosine (minus the dot product) puts the least similar words first
    words = [w for w, _ in shown_neighbours(page)]
    views = lmlab_embeddings().explorer_views(k=5, seed=0)
    assert "queen" not in words and "prince" not in words
    assert len(words) == 5 and all(w in views["trained"]["words"] for w in words)


GENDER = [("man", "woman"), ("he", "she"), ("boy", "girl"), ("father", "mother"), ("his", "her"),
          ("son", "daughter")]


def point_positions(page) -> dict[str, tuple[float, float]]:
    """Each drawn word's position in the plot, as its transform says."""
    return dict(page.evaluate("""() => [...document.querySelectorAll('.ee-pt')].map(g => {
        const [x, y] = g.getAttribute('transform').match(/[-\\d.]+/g).map(Number);
        return [g.querySelector('text').textContent, [x, y]]; })"""))


def test_the_one_hot_triangle_is_drawn_with_its_numbers_in_words(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server["isolated"] + PAGE)
    figure = page.locator("#cell-triangle").locator("xpath=..").locator('svg[role="img"]')
    label = figure.get_attribute("aria-label")
    assert label.count("distance 1.414, cosine 0.000") == 3 and "cat (1, 0, 0)" in label
    assert figure.locator("circle").count() == 3
    context.close()


def test_the_horizontal_axis_becomes_the_gender_direction_from_the_keyboard(open_page):
    page = open_page(PAGE)
    embeddings = lmlab_embeddings()
    layout = embeddings.explorer_direction(GENDER)
    words, _ = embeddings.explorer_words()
    before = point_positions(page)
    radio = explorer(page).locator('.ee-axis input[value="gender"]')
    explorer(page).locator('.ee-axis input[value="pca"]').focus()
    wait_drawn(page, lambda: page.keyboard.press("ArrowRight"))
    assert radio.is_checked()
    after = point_positions(page)
    assert after != before
    # the drawn order along the horizontal axis is lmlab's projection on the direction
    drawn = sorted(words, key=lambda w: after[w][0])
    expected = [words[i] for i in sorted(range(len(words)), key=lambda i: layout["x"][i])]
    assert drawn[:5] == expected[:5] and drawn[-5:] == expected[-5:]
    assert after["woman"][0] > after["man"][0] and after["queen"][0] > after["king"][0]
    said = explorer(page).locator(".ee-pca").inner_text()
    assert "gender direction" in said and "man → woman" in said and "first principal" in said
    assert f"{fixed(100 * layout['variance'][0], 1)}%" in said
    assert "← man" in explorer(page).locator(".ee-axes").text_content()
    assert "gender direction" in explorer(page).locator(".ee-announce").inner_text()
    assert "axis=gender" in page.evaluate("location.hash")
    # arrow keys on the map now move along the new positions
    explorer(page).locator(".ee-q").fill("king")
    explorer(page).locator(".ee-search button").click()
    page.keyboard.press("ArrowRight")
    assert after[focused_word(page)][0] > after["king"][0]


def test_a_typed_pair_is_an_axis_and_a_shared_link_brings_it_back(open_page):
    page = open_page(PAGE)
    layout = lmlab_embeddings().explorer_direction([("sad", "happy")])
    words, _ = lmlab_embeddings().explorer_words()
    explorer(page).locator(".ee-from").fill("sad")
    explorer(page).locator(".ee-to").fill("happy")
    wait_drawn(page, lambda: explorer(page).locator(".ee-to").press("Enter"))
    assert explorer(page).locator('.ee-axis input[value="own"]').is_checked()
    shown = point_positions(page)
    best = max(range(len(words)), key=lambda i: layout["x"][i])
    assert max(words, key=lambda w: shown[w][0]) == words[best]
    assert "sad → happy" in explorer(page).locator(".ee-pca").inner_text()
    link = page.evaluate("location.hash")
    assert "axis=own" in link and "from=sad" in link and "to=happy" in link
    page.goto(page.url.split("#")[0] + link)
    page.reload()
    ui.wait_ready_state(page)
    page.wait_for_function("() => document.querySelector('.ee-pca').textContent.includes('sad → happy')")
    assert point_positions(page) == shown
    # a word the vectors do not have: the error says so and the principal component comes back
    explorer(page).locator(".ee-to").fill("notaword")
    wait_drawn(page, lambda: explorer(page).locator(".ee-own button").click())
    assert "notaword" in explorer(page).locator(".widget-error").inner_text()
    assert explorer(page).locator('.ee-axis input[value="pca"]').is_checked()
    assert "PCA" in explorer(page).locator(".ee-pca").inner_text()


def solve_analogy(page) -> None:
    box = explorer(page).locator(".ee-analogy-box")
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    wait_drawn(page, lambda: box.locator(".ee-c").press("Enter"))


def test_use_my_analogy_explains_until_defined_then_answers_next_to_lmlabs(open_page):
    page = open_page(PAGE)
    box = explorer(page).locator(".ee-analogy-box")
    box.locator("summary").click()
    switch = explorer(page).locator(".ee-mine-analogy")
    switch.focus()
    page.keyboard.press("Space")
    assert switch.is_checked()
    solve_analogy(page)
    # not defined yet: a clear message, and lmlab's answer is what is shown
    error = explorer(page).locator(".widget-error")
    assert "defines analogy() first" in error.inner_text()
    assert box.locator(".ee-answers li").first.inner_text().split() == ["queen", "0.852"]
    # a reader's analogy that answers something else: marked, and ranked in lmlab's list
    number = ui.cell_number(page, "analogy")
    ui.set_code(page, number, "def analogy(a, b, c, vectors):\n    return 'princess'\n")
    assert ui.run_cell(page, number) == "done"
    solve_analogy(page)
    assert error.is_hidden()
    expected = lmlab_embeddings().explorer_reader_analogy("man", "king", "woman", lambda *_: "princess")
    said = box.locator(".ee-yours").inner_text()
    assert "princess" in said and f"number {expected['rank']} in lmlab's list" in said
    assert "lmlab's answer is queen" in said
    assert explorer(page).locator(".ee-mark.is-yours").count() == 1
    assert "mine=analogy" in page.evaluate("location.hash")
    # a reader's analogy that fails: its error, and lmlab's answer still shown
    ui.set_code(page, number, "def analogy(a, b, c, vectors):\n    return vectors.nope\n")
    assert ui.run_cell(page, number) == "done"
    solve_analogy(page)
    assert "did not work" in error.inner_text() and "nope" in error.inner_text()
    assert box.locator(".ee-answers li").first.inner_text().split()[0] == "queen"
    assert box.locator(".ee-yours").count() == 0


def test_my_analogy_with_the_solution_agrees_with_lmlab_on_the_direction_axis(open_page):
    page = open_page(PAGE)
    assert ui.run_cell(page, ui.cell_number(page, "glove")) == "done"
    number = ui.cell_number(page, "analogy")
    ui.set_code(page, number, (
        "import numpy as np\n\ndef analogy(a, b, c, vectors):\n"
        "    unit = lambda w: vectors.unit[vectors.index[w]]\n"
        "    scores = vectors.unit @ (unit(b) - unit(a) + unit(c))\n"
        "    for w in (a, b, c):\n        scores[vectors.index[w]] = -np.inf\n"
        "    return vectors.words[int(np.argmax(scores))]\n"))
    assert ui.run_cell(page, number) == "done"
    wait_drawn(page, lambda: explorer(page).locator('.ee-axis input[value="gender"]').check())
    explorer(page).locator(".ee-analogy-box summary").click()
    explorer(page).locator(".ee-mine-analogy").check()
    solve_analogy(page)
    said = explorer(page).locator(".ee-yours").inner_text()
    assert "queen" in said and "lmlab's answer too" in said
    # the marks sit on the points as drawn along the direction
    queen = point_positions(page)["queen"]
    mark = page.evaluate("""() => document.querySelector('.ee-mark.is-yours').getAttribute('transform')
        .match(/[-\\d.]+/g).map(Number)""")
    assert abs(mark[0] - queen[0]) < 0.2 and abs(mark[1] - queen[1]) < 0.2


# --- the exercises ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cosine", "odd_one_out", "cbow_grads", "analogy"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    if name in ("odd_one_out", "analogy"):
        assert ui.run_cell(page, ui.cell_number(page, "glove")) == "done"  # they use `glove`
    sigmoid = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n" if name == "cbow_grads" else ""
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, name),
                                         "import numpy as np\n" + sigmoid)


# --- accessibility, layout, speed -------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_in_the_dynamics_widget_mid_run(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    wait_for_run(page)
    dynamics(page).locator(".sg-scrubber").fill("600")
    dynamics(page).locator(".sg-step").click()
    assert sg_step(page) == 601
    ui.assert_no_axe_violations(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_before_and_after_use(open_page, scheme):
    page = open_page(PAGE, color_scheme=scheme)
    ui.assert_no_axe_violations(page)
    explorer(page).locator(".ee-plot").focus()
    page.keyboard.press("ArrowRight")
    wait_drawn(page, lambda: explorer(page).locator('.ee-axis input[value="gender"]').check())
    box = explorer(page).locator(".ee-analogy-box")
    box.locator("summary").click()
    box.locator(".ee-mine-analogy").check()
    wait_drawn(page, lambda: box.locator("button").click())  # the reader's analogy: not defined
    assert explorer(page).locator(".widget-error").is_visible()
    ui.assert_no_axe_violations(page)


def test_usable_at_375_px(open_page):
    page = open_page(PAGE, viewport={"width": 375, "height": 800})
    assert ui.horizontal_overflow(page) <= 0
    explorer(page).locator(".ee-analogy-box summary").click()
    wait_drawn(page, lambda: explorer(page).locator('.ee-axis input[value="gender"]').check())
    for part in (".ee-axis", ".ee-own", ".ee-analogy"):
        box = explorer(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
    box = explorer(page).locator(".ee-svg").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert ui.horizontal_overflow(page) <= 0
    dynamics(page).locator(".sg-scrubber").fill("900")
    for part in (".sg-plot", ".sg-chart", ".sg-controls", ".sg-scrubber"):
        box = dynamics(page).locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, part
    assert ui.horizontal_overflow(page) <= 0

