"""Exercise progress (web/runtime/progress.js, storage.js, work.js): each chapter's passed
exercises counted in the contents and on the index page, forgotten by the page's Reset all, and
carried by Download my work / Load my work (which now hold the edits and the passes)."""

import json
from pathlib import Path

import pytest
from conftest import (
    REPO,
    assert_no_axe_violations,
    check_exercise,
    set_code,
    shown_code,
    wait_ready_state,
)

CHAPTER = "03-tokenization"
EXERCISE = "get_pair_counts"


def said(passed: int, slug: str = CHAPTER) -> str:
    """What the contents say of a chapter with `passed` exercises passed (the count of its
    exercises read from its source)."""
    total = (REPO / "web" / "chapters" / f"{slug}.md").read_text().count("\n:::: exercise ")
    return f"{passed} of {total} exercise{'s' if total != 1 else ''} passed"


def progress(page, where: str = "#contents") -> str:
    return page.locator(f'{where} [data-progress="{CHAPTER}"]').inner_text()


def pass_exercise(page) -> int:
    """Types the exercise's own solution into its cell and checks it; returns the cell's number."""
    exercise = page.locator(f'.exercise[data-exercise="{EXERCISE}"]')
    number = int(exercise.locator(".cell").get_attribute("data-number"))
    solution = exercise.locator(".exercise-solution code").evaluate("e => e.textContent")
    set_code(page, number, solution)
    assert check_exercise(page, EXERCISE) == "pass"
    return number


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_progress_shows_in_the_contents_and_on_the_index(open_page, scheme):
    page = open_page(f"{CHAPTER}.html", color_scheme=scheme)
    assert progress(page) == said(0)
    pass_exercise(page)
    assert progress(page) == said(1)
    assert_no_axe_violations(page)

    page.click(".nav-index")  # the index, swapped in place
    page.wait_for_function("document.body.dataset.page === 'index'")
    assert progress(page, "main") == said(1)
    assert progress(page) == said(1)
    assert page.locator('main [data-progress="02-counting"]').inner_text() == said(0, "02-counting")
    assert_no_axe_violations(page)

    page.reload()  # remembered
    wait_ready_state(page)
    assert progress(page, "main") == said(1)


def test_reset_all_forgets_the_pages_passes(open_page):
    page = open_page(f"{CHAPTER}.html")
    pass_exercise(page)
    exercise = page.locator(f'.exercise[data-exercise="{EXERCISE}"]')
    assert exercise.locator(".exercise-passed").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-action=reset-all]")
    assert progress(page) == said(0)
    assert not exercise.locator(".exercise-passed").is_visible()
    page.reload()
    wait_ready_state(page)
    assert progress(page) == said(0)
    assert exercise.get_attribute("data-passed") is None


def test_my_work_carries_edits_and_passes_to_another_browser(open_page, tmp_path):
    page = open_page(f"{CHAPTER}.html")
    number = pass_exercise(page)
    solution = shown_code(page, number)
    # From the keyboard: the toolbar's buttons.
    page.focus("[data-action=download]")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    saved = tmp_path / "work.json"
    download.value.save_as(saved)
    work = json.loads(saved.read_text())
    assert work["format"] == "lmlab-work"
    assert work["exercisesPassed"] == {CHAPTER: [EXERCISE]}
    assert work["edits"][f"{CHAPTER}:{EXERCISE}"]["code"].strip() == solution.strip()

    other = open_page(f"{CHAPTER}.html")  # a fresh context: nothing saved there
    assert progress(other) == said(0)
    upload = other.locator("[data-action=upload]")
    with other.expect_file_chooser() as chooser:
        upload.press("Enter")
    with other.expect_navigation():
        chooser.value.set_files(saved)
    wait_ready_state(other)
    assert progress(other) == said(1)
    assert other.locator(f'.exercise[data-exercise="{EXERCISE}"]').get_attribute("data-passed") == "yes"
    assert shown_code(other, number).strip() == solution.strip()


def test_a_work_file_of_edits_only_still_loads_and_a_broken_one_is_refused(open_page, tmp_path):
    page = open_page(f"{CHAPTER}.html")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({f"{CHAPTER}:{EXERCISE}": {"base": "x", "code": "# mine\n", "saved": 1}}))
    with page.expect_file_chooser() as chooser:
        page.click("[data-action=upload]")
    with page.expect_navigation():
        chooser.value.set_files(old)
    wait_ready_state(page)
    number = int(page.locator(f'.exercise[data-exercise="{EXERCISE}"] .cell').get_attribute("data-number"))
    assert shown_code(page, number).strip() == "# mine"

    broken = Path(tmp_path / "broken.json")
    broken.write_text("{not json")
    with page.expect_file_chooser() as chooser:
        page.click("[data-action=upload]")
    chooser.value.set_files(broken)
    page.wait_for_selector("#notices:not([hidden])")
    assert "could not be loaded" in page.locator("#notices").inner_text()
