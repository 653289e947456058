"""The book after one visit, with the network gone (web/sw.js, web/runtime/offline.js), and a new
deploy picked up cleanly. Served two ways: with COOP/COEP (the dev server) and without (GitHub
Pages, where the service worker also adds the headers). The server here can go away (it drops
every connection, as a dead network does; the browser is also set offline) and can switch the
site it serves (a new deploy at the same origin)."""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from conftest import (
    BOOT_TIMEOUT,
    cell,
    run_all_and_compare_with_built,
    run_cell,
    set_code,
    wait_ready_state,
)
from serve_site import Handler

CHAPTER1 = "01-what-is-a-language-model"
CHAPTER2 = "02-counting"
BUILD_META = re.compile(r'<meta name="lmlab-build" content="([0-9a-f]+)">')


class BookServer:
    """Serves `current` (a symlink to a built site) on one port; `offline` drops connections."""

    def __init__(self, folder: Path, site: Path, isolation: bool):
        self.current = folder / "current"
        self.current.symlink_to(site)
        switch = self

        class Switchable(Handler):
            def do_GET(self):  # noqa: N802 - the base class's name
                if switch.offline:
                    self.close_connection = True  # no answer at all: the network is gone
                    return
                super().do_GET()

        self.offline = False
        handler = type("Served", (Switchable,), {"isolation": isolation})
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(self.current)))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def deploy(self, site: Path) -> None:
        swap = self.current.with_name("next")
        swap.symlink_to(site)
        os.replace(swap, self.current)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def book(site, tmp_path):
    servers = []

    def serve(isolation: bool) -> BookServer:
        servers.append(BookServer(tmp_path, site, isolation))
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


@pytest.fixture
def context(browser):
    context = browser.new_context()
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(f"uncaught: {e.error}"))
    context.on("console", lambda m: m.type == "error" and errors.append(m.text))
    context.errors = errors
    yield context
    context.close()


def wait_ready_offline(page) -> None:
    page.wait_for_selector("#python-status .offline-text:not([hidden])", timeout=BOOT_TIMEOUT)
    assert page.locator("#python-status .offline-text").inner_text() == "Ready offline"


def go_offline(context, server: BookServer) -> None:
    server.offline = True
    context.set_offline(True)


def build_of(page) -> str:
    return page.evaluate("document.querySelector('meta[name=lmlab-build]').content")


@pytest.mark.parametrize("isolated", [True, False], ids=["coop-coep", "header-less"])
def test_a_visited_chapter_reloads_and_runs_with_no_network(book, context, isolated):
    server = book(isolated)
    page = context.new_page()
    page.goto(server.url + f"{CHAPTER1}.html")
    wait_ready_state(page)
    wait_ready_offline(page)
    # The next chapter by its link (the page is swapped in place), until its data is kept too.
    page.click("a[rel=next]")
    page.wait_for_function(f"document.body.dataset.page === '{CHAPTER2}'")
    wait_ready_offline(page)

    go_offline(context, server)
    asked = []
    page.on("request", lambda r: "lmlab-kept" in r.url and asked.append(r.url))
    page.goto(server.url + f"{CHAPTER1}.html")
    wait_ready_state(page)
    # Pyodide's wasm is left to the browser's HTTP cache while there is a network; with none,
    # the Python worker asked the service worker for its kept copy.
    assert asked == [server.url + "pyodide/pyodide.asm.wasm?lmlab-kept="]
    # Where the server sends no headers, the kept page is served with them: Stop still works.
    assert page.evaluate("crossOriginIsolated")
    run_all_and_compare_with_built(page)
    wait_ready_offline(page)

    # To chapter 2 with the contents (in place), its first cell reading its data offline.
    page.click(f"#contents a[href='{CHAPTER2}.html']")
    page.wait_for_function(f"document.body.dataset.page === '{CHAPTER2}'")
    built = cell(page, 1).locator(".cell-output").inner_text()
    assert run_cell(page, 1) == "done"
    assert cell(page, 1).locator(".cell-output").inner_text() == built
    # And by an ordinary navigation (a reload of chapter 2), still offline.
    page.reload()
    wait_ready_state(page)
    assert run_cell(page, 1) == "done"
    assert context.errors == []


def redeployed(site: Path, folder: Path) -> Path:
    """A copy of `site` in which the book changed chapter 1's first cell, built again: the same
    files but that page, a new build id in every page and a new sw.js."""
    import make_site

    copy = folder / "site-b"
    shutil.copytree(site, copy, symlinks=True)
    page = copy / f"{CHAPTER1}.html"
    text = page.read_text()
    old_hash = re.search(r'id="cell-softmax"[^>]*data-hash="([0-9a-f]+)"', text).group(1)
    changed = text.replace(f'data-hash="{old_hash}"', 'data-hash="0123456789abcdef"', 1)
    changed = changed.replace("T, the temperature, comes later.", "T is the temperature.", 1)
    assert changed.count("T is the temperature.") == 1
    page.write_text(changed)
    old_build = BUILD_META.search(text).group(1)
    for html in copy.glob("*.html"):
        html.write_text(html.read_text().replace(old_build, make_site.BUILD_MARK))
    make_site.stamp_build(copy)
    return copy


@pytest.mark.parametrize("isolated", [True, False], ids=["coop-coep", "header-less"])
def test_a_new_deploy_is_offered_then_taken_whole(book, context, site, tmp_path, isolated):
    server = book(isolated)
    page = context.new_page()
    page.goto(server.url + f"{CHAPTER1}.html")
    wait_ready_state(page)
    wait_ready_offline(page)
    first = build_of(page)
    set_code(page, 1, "print('my own version')")

    server.deploy(redeployed(site, tmp_path))
    page.reload()
    wait_ready_state(page)
    # The kept edition is what loads (the page and its runtime from one build); the new one
    # downloads meanwhile and is offered.
    assert build_of(page) == first
    offer = page.locator("#notices .new-edition")
    offer.wait_for(timeout=BOOT_TIMEOUT)
    assert "new edition" in page.locator("#notices").inner_text()

    offer.click()
    page.wait_for_function(f"document.querySelector('meta[name=lmlab-build]').content !== '{first}'",
                           timeout=BOOT_TIMEOUT)
    wait_ready_state(page)
    # The reader's edit is kept, and flagged: the book changed that cell since.
    assert page.locator("#cell-softmax .cell-changed").is_visible()
    assert "my own version" in cell(page, 1).inner_text()
    wait_ready_offline(page)
    books = page.evaluate("async () => (await caches.keys()).filter((n) => n.startsWith('lmlab-book:'))")
    assert books == [f"lmlab-book:/:{build_of(page)}"], "the old edition's copy is dropped"

    # The new edition is the one kept: offline, the changed cell's new code is what Reset gives.
    go_offline(context, server)
    page.reload()
    wait_ready_state(page)
    cell(page, 1).locator(".cell-reset").click()
    assert "T is the temperature." in cell(page, 1).inner_text()
    assert run_cell(page, 1) == "done"
    assert context.errors == []
