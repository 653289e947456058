"""The book around the chapters: the contents (a sidebar on wide screens, a menu on phones, the
section being read marked), light and dark themes with axe in both, and printing."""

import pytest
import yaml
from conftest import REPO, assert_no_axe_violations, wait_ready_state

CHAPTER = "01-what-is-a-language-model.html"
TITLES = [yaml.safe_load(path.read_text().split("---\n")[1])["title"]
          for path in sorted((REPO / "web" / "chapters").glob("*.md"))]


def contents(page) -> dict:
    return page.evaluate(
        """() => {
            const nav = document.getElementById("contents");
            return {
                visible: nav.checkVisibility(),
                chapters: [...nav.querySelectorAll(":scope > ol > li > a")].map(a => a.textContent.trim()),
                current: nav.querySelector("[aria-current=page]")?.textContent.trim() ?? null,
                sections: [...nav.querySelectorAll(".contents-sections a")].map(a => a.hash.slice(1)),
                headings: [...document.querySelectorAll("main h2")].map(h => h.id),
                reading: nav.querySelector("[aria-current=location]")?.hash.slice(1) ?? null,
            };
        }"""
    )


def test_the_contents_list_every_chapter_and_follow_the_reader(open_page):
    page = open_page(CHAPTER, viewport={"width": 1400, "height": 900})
    shown = contents(page)
    assert shown["visible"] and shown["chapters"] == TITLES
    assert shown["current"] == TITLES[1]
    assert shown["sections"] == shown["headings"] and len(shown["sections"]) >= 5
    # Following a section link marks that section as the one being read.
    target = shown["sections"][4]
    page.locator(f'#contents a[href="#{target}"]').click()
    page.wait_for_function(
        "id => document.querySelector('#contents [aria-current=location]')?.hash === '#' + id", arg=target
    )
    # Moving to the next chapter in place (the worker is kept) brings that chapter's contents.
    page.locator(".site-nav .nav-prev").click()
    page.wait_for_function("t => document.querySelector('#contents [aria-current=page]')?.textContent.trim() === t",
                           arg=TITLES[0])


def test_on_a_phone_the_contents_are_a_menu_worked_by_keyboard(open_page):
    page = open_page(CHAPTER, viewport={"width": 375, "height": 740})
    toggle = page.locator(".contents-toggle")
    assert not contents(page)["visible"] and toggle.get_attribute("aria-expanded") == "false"
    toggle.focus()
    page.keyboard.press("Enter")
    assert contents(page)["visible"] and toggle.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Tab")  # into the menu: its first link
    assert page.evaluate("document.activeElement.closest('#contents') !== null")
    page.keyboard.press("Escape")
    assert not contents(page)["visible"]
    assert toggle.evaluate("el => el === document.activeElement")
    # A section chosen from the menu closes it and goes there.
    page.keyboard.press("Enter")
    section = contents(page)["sections"][2]
    page.locator(f'#contents a[href="#{section}"]').click()
    assert not contents(page)["visible"]
    page.wait_for_function("id => location.hash === '#' + id", arg=section)
    assert_heading_below_header(page, section)


# The section's heading, after a jump to it, is wholly below the sticky header (which on a phone
# wraps to two or three lines, more while Python loads).
HEADING_CLEAR = """(id) => new Promise((resolve) => requestAnimationFrame(() => {
    const header = document.querySelector(".site-header").getBoundingClientRect();
    const heading = document.getElementById(id).getBoundingClientRect();
    resolve({ header: header.bottom, heading: heading.top, clear: heading.top >= header.bottom }); }))"""


def assert_heading_below_header(page, section: str) -> None:
    where = page.evaluate(HEADING_CLEAR, section)
    assert where["clear"], f"the heading #{section} is under the header: {where}"


def test_on_a_phone_a_jump_while_python_loads_lands_below_the_header(open_page):
    page = open_page(CHAPTER, viewport={"width": 375, "height": 740}, wait_ready=False)
    page.wait_for_selector("#python-status[data-state=loading]")
    section = contents(page)["sections"][3]
    page.evaluate("id => { location.hash = id; }", section)
    assert_heading_below_header(page, section)
    wait_ready_state(page)


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_each_theme_passes_axe_with_cells_run_and_widgets_used(open_page, scheme):
    page = open_page(CHAPTER, color_scheme=scheme)
    assert background(page) == ("rgb(22, 24, 29)" if scheme == "dark" else "rgb(255, 255, 255)")
    assert page.locator(".theme-toggle").get_attribute("aria-pressed") == str(scheme == "dark").lower()
    page.click("[data-action=run-all]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.cell')].every(c => ['done','error'].includes(c.dataset.state))",
        timeout=180_000,
    )
    page.locator(".widget[data-widget=generation-explorer] .gx-next").click()
    page.locator(".widget[data-widget=temperature-explorer] .tx-sample").click()
    page.wait_for_selector(".tx-row.is-sampled")
    assert_no_axe_violations(page)


@pytest.mark.parametrize("slug", [p.stem for p in sorted((REPO / "web" / "chapters").glob("*.md"))])
def test_every_chapter_and_its_widgets_pass_axe_in_the_dark_theme(open_page, slug):
    page = open_page(f"{slug}.html", color_scheme="dark")
    page.wait_for_function("() => [...document.querySelectorAll('.widget-status')]"
                           ".every(s => s.dataset.state !== 'waking')", timeout=120_000)
    assert_no_axe_violations(page)


@pytest.mark.parametrize("slug", [p.stem for p in sorted((REPO / "web" / "chapters").glob("*.md"))])
def test_every_chapter_passes_axe_on_a_phone_with_wide_formulas_reachable(open_page, slug):
    page = open_page(f"{slug}.html", viewport={"width": 375, "height": 740})
    page.wait_for_function("() => [...document.querySelectorAll('.widget-status')]"
                           ".every(s => s.dataset.state !== 'waking')", timeout=120_000)
    formulas = page.evaluate("""() => [...document.querySelectorAll('.math-display')].map((f) =>
        [f.scrollWidth > f.clientWidth + 1, f.getAttribute('tabindex'), f.getAttribute('role')])""")
    for scrolls, tabindex, role in formulas:
        assert (tabindex, role) == (("0", "region") if scrolls else (None, None))
    assert_no_axe_violations(page)


def test_the_theme_switch_overrides_the_system_and_is_remembered(open_page):
    page = open_page(CHAPTER, color_scheme="light")
    switch = page.locator(".theme-toggle")
    switch.click()
    assert switch.get_attribute("aria-pressed") == "true"
    assert background(page) == "rgb(22, 24, 29)"
    page.reload()
    wait_ready_state(page)
    assert background(page) == "rgb(22, 24, 29)"
    assert switch.get_attribute("aria-pressed") == "true"
    switch.click()
    assert background(page) == "rgb(255, 255, 255)"


def test_a_chapter_prints_with_its_outputs_and_without_controls(open_page):
    page = open_page(CHAPTER)
    page.emulate_media(media="print", color_scheme="dark")
    hidden = page.evaluate(
        """() => [".site-header", ".page-tools", "#contents", ".site-nav", ".cell-run", ".widget button"]
                 .map(s => [s, document.querySelector(s).checkVisibility()])"""
    )
    assert all(not visible for _, visible in hidden), hidden
    assert page.locator(".cell-output").first.is_visible()
    assert background(page) == "rgb(255, 255, 255)"  # printed in the light theme


def test_search_finds_a_section_by_keyboard_and_loads_only_when_used(open_page):
    page = open_page("00-how-this-book-works.html")
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.locator("main h1").click()  # the reader is reading, not typing
    assert not [url for url in fetched if "/pagefind/" in url]
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-input"
    page.keyboard.type("nucleus")
    page.wait_for_selector("#search-results li", timeout=30_000)
    assert [url for url in fetched if "/pagefind/" in url]
    assert page.locator("#search-count").get_attribute("aria-live") == "polite"
    results = page.locator("#search-results a")
    assert results.first.inner_text() == TITLES[1]
    sections = [a.get_attribute("href") for a in results.all()]
    assert any(href.endswith("#top-k-and-top-p-cutting-off-the-tail") for href in sections), sections
    assert_no_axe_violations(page)
    # Down arrow into the results, then to the section about top-p, Enter follows it in place.
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('#search-results') !== null")
    while not page.evaluate("document.activeElement.getAttribute('href')").endswith("cutting-off-the-tail"):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash === '#top-k-and-top-p-cutting-off-the-tail'")
    assert page.evaluate("document.body.dataset.page") == "01-what-is-a-language-model"
    assert page.locator("#search-results").is_hidden()
    # Escape closes the results and keeps the box.
    page.keyboard.press("/")
    page.keyboard.press("Escape")
    assert page.locator("#search-results").is_hidden()


def test_search_says_when_nothing_matches(open_page):
    page = open_page("01-what-is-a-language-model.html")
    page.locator("#search-input").fill("ⱦⱦⱦⱦ")  # no page has this letter (Pagefind matches prefixes)
    page.wait_for_selector("#search-results .search-none", timeout=30_000)
    assert page.locator("#search-count").inner_text() == "0 pages found"
