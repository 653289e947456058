"""The runtime as a reader meets it: cells, streaming, escaping, errors, Stop, Restart,
persistence, navigation, keyboard use and accessibility, with and without cross-origin isolation."""


import pytest
from conftest import (
    REPO,
    assert_no_axe_violations,
    cell,
    horizontal_overflow,
    keep_a_variable_then_stop_a_loop,
    output_text,
    run_cell,
    set_code,
    shown_code,
    wait_ready_state,
    wait_saved_start,
    wait_until,
)

TOUR = "00-how-this-book-works.html"
CHAPTERS = sorted(p.stem for p in (REPO / "web" / "chapters").glob("*.md"))


def chapter_cell_count(page) -> int:
    return page.locator(".cell").count()


def test_index_lists_chapters_and_shows_progress_before_python(open_page):
    page = open_page("", wait_ready=False)
    assert page.locator("#python-status progress").count() == 1
    links = page.locator(".toc a")
    assert links.count() == len(CHAPTERS)
    wait_ready_state(page)
    assert page.locator("#python-status").inner_text().strip() == "Python ready"


def test_prerendered_output_is_there_before_python(open_page):
    page = open_page(TOUR, wait_ready=False)
    assert "Hello from Python" in output_text(page, 1)
    assert cell(page, 1).get_attribute("data-state") == "prerendered"


def test_run_queued_before_ready_runs_once_ready(open_page):
    page = open_page(TOUR, wait_ready=False)
    cell(page, 7).locator(".cell-run").click()
    state = cell(page, 7).get_attribute("data-state")
    if not page.locator("#python-status[data-state=ready]").count():
        assert state == "queued"
    page.wait_for_selector('.cell[data-number="7"][data-state=done]', timeout=90_000)
    assert output_text(page, 7).strip() == "5050"


def test_edit_and_run_with_shared_namespace_and_last_expression(open_page):
    page = open_page(TOUR)
    set_code(page, 1, "secret = 6 * 7")
    assert run_cell(page, 1) == "done"
    set_code(page, 2, "print('side effect')\nsecret")
    assert run_cell(page, 2) == "done"
    assert output_text(page, 2).split() == ["side", "effect", "42"]


def test_stdout_streams_while_the_cell_runs(open_page):
    page = open_page(TOUR)
    set_code(page, 3, "import time\nfor i in range(6):\n    print('tick', i)\n    time.sleep(0.4)")
    cell(page, 3).locator(".cell-run").click()
    page.wait_for_function(
        """() => { const c = document.querySelector('.cell[data-number="3"]');
                   return c.dataset.state === 'running' && c.querySelector('.cell-output').innerText.includes('tick 1'); }""",
        timeout=30_000,
    )
    assert "tick 5" not in output_text(page, 3)
    page.wait_for_selector('.cell[data-number="3"][data-state=done]', timeout=30_000)
    assert "tick 5" in output_text(page, 3)


def test_output_is_escaped_text_unless_displayed(open_page):
    page = open_page(TOUR)
    set_code(page, 4, 'print("<img src=x onerror=alert(1)>")\n"<b>bold?</b>"')
    assert run_cell(page, 4) == "done"
    output = cell(page, 4).locator(".cell-output")
    assert output.locator("img, b").count() == 0
    assert "<img src=x onerror=alert(1)>" in output.inner_text()
    assert "'<b>bold?</b>'" in output.inner_text()
    assert run_cell(page, 5) == "done"
    assert cell(page, 5).locator(".cell-output svg rect").count() == 1


def test_error_shows_the_readers_frames_with_line_numbers(open_page):
    page = open_page(TOUR)
    set_code(page, 6, "def f(x):\n    return 1 / x\n\ny = 3\nf(0)")
    assert run_cell(page, 6) == "error"
    text = output_text(page, 6)
    assert 'File "<cell 6>", line 5' in text
    assert 'File "<cell 6>", line 2, in f' in text
    assert "ZeroDivisionError: division by zero" in text
    assert "lmlab_kernel" not in text and "_pyodide" not in text
    set_code(page, 7, "y + 1")  # the page is still usable and the cell's assignments stuck
    assert run_cell(page, 7) == "done"
    assert output_text(page, 7).strip() == "4"


def test_syntax_error_points_at_the_line(open_page):
    page = open_page(TOUR)
    set_code(page, 7, "x = 1\nif x\n    pass")
    assert run_cell(page, 7) == "error"
    text = output_text(page, 7)
    assert 'File "<cell 7>", line 2' in text and "SyntaxError" in text


@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "plain"])
def test_stop_an_infinite_loop_then_keep_working(open_page, isolated):
    page = open_page(TOUR, isolated=isolated)
    assert page.evaluate("crossOriginIsolated") is isolated
    keep_a_variable_then_stop_a_loop(page)
    if isolated:
        assert "KeyboardInterrupt" in output_text(page, 2)
    else:
        assert "Stopped" in output_text(page, 2)
        assert "were run again" in page.locator("#notices").inner_text()
    set_code(page, 7, "kept")
    assert run_cell(page, 7, timeout=90_000) == "done"
    assert output_text(page, 7).strip() == "'still here'"


def test_restart_gives_a_fresh_namespace(open_page):
    page = open_page(TOUR)
    set_code(page, 1, "before_restart = 1")
    assert run_cell(page, 1) == "done"
    page.click("[data-action=restart]")
    set_code(page, 7, "before_restart")
    assert run_cell(page, 7, timeout=90_000) == "error"
    assert "NameError" in output_text(page, 7)


def test_later_visits_start_python_from_the_saved_start_up(open_page):
    page = open_page(TOUR)
    assert page.evaluate("lmlab.python.restoredStart") is False
    wait_saved_start(page)
    draws = []
    for visit in range(3):
        set_code(page, 1, "import random\nprint(random.random())")
        assert run_cell(page, 1) == "done"
        draws.append(output_text(page, 1).strip())
        page.reload()
        wait_ready_state(page)
        assert page.evaluate("lmlab.python.restoredStart") is True, f"visit {visit + 2}"
    assert run_cell(page, 7) == "done"  # numpy and lmlab load on top of the restored start
    # The saved start-up holds the random module's state; each restore reseeds it.
    assert len(set(draws)) == 3, draws


DAMAGE = {
    # cut short, as by a full disk
    "cut short": "(bytes) => bytes.slice(0, 4096)",
    # the right size, but not a snapshot Pyodide recognises (its header overwritten)
    "overwritten": "(bytes) => { new Uint8Array(bytes).fill(7, 0, 64); return bytes; }",
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_saved_start_up_is_thrown_away(open_page, damage):
    page = open_page(TOUR)
    wait_saved_start(page)
    page.evaluate(
        f"""async () => {{
            const cache = await caches.open("lmlab-python-start");
            const [request] = await cache.keys();
            const saved = await cache.match(request);
            const damaged = ({DAMAGE[damage]})(await saved.arrayBuffer());
            await cache.put(request, new Response(damaged, {{ headers: saved.headers }}));
            // and one from an earlier edition of the site, which the next save drops
            await cache.put(request.url.replace(/-[0-9a-f]+$/, "-0123456789abcdef"), new Response("old"));
        }}"""
    )
    page.reload()
    wait_ready_state(page)
    assert page.evaluate("lmlab.python.restoredStart") is False
    assert run_cell(page, 7) == "done"
    wait_saved_start(page)  # a good one replaces it
    wait_until(page, "async () => (await (await caches.open('lmlab-python-start')).keys()).length === 1")
    page.reload()
    wait_ready_state(page)
    assert page.evaluate("lmlab.python.restoredStart") is True


def test_a_runaway_print_is_cut_off_and_the_page_survives(open_page):
    page = open_page(TOUR)
    set_code(page, 3, "for i in range(2_000_000):\n    print('spam spam spam spam')")
    assert run_cell(page, 3, timeout=120_000) == "done"
    text = output_text(page, 3)
    assert "output cut off" in text
    assert len(text) < 1_200_000
    assert run_cell(page, 7) == "done"


def test_edits_persist_across_reload_reset_and_reset_all(open_page):
    page = open_page(TOUR)
    set_code(page, 2, "'edited two'")
    set_code(page, 7, "'edited seven'")
    assert cell(page, 2).locator(".cell-reset").is_visible()
    page.reload()
    wait_ready_state(page)
    assert "edited two" in shown_code(page, 2)
    assert "edited seven" in shown_code(page, 7)
    cell(page, 2).locator(".cell-reset").click()
    assert "message.upper()" in shown_code(page, 2)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-action=reset-all]")
    assert "sum(range(1, 101))" in shown_code(page, 7)
    page.reload()
    wait_ready_state(page)
    assert "sum(range(1, 101))" in shown_code(page, 7)
    assert not cell(page, 7).locator(".cell-reset").is_visible()


def test_a_cell_changed_by_the_book_since_the_reader_edited_it_says_so(open_page):
    page = open_page(TOUR)
    # An edit saved against an older edition of cell 7 (a different hash of its original code).
    page.evaluate(
        """() => localStorage.setItem('lmlab:edit:00-how-this-book-works:c7',
             JSON.stringify({base: 'an-older-edition', code: 'my_old_version = 1'}))"""
    )
    page.reload()
    wait_ready_state(page)
    notice = cell(page, 7).locator(".cell-changed")
    assert notice.is_visible()
    assert "changed in the book" in notice.inner_text()
    assert "my_old_version" in shown_code(page, 7)
    notice.locator(".cell-changed-keep").click()
    page.reload()
    wait_ready_state(page)
    assert not cell(page, 7).locator(".cell-changed").is_visible()
    assert "my_old_version" in shown_code(page, 7)


def test_next_chapter_keeps_python_running(open_page):
    page = open_page(TOUR)
    page.evaluate("window.sameDocument = true")
    worker_before = page.evaluate("lmlab.python.worker !== undefined")
    set_code(page, 1, "tour_variable = 1")
    assert run_cell(page, 1) == "done"
    page.click("a[rel=next]")
    page.wait_for_function(f"() => document.body.dataset.page !== '{TOUR[:-5]}'")
    assert page.evaluate("window.sameDocument") is True and worker_before
    assert page.locator("#python-status[data-state=ready]").count() == 1
    # Each chapter has its own namespace.
    first = page.locator(".cell").first.get_attribute("data-number")
    set_code(page, int(first), "'tour_variable' in globals()")
    assert run_cell(page, int(first)) == "done"
    assert output_text(page, int(first)).strip() == "False"
    page.go_back()
    page.wait_for_function(f"() => document.body.dataset.page === '{TOUR[:-5]}'")
    set_code(page, 7, "tour_variable")
    assert run_cell(page, 7) == "done"
    assert output_text(page, 7).strip() == "1"


def test_a_link_within_the_chapter_moves_there_and_keeps_the_chapter(open_page):
    """An in-page link (a section in the contents, "the cell that defines it") and Back over it
    only scroll: the browser fires popstate for them too, and the chapter must not be fetched and
    swapped in again, which would drop the outputs the reader made and any click on the code."""
    page = open_page("01-what-is-a-language-model.html", viewport={"width": 1400, "height": 900})
    set_code(page, 1, "print('made by the reader')")
    assert run_cell(page, 1) == "done"
    page.evaluate("""() => {
        window.shownPage = lmlab.page;
        window.fetched = [];
        const fetchFirst = window.fetch;
        window.fetch = (...args) => (window.fetched.push(String(args[0])), fetchFirst(...args));
    }""")
    section = page.locator("#contents .contents-sections a").nth(3)
    target = section.get_attribute("href")
    section.click()
    page.wait_for_function("hash => location.hash === hash", arg=target)
    page.locator(".widget a[href='#cell-softmax']").first.click()
    page.wait_for_function("() => location.hash === '#cell-softmax'")
    page.go_back()
    page.wait_for_function("hash => location.hash === hash", arg=target)
    page.evaluate("() => new Promise((r) => setTimeout(r, 200))")  # a refetch would have begun
    assert page.evaluate("window.fetched.filter((url) => url.includes('.html'))") == []
    assert page.evaluate("lmlab.page === window.shownPage")
    assert output_text(page, 1).strip() == "made by the reader"


def test_a_cell_is_usable_from_the_keyboard_alone(open_page):
    page = open_page(TOUR)
    editor = cell(page, 1).locator(".cm-content")
    # Tab from the page's start reaches the first cell's code through real controls only; landing
    # on the code (still its static view, or already the editor) gives the editor the focus.
    page.keyboard.press("Tab")
    for _ in range(40):
        if page.evaluate("!!document.activeElement.closest('.cell-source')"):
            break
        page.keyboard.press("Tab")
    page.wait_for_function("() => document.activeElement.classList.contains('cm-content')")
    assert editor.evaluate("el => el === document.activeElement")
    page.keyboard.press("Control+A")
    page.keyboard.type("answer = 40 + 2")
    page.keyboard.press("Shift+Enter")  # run, and move to the next cell
    page.wait_for_selector('.cell[data-number="1"][data-state=done]')
    assert cell(page, 2).locator(".cm-content").evaluate("el => el === document.activeElement")
    page.keyboard.press("Control+A")
    page.keyboard.type("answer")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('.cell[data-number="2"][data-state=done]')
    assert output_text(page, 2).strip() == "42"
    # Escape, then Tab, leaves the editor for the next control.
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("document.activeElement.classList.contains('cm-content')")
    assert page.evaluate("document.activeElement.tagName") in ("BUTTON", "A", "SUMMARY")


def test_service_worker_isolates_a_page_on_a_host_without_headers(open_page):
    # The first visit does not wait for isolation: Python starts at once, with no reload, and the
    # service worker is registered once it is ready (isolation.js says why).
    page = open_page(TOUR, isolated=False, service_workers="allow")
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"
    assert page.evaluate("crossOriginIsolated") is False
    assert run_cell(page, 7) == "done"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    # Every later page load is isolated by it: Stop ends a sleep in place, variables kept.
    page.reload()
    wait_ready_state(page)
    assert page.evaluate("crossOriginIsolated") is True
    set_code(page, 1, "kept = 'yes'")
    assert run_cell(page, 1) == "done"
    set_code(page, 2, "import time\ntime.sleep(60)")
    cell(page, 2).locator(".cell-run").click()
    page.wait_for_selector('.cell[data-number="2"][data-state=running]')
    page.click("[data-action=stop]")
    page.wait_for_selector('.cell[data-number="2"][data-state=error]', timeout=10_000)
    assert "KeyboardInterrupt: stopped by you" in output_text(page, 2)
    assert page.locator("#notices").is_hidden()  # stopped in place, not by a new worker
    set_code(page, 3, "print(kept)")
    assert run_cell(page, 3) == "done"
    assert output_text(page, 3).strip() == "yes"


def test_site_works_under_a_sub_path(browser, site):
    from serve_site import serve_in_background

    server, url = serve_in_background(site, prefix="/user/lmlab/")
    try:
        context = browser.new_context()
        page = context.new_page()
        failed = []
        page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
        page.goto(url + TOUR)
        wait_ready_state(page)
        assert run_cell(page, 7) == "done"
        assert failed == []
        context.close()
    finally:
        server.shutdown()


@pytest.mark.parametrize("path", ["", "credits.html", *[f"{slug}.html" for slug in CHAPTERS]])
def test_axe_finds_no_violations(open_page, path):
    page = open_page(path)
    assert_no_axe_violations(page)


def test_page_fits_a_narrow_phone(open_page):
    page = open_page(TOUR, viewport={"width": 375, "height": 740})
    assert horizontal_overflow(page) <= 0


def test_a_package_that_cannot_be_fetched_is_reported_not_waited_for(browser, server):
    context = browser.new_context()
    context.route("**/numpy-*.whl", lambda route: route.fulfill(status=404, body="gone"))
    page = context.new_page()
    page.goto(server["isolated"] + TOUR)
    page.wait_for_selector("#python-status[data-state=failed]", timeout=90_000)
    assert "Python could not start" in page.locator("#python-status").inner_text()
    assert "could not load numpy" in page.locator("#notices").inner_text()
    context.close()


def test_running_out_of_memory_is_an_error_not_a_crash(open_page):
    page = open_page(TOUR)
    set_code(page, 1, "survivor = 'intact'")
    assert run_cell(page, 1) == "done"
    set_code(page, 2, "import numpy as np\nblocks = [np.ones((20_000, 10_000)) for _ in range(4)]  # 6.4 GB, more than wasm32 has")
    assert run_cell(page, 2, timeout=90_000) == "error"
    assert "MemoryError" in output_text(page, 2)
    set_code(page, 7, "survivor")
    assert run_cell(page, 7, timeout=90_000) == "done"
    assert output_text(page, 7).strip() == "'intact'"


def test_a_widget_call_carries_infinities_and_nan_both_ways(open_page):
    """protocol.js: non-finite numbers cross the worker boundary as numbers, not as broken JSON."""
    page = open_page(TOUR)
    result = page.evaluate(
        """async () => {
            const slug = lmlab.page.slug;
            const defined = await lmlab.python.run(slug, "specials", [
                "import numpy as np",
                "def specials(given):",
                "    return {'given': given, 'made': np.array([np.inf, -np.inf, np.nan, 0.5])}",
            ].join("\\n"));
            const specials = await lmlab.python.call(slug, "specials", [[-Infinity, NaN, Infinity, 2]]);
            const topK = await lmlab.python.call(slug, "lmlab.sampling.top_k_filter", [[1, 3, 2], 1]);
            const show = (xs) => xs.map((x) => (typeof x === "number" ? String(x) : `not a number: ${JSON.stringify(x)}`));
            return { defined, ok: specials.ok, error: specials.error ?? null, given: show(specials.value.given),
                     made: show(specials.value.made), topK: show(topK.value) };
        }"""
    )
    assert result == {
        "defined": True, "ok": True, "error": None,
        "given": ["-Infinity", "NaN", "Infinity", "2"],
        "made": ["Infinity", "-Infinity", "NaN", "0.5"],
        "topK": ["-Infinity", "3", "-Infinity"],
    }
