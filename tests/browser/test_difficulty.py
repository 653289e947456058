"""Difficulty markers (the front matter's `difficulty:`, build/chapters.py): the word beside each
marked section's heading and after its link in the contents, part of both accessible names, on
no unmarked section; axe in both themes on a phone (contents menu open) and full width."""

import pytest
import yaml
from conftest import REPO, assert_no_axe_violations, horizontal_overflow

SLUG = "05-position"
MARKED = yaml.safe_load((REPO / "web" / "chapters" / f"{SLUG}.md").read_text().split("---\n")[1])[
    "difficulty"]


def labels(page, scope: str) -> dict:
    """Section anchor -> the label's visible text, for each link or heading in scope that has one."""
    return page.evaluate(
        """scope => Object.fromEntries([...document.querySelectorAll(`${scope} .difficulty`)].map(
            (label) => {
                const owner = label.closest("h2, a");
                const seen = [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
                    .map((n) => n.textContent).join("");  // without the visually hidden part
                return [owner.id || owner.hash.slice(1), seen];
            }))""",
        scope,
    )


def accessible_names(page) -> list[tuple[str, str]]:
    """(role, name) of every heading and link, as Chromium's accessibility tree gives them to a
    screen reader (Playwright's own name computation spaces out the visually hidden text)."""
    tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    return [(node["role"]["value"], node["name"]["value"]) for node in tree
            if node.get("role", {}).get("value") in ("heading", "link") and "name" in node]


def test_marked_sections_show_their_level_beside_the_heading_and_in_the_contents(open_page):
    page = open_page(f"{SLUG}.html", viewport={"width": 1400, "height": 900})
    assert labels(page, "main") == MARKED
    assert labels(page, "#contents") == MARKED
    assert set(MARKED.values()) == {"gentle", "moderate", "hard"}
    # Beside the heading: on its first line, after its words.
    heading = page.locator("#rope-rotate-the-queries-and-keys")
    box = heading.locator(".difficulty").bounding_box()
    words = heading.evaluate("""h => { const r = document.createRange();
        r.setStart(h.firstChild, 0); r.setEnd(h.firstChild, h.firstChild.length);
        const b = r.getBoundingClientRect(); return { right: b.right, top: b.top, bottom: b.bottom }; }""")
    assert box["x"] >= words["right"] and words["top"] <= box["y"] + box["height"] / 2 <= words["bottom"]
    # Read as part of the heading's name and the link's name: the word, not a colour or a shape.
    names = accessible_names(page)
    name = "RoPE: rotate the queries and keys, difficulty: hard"
    assert names.count(("heading", name)) == 1 and names.count(("link", name)) == 1
    assert ("heading", "Exercises") in names and ("link", "Exercises") in names  # unmarked


@pytest.mark.parametrize("width", [375, 1400])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_labels_pass_axe_and_fit_in_both_themes(open_page, scheme, width):
    page = open_page(f"{SLUG}.html", color_scheme=scheme, viewport={"width": width, "height": 800})
    if width < 800:
        page.locator(".contents-toggle").click()  # the contents are a menu: open, so axe sees it
    assert page.locator("#contents .difficulty").first.is_visible()
    page.wait_for_function("() => [...document.querySelectorAll('.widget-status')]"
                           ".every(s => s.dataset.state !== 'waking')", timeout=120_000)
    assert_no_axe_violations(page)
    assert horizontal_overflow(page) <= 0
    outside = page.evaluate("""() => [...document.querySelectorAll('.difficulty')]
        .map((l) => l.getBoundingClientRect()).filter((b) => b.left < 0 || b.right > innerWidth).length""")
    assert outside == 0
    # Small and muted: smaller than the text around it, in the muted colour (which axe checks).
    sizes = page.evaluate("""() => { const l = document.querySelector('main .difficulty');
        return [parseFloat(getComputedStyle(l).fontSize), parseFloat(getComputedStyle(l.closest('h2')).fontSize),
                getComputedStyle(l).color, getComputedStyle(document.body).color]; }""")
    assert sizes[0] < sizes[1] and sizes[2] != sizes[3]


def test_search_shows_a_marked_section_by_its_words_alone(open_page):
    page = open_page(f"{SLUG}.html", viewport={"width": 1400, "height": 900})
    page.locator("#search-input").fill("rotate queries keys")
    section = page.locator('#search-results a[href$="#rope-rotate-the-queries-and-keys"]')
    section.first.wait_for(timeout=30_000)
    assert section.first.inner_text() == "RoPE: rotate the queries and keys"  # no "hard" in it
