"""docs/authoring.md, tried as a new author would: its example chapter, its snippets of syntax, its
numbers test and its exercise check are taken from the guide itself, added to a copy of the
book's chapters and built with make_site.py --chapters into a folder of their own; the new
chapter must be in the contents and on the index page, its cell's output pre-rendered, its
notebook valid, and its cell must run in Chromium. What the guide says about cell options,
callouts and the deployment workflow is compared with the code."""

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import REPO, cell, run_cell, wait_ready_state
from serve_site import serve_in_background

GUIDE = (REPO / "docs" / "authoring.md").read_text()
SYNTAX_CHAPTER = "99-guide-syntax"


def fenced(language: str, containing: str) -> str:
    """The body of the guide's fenced block in this language (any fence length) that contains
    the given text."""
    for match in re.finditer(r"^(`{3,})" + language + r"\n(.*?)^\1$", GUIDE, re.S | re.M):
        if containing in match[2]:
            return match[2]
    raise AssertionError(f"the guide has no {language} block with {containing!r}")


def table_keys(header: str) -> set[str]:
    """The `code` words in the first column of the guide's table under this header row."""
    table = GUIDE[GUIDE.index(header):].split("\n\n")[0]
    return set(re.findall(r"^\| `([^`=]+)=?[A-Z]*` \|", table, re.M))


EXAMPLE_PATH = re.search(r"Save it as `web/chapters/(\S+\.md)`", GUIDE)[1]
EXAMPLE = fenced("markdown", "title:")
SLUG = EXAMPLE_PATH.removesuffix(".md")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The book's chapters, the guide's example chapter and one with the guide's syntax, built."""
    root = tmp_path_factory.mktemp("authoring")
    chapters = root / "chapters"
    shutil.copytree(REPO / "web" / "chapters", chapters)
    (chapters / EXAMPLE_PATH).write_text(EXAMPLE)
    snippets = [fenced("markdown", "::: insight"), fenced("markdown", "::: widget"),
                fenced("markdown", ":::: exercise")]
    (chapters / f"{SYNTAX_CHAPTER}.md").write_text(
        "---\ntitle: The guide's syntax\n---\n\n# The guide's syntax\n\n" + "\n".join(snippets))
    site = root / "site"
    subprocess.run([sys.executable, str(REPO / "build" / "make_site.py"), "--out", str(site),
                    "--chapters", str(chapters)], check=True, stdout=subprocess.DEVNULL)
    yield {"chapters": chapters, "site": site}
    for slug in (SLUG, SYNTAX_CHAPTER):  # the cell outputs cached under the repo's .cache/
        for cached in (REPO / ".cache" / "outputs").glob(f"{slug}-*.json"):
            cached.unlink()


def cell_code() -> str:
    return re.search(r"```python\n(.*?)```", EXAMPLE, re.S)[1].removesuffix("\n")


def printed(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102 - the guide's own example cell
    return out.getvalue()


def test_the_example_chapter_is_listed_and_linked(book):
    title = yaml.safe_load(EXAMPLE.split("---")[1])["title"]
    summary = yaml.safe_load(EXAMPLE.split("---")[1])["summary"]
    index = (book["site"] / "index.html").read_text()
    assert f'<a href="{SLUG}.html" data-nav>{escape(title)}</a><p>{escape(summary)}</p>' in index
    # In the contents of every chapter page, and the chapter before it links to it as next.
    chapter_pages = sorted(p.stem for p in book["chapters"].glob("*.md"))
    before = chapter_pages[chapter_pages.index(SLUG) - 1]
    for page in (before, SYNTAX_CHAPTER, SLUG):
        assert f'href="{SLUG}.html" data-nav' in (book["site"] / f"{page}.html").read_text()
    assert f'href="{SLUG}.html" data-nav rel="next"' in (book["site"] / f"{before}.html").read_text()


def test_the_example_cells_output_is_prerendered(book):
    page = (book["site"] / f"{SLUG}.html").read_text()
    output = re.search(r'<div class="cell-output">(.*?)</div>\n</section>', page, re.S)[1]
    assert printed(cell_code()).strip() in output


def test_the_example_chapter_exports_as_a_notebook(book):
    path = book["site"] / "notebooks" / f"{SLUG}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert code[-1] == cell_code()
    assert any("Gauss" in c.source for c in notebook.cells if c.cell_type == "markdown")


def test_a_new_author_runs_the_cell_in_chromium(book, browser):
    server, base = serve_in_background(book["site"], isolation=True)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}{SLUG}.html")
        wait_ready_state(page)
        assert run_cell(page, 1) == "done"
        assert cell(page, 1).locator(".cell-output").inner_text().strip() == \
            printed(cell_code()).strip()
    finally:
        context.close()
        server.shutdown()


def test_the_guides_numbers_test_passes_on_its_example(book):
    """Section 7's test, run as written on the example chapter; a number added to the prose
    without a claim is then caught."""
    sys.path.insert(0, str(REPO / "tests" / "unit"))
    copy = f'Path({str(book["chapters"] / EXAMPLE_PATH)!r})'
    code = fenced("python", "from chapter_numbers import").replace(
        f'REPO / "web/chapters/{EXAMPLE_PATH}"', copy)
    assert copy in code, "the guide's numbers test reads another chapter than its example"
    namespace: dict = {"Path": Path}
    exec(code, namespace)  # noqa: S102 - the guide's example test
    namespace["test_every_claim_is_in_the_prose"]()
    namespace["test_no_number_is_unchecked"]()
    unchecked = namespace["unchecked_numbers"]
    chapter = namespace["CHAPTER"]
    chapter.prose += " It took 3 tries."
    page = namespace["run_cells"](chapter)
    left = unchecked(chapter, namespace["claims"](page) + namespace["GIVENS"])
    assert len(left) == 1 and "3 tries" in left[0]


def test_the_guides_syntax_renders(book):
    page = (book["site"] / f"{SYNTAX_CHAPTER}.html").read_text()
    assert '<aside class="callout callout-insight"><p class="callout-title">Insight</p>' in page
    assert ('<p class="callout-title">&quot;Temperature makes the model smarter&quot;</p>'
            in page.replace("“", "&quot;").replace("”", "&quot;"))
    assert '<section class="exercise" data-exercise="softmax"' in page
    assert '<details class="hint"><summary>A first hint</summary>' in page
    assert '<details class="exercise-solution"><summary>Show a solution</summary>' in page
    # The widget's first state is drawn into the page by the builder.
    widget = re.search(r'<div class="widget" data-widget="temperature-explorer"[^>]*>(.*?)\n</div>',
                       page, re.S)
    assert widget and 'class="widget-state"' in widget[1] and 'class="tx"' in widget[1]


def test_the_guides_check_passes_the_solution_and_fails_the_starter():
    from lmlab import exercises

    namespace = vars(exercises).copy()
    exec(fenced("python", "def check_softmax"), namespace)  # noqa: S102 - the guide's check
    check = namespace["check_softmax"]
    exercise = fenced("markdown", ":::: exercise")
    starter = re.search(r"```python id=softmax\n(.*?)```", exercise, re.S)[1]
    solution = re.search(r"::: solution\n```\n(.*?)```", exercise, re.S)[1]
    theirs: dict = {}
    exec(solution, theirs)  # noqa: S102
    assert check(theirs["softmax"])["passed"]
    exec(starter, theirs)  # noqa: S102
    verdict = check(theirs["softmax"])
    assert not verdict["passed"] and verdict["input"].startswith("softmax(")


def test_the_guides_tables_match_the_builder():
    sys.path.insert(0, str(REPO / "build"))
    import chapters

    assert table_keys("| option |") == chapters.CELL_OPTIONS | {"id"}
    assert table_keys("| kind |") == set(chapters.CALLOUTS)
    for kind, title in chapters.CALLOUTS.items():
        assert f"| `{kind}` | {title} |" in GUIDE
    assert table_keys("| key |") == {"title", "summary", "data", "difficulty"}
    # Difficulty markers: the guide's levels are the builder's, its example is chapter 3's own
    # markers, and the anchor it spells out is the one the build gives that heading.
    assert "`gentle`, `moderate` and\n`hard`" in GUIDE and chapters.DIFFICULTIES == (
        "gentle", "moderate", "hard")
    marked = yaml.safe_load(fenced("yaml", "difficulty:"))["difficulty"]
    assert marked.items() <= chapters.load(REPO / "web/chapters/03-tokenization.md").difficulty.items()
    spelled = re.search(r"`## (.+?)` is `([a-z-]+)`", GUIDE.replace("\n", " "))
    position = chapters.load(REPO / "web/chapters/05-position.md")
    assert (spelled[2], spelled[1]) in position.sections


def test_the_workflow_is_the_one_the_guide_describes():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pages.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert workflow["name"] in GUIDE
    steps = workflow["jobs"]["build"]["steps"]
    assert {"run": "build/lab build", "name": "Build the site"} in steps
    uses = {step.get("uses", "").split("@")[0]: step.get("with", {}) for step in steps}
    assert uses["actions/setup-python"]["python-version"] == "3.11" and "Python 3.11" in GUIDE
    assert uses["actions/setup-node"]["node-version"] == "20" and "Node 20" in GUIDE
    assert uses["actions/upload-pages-artifact"]["path"] == "_site"
    cache_key = uses["actions/cache"]["key"]
    assert "package-lock.json" in cache_key and "build/vendor.py" in cache_key
    assert "actions/deploy-pages" in json.dumps(workflow["jobs"]["deploy"])
