"""The book as a downloaded folder: _site/lm-lab.zip unzipped, its pages opened from file:// (no
server) in Chromium (Playwright) and in Debian's Firefox ESR (WebDriver BiDi, build/firefox.py,
with security.fileuri.strict_origin_policy at its default, true). In both: the text, math and
built outputs before Python; Python starting; a cell running; the TemperatureExplorer answering
as CPython's lmlab computes; an edit surviving a reload; a chapter's cell reading its data."""

import html
import json
import re
from pathlib import Path

import archive
import pytest
from conftest import (
    cell,
    keep_a_variable_then_stop_a_loop,
    output_text,
    run_cell,
    set_code,
    shown_code,
    wait_ready_state,
)
from firefox import PREFS, Firefox
from test_chapter1 import WIDGET, assert_shows, config, slide_to

CHAPTER1 = "01-what-is-a-language-model.html"
TOUR = "00-how-this-book-works.html"
# The chapters that read data files (their front matter's data:).
DATA_CHAPTERS = ["02-counting.html", "03-tokenization.html", "04-embeddings.html"]


@pytest.fixture(scope="session")
def folder(site, tmp_path_factory) -> Path:
    """The archive the build made, unzipped as a reader would."""
    return archive.unzip(site / archive.NAME, tmp_path_factory.mktemp("download"))


def data_cell_numbers(html_text: str) -> list[int]:
    """Numbers of the cells up to and including the first that reads the chapter's data (a call
    of lmlab.data's, data.NAME(...)), from the page's static code views."""
    numbers = []
    cells = re.findall(r'<section class="cell"[^>]*data-number="(\d+)".*?<pre class="code-view"'
                       r'[^>]*>(.*?)</pre>', html_text, re.S)
    for number, view in cells:
        numbers.append(int(number))
        if re.search(r"\bdata\.\w+\(", html.unescape(re.sub(r"<[^>]+>", "", view))):
            return numbers
    raise AssertionError("no cell of the page reads its data")


# --- the build ---------------------------------------------------------------------------

def test_the_index_page_links_the_archive_with_its_size(site):
    index = (site / "index.html").read_text()
    found = re.search(r'<a href="lm-lab.zip" download>.*?\(zip, ([\d.]+) MB\)', index)
    assert found, "no link to the archive on the index page"
    assert float(found.group(1)) == round((site / archive.NAME).stat().st_size / 1e6, 1)


def test_the_folder_has_every_page_and_no_module_script(site, folder):
    pages = sorted(p.name for p in site.glob("*.html"))
    assert sorted(p.name for p in folder.glob("*.html")) == pages
    for name in pages:
        text = (folder / name).read_text()
        assert 'type="module"' not in text, name
        assert archive.CLASSIC_TAG in text, name
    index = (folder / "index.html").read_text()
    assert "from a folder on your computer" in index and "lm-lab.zip" not in index


def test_the_folder_leaves_out_only_what_pages_load_on_request(site, folder):
    absent = set(archive.left_out(site))
    for data_file in sorted((site / "data").iterdir()):
        path = str(data_file.relative_to(site))
        there = (folder / f"{path}.js").exists() and (folder / path).exists()
        assert there == (path not in absent), path
    for path in absent:  # each named by a page's data list as loaded when the reader asks
        assert any(f'"url": "{path}"' in p.read_text() and '"onRequest": true' in p.read_text()
                   for p in site.glob("*.html")), path


def test_the_carried_files_are_the_sites_own(site, folder):
    """Each FILE.js carries exactly FILE's bytes (decoded as folder.js decodes them)."""
    import base64
    import gzip

    for path in archive.carried_files(site):
        script = (folder / f"{path}.js").read_text()
        found = re.fullmatch(r'lmlabFolder\.put\(("[^"]*"), ("[^"]*"), "([A-Za-z0-9+/=]*)"\);\n',
                             script)
        assert found and json.loads(found.group(1)) == path, path
        data = base64.b64decode(found.group(3))
        if json.loads(found.group(2)) == "gzip":
            data = gzip.decompress(data)
        assert data == (site / path).read_bytes(), path


# --- Chromium ----------------------------------------------------------------------------

@pytest.fixture
def open_folder(browser, folder):
    """open_folder(page, context=None) -> a Playwright Page of the folder's page, from file://.
    After the test: no page logged an error and nothing was requested but files of the folder
    (or data: and blob: URLs)."""
    contexts, requests, errors = [], [], []

    def open_(name: str, context=None, wait_ready: bool = True):
        if context is None:
            context = browser.new_context()
            contexts.append(context)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.goto((folder / name).as_uri())
        if wait_ready:
            wait_ready_state(page)
        return page

    yield open_
    root = folder.as_uri() + "/"
    assert [u for u in requests if not u.startswith((root, "data:", "blob:"))] == []
    assert errors == []
    for context in contexts:
        context.close()


def test_chromium_shows_the_book_before_python_then_runs_it(open_folder):
    page = open_folder(CHAPTER1, wait_ready=False)
    assert page.evaluate("location.protocol") == "file:"
    assert page.locator(".katex").count() > 0  # math, rendered at build time
    built = output_text(page, 1)
    assert built.strip() and cell(page, 1).get_attribute("data-state") == "prerendered"
    wait_ready_state(page)
    assert page.evaluate("crossOriginIsolated") is False
    assert run_cell(page, 1) == "done"
    assert output_text(page, 1) == built


def test_chromium_the_temperature_explorer_answers(open_folder):
    page = open_folder(CHAPTER1)
    page.wait_for_selector(f"{WIDGET} .widget-status[data-state=live]")
    slide_to(page, "2.25")
    assert_shows(page, config(page), 2.25)


def test_chromium_an_edit_survives_a_reload_and_another_page(open_folder, browser):
    context = browser.new_context()
    try:
        page = open_folder(TOUR, context=context)
        set_code(page, 2, "'edited from the folder'")
        page.reload()
        wait_ready_state(page)
        assert "edited from the folder" in shown_code(page, 2)
        assert run_cell(page, 2) == "done"
        assert "edited from the folder" in output_text(page, 2)
        # No warning that edits are not kept: this browser keeps them.
        assert "keeps nothing" not in page.locator("#notices").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("name", DATA_CHAPTERS)
def test_chromium_a_chapters_cells_read_its_data(open_folder, folder, name):
    page = open_folder(name)
    for number in data_cell_numbers((folder / name).read_text()):
        built = output_text(page, number)
        assert run_cell(page, number, timeout=120_000) == "done", output_text(page, number)
        assert output_text(page, number) == built, number


def test_chromium_links_are_plain_links_and_each_page_starts_python(open_folder):
    page = open_folder(TOUR)
    page.evaluate("window.sameDocument = true")
    page.click("a[rel=next]")
    page.wait_for_function(f"() => document.body.dataset.page === '{CHAPTER1[:-5]}'")
    assert page.evaluate("window.sameDocument ?? false") is False  # a new document
    wait_ready_state(page)
    assert run_cell(page, 1) == "done"


def test_chromium_stop_replaces_the_worker_and_replays(open_folder):
    page = open_folder(TOUR)
    keep_a_variable_then_stop_a_loop(page)
    assert "Stopped" in output_text(page, 2)
    assert "were run again" in page.locator("#notices").inner_text()
    set_code(page, 7, "kept")
    assert run_cell(page, 7, timeout=90_000) == "done"
    assert output_text(page, 7).strip() == "'still here'"


def test_chromium_search_says_it_needs_the_website(open_folder):
    page = open_folder(TOUR, wait_ready=False)
    page.keyboard.press("/")
    page.keyboard.type("softmax")
    results = page.locator("#search-results")
    results.wait_for(state="visible")
    assert "not in the downloaded folder" in results.inner_text()
    wait_ready_state(page)


def test_chromium_a_chapters_notebook_reads_lmlab_and_data_from_the_folder(open_folder, folder):
    """Download as notebook works from the folder, and the notebook's first cells name the lmlab
    wheel and the data files by file:// addresses that exist (a Jupyter on this computer reads
    them)."""
    page = open_folder("02-counting.html")
    with page.expect_download() as download:
        page.click("[data-action=notebook]")
    notebook = json.loads(Path(download.value.path()).read_text())
    sources = "\n".join(c["source"] for c in notebook["cells"] if c["cell_type"] == "code")
    addresses = re.findall(r"file://[^\s'\"]+", sources)
    assert any(a.endswith(".whl") for a in addresses) and any("/data/" in a for a in addresses)
    for address in addresses:
        assert address.startswith(folder.as_uri() + "/")
        assert Path(address.removeprefix("file://")).is_file(), address


# --- Firefox ESR -------------------------------------------------------------------------

CELL_STATE = "document.querySelector('.cell[data-number=\"{n}\"]').dataset.state"
READY = "document.querySelector('#python-status').dataset.state === 'ready'"


@pytest.fixture(scope="module")
def firefox():
    with Firefox() as browser:
        yield browser
        assert browser.errors == [], "a page logged errors in Firefox"


def firefox_open(firefox: Firefox, folder: Path, name: str) -> None:
    firefox.navigate((folder / name).as_uri())
    firefox.wait_for(READY)


def firefox_run(firefox: Firefox, number: int) -> str:
    firefox.evaluate(f"document.querySelector('.cell[data-number=\"{number}\"] .cell-run').click()")
    state = CELL_STATE.format(n=number)
    return firefox.wait_for(f"['done', 'error', 'stopped'].includes({state}) && {state}", 120)


def firefox_output(firefox: Firefox, number: int) -> str:
    return firefox.evaluate(
        f"document.querySelector('.cell[data-number=\"{number}\"] .cell-output').innerText")


def test_firefox_keeps_file_urls_apart(firefox, folder):
    """The profile has the strict file:// origin policy (its default), and it is in force: a
    page of the folder cannot fetch its neighbour."""
    assert PREFS["security.fileuri.strict_origin_policy"] is True
    user_js = (firefox.profile / "user.js").read_text()
    assert 'user_pref("security.fileuri.strict_origin_policy", true);' in user_js
    firefox.navigate((folder / "credits.html").as_uri())
    outcome = firefox.evaluate("fetch('index.html').then(() => 'read', () => 'refused')")
    assert outcome == "refused"
    # Firefox logs the refusal, as it should: that error is this test's, not the book's.
    refusal = "Cross-Origin Request Blocked"
    firefox.wait_for("new Promise((done) => setTimeout(() => done(true), 100))")
    assert [e for e in firefox.errors if refusal in e and "index.html" in e]
    firefox.errors[:] = [e for e in firefox.errors if not (refusal in e and "index.html" in e)]


def test_firefox_runs_chapter_1_and_its_widget(firefox, folder):
    firefox.navigate((folder / CHAPTER1).as_uri())
    assert firefox.evaluate("document.querySelectorAll('.katex').length") > 0
    built = firefox_output(firefox, 1)
    assert built.strip()
    firefox.wait_for(READY)
    assert firefox_run(firefox, 1) == "done"
    assert firefox_output(firefox, 1) == built
    firefox.wait_for(f"document.querySelector('{WIDGET} .widget-status').dataset.state === 'live'")
    firefox.evaluate(f"""(() => {{
        const slider = document.querySelector('{WIDGET} .tx-input');
        slider.value = '2.25';
        slider.dispatchEvent(new Event('input', {{ bubbles: true }}));
    }})()""")
    firefox.wait_for(f"document.querySelector('{WIDGET}').dataset.drawnTemperature === '2.25'")
    shown = firefox.evaluate(f"""[...document.querySelectorAll('{WIDGET} .tx-row')].map(r =>
        [r.querySelector('.tx-token').textContent, r.querySelector('.tx-prob').textContent])""")
    cfg = json.loads(firefox.evaluate(f"document.querySelector('{WIDGET}').dataset.config"))
    from test_chapter1 import expected

    assert shown == expected(cfg, 2.25)["rows"]


def test_firefox_an_edit_survives_a_reload(firefox, folder):
    firefox_open(firefox, folder, TOUR)
    firefox.evaluate("""(async () => {
        const view = await lmlab.page.cells.find((c) => c.number === '2').mountEditor();
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: "'edited in Firefox'" } });
    })()""")
    firefox.reload()
    firefox.wait_for(READY)
    code = firefox.evaluate(
        "document.querySelector('.cell[data-number=\"2\"] .cell-source').textContent")
    assert "edited in Firefox" in code
    assert firefox_run(firefox, 2) == "done"
    assert "edited in Firefox" in firefox_output(firefox, 2)
    assert "keeps nothing" not in firefox.evaluate("document.querySelector('#notices').innerText")


def test_firefox_a_chapters_cell_reads_its_data(firefox, folder):
    name = "02-counting.html"
    firefox_open(firefox, folder, name)
    for number in data_cell_numbers((folder / name).read_text()):
        built = firefox_output(firefox, number)
        assert firefox_run(firefox, number) == "done", firefox_output(firefox, number)
        assert firefox_output(firefox, number) == built
    assert firefox_output(firefox, 1).startswith("8,403 names")
