"""How fast chapters 1 to 9 come to life, against bare Pyodide pages measured in the same run;
how fast the widgets of chapters 2, 4 and 5 redraw.

    .venv/bin/python build/bench/boot.py [--rounds 5] [--no-build]

Builds the site, serves it on 127.0.0.1 with COOP/COEP (as the dev server does, counting the
bytes it sends), and drives headless Chromium. The bare page is the least any Pyodide page can do:
a worker that loads the same pyodide.js, wasm, stdlib and numpy wheel from the same server and
runs chapter 1's first cell. Each round measures, in this order or its reverse:

  cold  a fresh browser profile (empty cache): navigation -> first cell result, and for LM Lab
        navigation -> first text painted (first-contentful-paint). LM Lab's cell is run as soon as
        the page has mounted it, as a reader's click would be.
  warm  the same context, navigating again (everything cached, revalidated).
  next  LM Lab only: on chapter 0, after its first cell has run, click "next" -> chapter 1's
        first cell result (the page is swapped in place and the Python worker is kept).
  slider LM Lab only: 50 slider inputs on the TemperatureExplorer -> widget redrawn (the DOM
        updated from Python's answer), and -> the next animation frame after that.
  chapters 2-9  each in a fresh profile, cold and warm, against that chapter's own bare page: one
        that loads the same packages (numpy and lmlab) and fetches the same data files while
        Python starts (chapter 3's GPT-2 files, chapter 4's word vectors ...), then runs the same
        first cell; in the same round, in alternating order.
  widgets  LM Lab only, one fresh profile: each widget of chapters 2, 4 and 5 driven 30 times
        (BigramTable: counts/probabilities switch; NameGenerator: Step, or New seed through
        Python when a name is done; LearningCurve: the step slider; the EmbeddingSpaceExplorer:
        arrow keys between words, every fifth input the trained/random switch; the
        PositionalEncodingHeatmap: arrow keys ...) -> redrawn, -> next frame.
  bytes per chapter: each page's HTML and the data files it fetches, as served (uncompressed).
  header-less  chapter 1 served with no COOP/COEP headers (as GitHub Pages does), a fresh profile:
        cold is from the first navigation's start, through the reload under the service worker
        that adds the headers, to the first cell result; warm is the next visit once the page says
        "Ready offline" (served from the service worker's copy). Against the bare page served by
        the same header-less server (it needs no reload: it has no Stop to keep).

Warm LM Lab visits wait first until the page says "Ready offline" (the service worker has kept
the book), as a reader's next visit would find it.
  folder LM Lab only, the downloaded archive (_site/lm-lab.zip) unzipped and chapter 1 opened
        from file:// with no server, in a fresh profile: cold and warm navigation -> first cell
        result, against the served page's (cold, warm) of the same round; and the archive's size.

Then, once per run, how the page answers after Python is ready (responsiveness.py): the first
and later widget redraws by keyboard and by pointer, Stop's latency on a sleeping and on a
flooding cell with and without cross-origin isolation, and clicks during an output flood.

Times are from the navigation's start (performance.now() in the page) or from the input event;
medians over the rounds. Ratios are LM Lab / bare page: for the cold and warm first cell result, the
median of each round's own ratio (the two pages run back to back in a round, their order
alternating), since the machine's speed drifts between rounds by more than the gap measured.
"""

import argparse
import functools
import http.server
import json
import random
import re
import statistics
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build"))

import archive  # noqa: E402
from bench_site import add_build_option, built_site  # noqa: E402
from chromium import CHROMIUM, CHROMIUM_ARGS, launch  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from serve_site import Handler, serve_in_background  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import responsiveness  # noqa: E402
import widgets as widget_bench  # noqa: E402

CHAPTER = "01-what-is-a-language-model"
CHAPTER2 = "02-counting"
BARE = "_bench/bare.html"  # chapter 1's bare page (write_bare_page)
LATER_CHAPTERS = ["04-embeddings", "05-position"]
DATA_CHAPTERS = ["02-counting", "03-tokenization", "04-embeddings", "05-position",
                 "06-neural-next-token-prediction", "07-attention",
                 "08-the-transformer", "09-from-gpt-to-chatgpt"]
WIDGET_INPUTS = 30
BEFORE = "00-how-this-book-works"
TIMEOUT = 120_000
SLIDER_INPUTS = 50

BARE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bare Pyodide page</title></head>
<body><h1>Bare Pyodide page</h1><pre id="out">loading…</pre>
<script>
const worker = new Worker(location.pathname.replace(/\\.html$/, "-worker.js"));
worker.onmessage = ({ data }) => {
  const stages = Object.fromEntries(
    Object.entries(data.stages).map(([stage, t]) => [stage, t - performance.timeOrigin]));
  window.__bench = { firstResult: performance.now(), stages };
  document.getElementById("out").textContent = data.printed;
};
</script></body></html>
"""

BARE_WORKER = """const stages = { worker: performance.timeOrigin + performance.now() };
const mark = (stage) => (stages[stage] = performance.timeOrigin + performance.now());
// the chapter's data files, fetched while Python starts, as LM Lab does
const data = Promise.all(DATA.map(({ file, url }) => fetch(new URL(url, self.location))
  .then((response) => response.arrayBuffer()).then((bytes) => [file, new Uint8Array(bytes)])));
importScripts("../pyodide/pyodide.js");
mark("loader");
(async () => {
  const pyodide = await loadPyodide({ indexURL: new URL("../pyodide/", self.location).href });
  mark("interpreter");
  mark("python");
  await pyodide.loadPackage(PACKAGES, { messageCallback: () => {} });
  mark("packages");
  pyodide.FS.mkdirTree("/lmlab/data");
  for (const [file, bytes] of await data) pyodide.FS.writeFile(`/lmlab/data/${file}`, bytes);
  const printed = [];
  pyodide.setStdout({ batched: (line) => printed.push(line) });
  pyodide.runPython(CODE);
  postMessage({ printed: printed.join("\\n"), stages });
})();
"""

# Runs in every LM Lab page of a context: clicks Run on cell 1 of `target` as soon as the page
# has brought its cells to life, and records when that run is done.
LMLAB_INIT = """
window.__benchArm = (target) => {
  const marks = (window.__bench = { firstResult: null, clicked: null });
  const observer = new MutationObserver(() => {
    if (window.lmlab?.page?.slug !== target) return; // the page's cells are live
    const cell = document.querySelector('.cell[data-number="1"]');
    if (marks.clicked === null) {
      marks.clicked = performance.now();
      cell.querySelector(".cell-run").click();
    } else if (cell.dataset.state === "done") {
      marks.firstResult = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true,
                               attributeFilter: ["data-state", "data-page"] });
};
window.__benchArm(location.pathname.split("/").pop().replace(/\\.html$/, ""));
// The first navigation's start, kept across the reload a header-less host costs.
try {
  if (!sessionStorage.getItem("bench:start")) {
    sessionStorage.setItem("bench:start", String(performance.timeOrigin));
  }
} catch {}
"""

# The temperature slider, moved to each of the round's values (the same for every round).
SLIDER_ACT = """(w, i) => { const slider = w.querySelector(".tx-input");
  slider.value = VALUES[i]; slider.dispatchEvent(new Event("input", { bubbles: true })); }"""


class Counter:
    """Bytes of response bodies the server sent since the last reset."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes = 0

    def reset(self) -> None:
        with self.lock:
            self.bytes = 0

    def add(self, n: int) -> None:
        with self.lock:
            self.bytes += n


def serve(root: Path, counter: Counter) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Counting(Handler):
        status = 0

        def send_response(self, code, message=None):
            self.status = code
            super().send_response(code, message)

        def send_header(self, keyword, value):
            if keyword.lower() == "content-length" and self.status == 200:
                counter.add(int(value))
            super().send_header(keyword, value)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Counting, directory=str(root))
    )
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def first_cell_code(slug: str) -> str:
    sys.path.insert(0, str(REPO / "build"))
    import chapters

    return chapters.load(REPO / "web" / "chapters" / f"{slug}.md").cells[0].code


def page_data(site: Path, slug: str) -> list[dict]:
    """The data files a chapter's page fetches: [{file, url, sha256, bytes, ...}]."""
    html = (site / f"{slug}.html").read_text()
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    return json.loads(found.group(1).replace("<\\/", "</")) if found else []


def write_bare_page(site: Path, slug: str) -> str:
    """The bare page of a chapter: Pyodide, the packages and data files the chapter's first cell
    needs (numpy only for chapter 1), and that cell; -> its path under the site."""
    folder = site / "_bench"
    folder.mkdir(exist_ok=True)
    name = "bare" if slug == CHAPTER else f"bare-{slug}"
    data = [{"file": entry["file"], "url": "../" + entry["url"]} for entry in page_data(site, slug)
            if not entry.get("onRequest")]
    packages = ["numpy"] if slug == CHAPTER else ["numpy", "lmlab"]
    (folder / f"{name}.html").write_text(BARE_HTML)
    worker = (BARE_WORKER.replace("CODE", json.dumps(first_cell_code(slug)))
              .replace("PACKAGES", json.dumps(packages)).replace("DATA", json.dumps(data)))
    (folder / f"{name}-worker.js").write_text(worker)
    return f"_bench/{name}.html"


def load(page, url: str, counter: Counter) -> dict:
    """Navigate, wait for the first cell result; returns times (ms) and bytes sent."""
    counter.reset()
    page.goto(url)
    page.wait_for_function("() => window.__bench && window.__bench.firstResult !== null",
                           timeout=TIMEOUT)
    page.wait_for_timeout(300)  # let stragglers finish, so they are counted
    marks = page.evaluate(
        """() => ({
            result: window.__bench.firstResult,
            paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
            stages: window.lmlab
                ? { ...Object.fromEntries(performance.getEntriesByType("mark")
                        .filter((m) => m.name.startsWith("lmlab:"))
                        .map((m) => [m.name.slice(6), m.startTime])),
                    ...window.lmlab.python.bootStages }
                : window.__bench.stages,
        })"""
    )
    return {**marks, "bytes": counter.bytes}


def load_through_reload(page, url: str) -> float:
    """Navigate; wait for the first cell result, through any reload the page does meanwhile;
    returns ms from this navigation's start (not the reload's) to that result."""
    from playwright.sync_api import Error as PlaywrightError

    page.evaluate("() => { try { sessionStorage.removeItem('bench:start'); } catch {} }")
    page.goto(url)
    for _ in range(3):  # at most one reload is expected
        try:
            page.wait_for_function("() => window.__bench && window.__bench.firstResult !== null",
                                   timeout=TIMEOUT)
            break
        except PlaywrightError as err:
            if "destroyed" not in str(err) and "navigat" not in str(err):
                raise
    return page.evaluate("""() => window.__bench.firstResult + performance.timeOrigin
                              - Number(sessionStorage.getItem("bench:start"))""")


def wait_ready_offline(page) -> None:
    """Until the page says "Ready offline"; if it never does, an error that says what was kept."""
    try:
        page.wait_for_selector("#python-status .offline-text:not([hidden])", timeout=TIMEOUT)
    except PlaywrightTimeout:
        kept = page.evaluate("""async () => ({
            page: document.body.dataset.page,
            bookKept: window.lmlab?.offline?.bookKept,
            failure: window.lmlab?.offline?.failure,
            caches: await Promise.all((await caches.keys()).map(async (name) =>
                [name, (await (await caches.open(name)).keys()).length])),
            controlled: Boolean(navigator.serviceWorker.controller),
        })""")
        raise RuntimeError(f"no 'Ready offline' in {TIMEOUT / 1000:.0f} s: {kept}") from None


def headerless_round(playwright, plain_base: str) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        context.add_init_script(LMLAB_INIT)
        page = context.new_page()
        cold = load_through_reload(page, plain_base + f"{CHAPTER}.html")
        reloads = page.evaluate("performance.getEntriesByType('navigation')[0].type")
        reload_at = page.evaluate(
            "performance.timeOrigin - Number(sessionStorage.getItem('bench:start'))")
        wait_ready_offline(page)
        warm = load_through_reload(page, plain_base + f"{CHAPTER}.html")
        context.close()
        return {"cold": cold, "warm": warm, "reloaded": reloads == "reload",
                "reload_at": reload_at if reloads == "reload" else None}


def bare_headerless_round(playwright, plain_base: str) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        page = context.new_page()
        cold = load(page, plain_base + BARE, Counter())["result"]
        warm = load(page, plain_base + BARE, Counter())["result"]
        context.close()
        return {"cold": cold, "warm": warm}


def report_headerless(ours: list[dict], bare: list[dict]) -> None:
    med = statistics.median
    print("\nHeader-less host (no COOP/COEP, as GitHub Pages): chapter 1 against the bare page on "
          "the same server")
    reloaded = sum(r["reloaded"] for r in ours)
    for kind, bar in (("cold", 1.15), ("warm", 1.0)):
        mine, theirs = med(r[kind] for r in ours), med(b[kind] for b in bare)
        verdict = "ok" if mine <= bar * theirs else "MISSED"
        extra = (f" (reloaded once under the service worker in {reloaded} of {len(ours)} "
                 "rounds)") if kind == "cold" else ""
        print(f"  {kind} first navigation -> first cell result: {mine / 1000:.2f} s, bare "
              f"{theirs / 1000:.2f} s, {mine / theirs:.2f}x ({verdict} <= {bar:.2f}x){extra}")
    # Each round measures both sides back to back: on a busy machine the median of the rounds'
    # own ratios is steadier than the ratio of the medians.
    paired = [r["cold"] / b["cold"] for r, b in zip(ours, bare, strict=True)]
    print(f"  cold, each round's own ratio: {', '.join(f'{x:.2f}' for x in paired)} "
          f"(median {med(paired):.2f}x)")
    reloads = [r["reload_at"] for r in ours if r["reload_at"] is not None]
    if reloads:
        print(f"  the reload began {med(reloads):.0f} ms after the first navigation (median)")


def fresh_context(playwright, profile: str):
    """A browser with an empty profile: an empty HTTP cache on disk, no service worker yet. (An
    incognito context would keep its cache in memory, where a 10 MB wasm file is never stored, so
    "warm" would not be warm.)"""
    return playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )


def bare_round(playwright, base: str, counter: Counter, bare_page: str = BARE) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        return bare_visit(context, base, counter, bare_page)


def bare_visit(context, base: str, counter: Counter, bare_page: str = BARE) -> dict:
    page = context.new_page()
    cold = load(page, base + bare_page, counter)
    warm = load(page, base + bare_page, counter)
    context.close()
    return {"cold": cold, "warm": warm}


def lmlab_round(playwright, base: str, counter: Counter, slider_values: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        return lmlab_visit(context, base, counter, slider_values)


def lmlab_visit(context, base: str, counter: Counter, slider_values: list[str]) -> dict:
    context.add_init_script(LMLAB_INIT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    cold = load(page, base + f"{CHAPTER}.html", counter)
    wait_ready_offline(page)
    warm = load(page, base + f"{CHAPTER}.html", counter)
    act = SLIDER_ACT.replace("VALUES", json.dumps(slider_values))
    slider = page.evaluate(widget_bench.TIME_INPUTS_JS,
                           ["temperature-explorer", act, len(slider_values)])

    # Next chapter: open chapter 0 and run its first cell (which imports numpy, as chapter 1's
    # does: the measure is the runtime's, not numpy's first import), then follow "next".
    page.goto(base + f"{BEFORE}.html")
    page.wait_for_function("() => window.__bench.firstResult !== null", timeout=TIMEOUT)
    page.evaluate(f"() => window.__benchArm('{CHAPTER}')")
    page.evaluate(
        """() => document.addEventListener("click", () => {
                window.__bench.navigated = performance.now();
            }, { capture: true, once: true })"""
    )
    page.click("a[rel=next]")
    page.wait_for_function("() => window.__bench.firstResult !== null", timeout=TIMEOUT)
    marks = page.evaluate("() => window.__bench")
    next_chapter = marks["firstResult"] - marks["navigated"]
    context.close()
    if errors:
        raise RuntimeError(f"the page logged errors: {errors}")
    return {"cold": cold, "warm": warm, "next": next_chapter, "slider": slider}


def folder_round(playwright, folder: Path) -> dict:
    """Chapter 1 of the unzipped archive, from file://: cold (a fresh profile) and warm."""
    url = (folder / f"{CHAPTER}.html").as_uri()
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        context.add_init_script(LMLAB_INIT)
        page = context.new_page()
        cold = load(page, url, Counter())
        warm = load(page, url, Counter())
        context.close()
        return {"cold": cold, "warm": warm}


def chapter_round(playwright, base: str, counter: Counter, slug: str) -> dict:
    """A chapter cold in a fresh profile, then warm once the book is kept offline."""
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        context.add_init_script(LMLAB_INIT)
        page = context.new_page()
        cold = load(page, base + f"{slug}.html", counter)
        wait_ready_offline(page)
        warm = load(page, base + f"{slug}.html", counter)
        context.close()
        return {"cold": cold, "warm": warm}


def widgets_round(playwright, base: str, counter: Counter) -> dict:
    """The widgets of chapters 2, 4 and 5, in one fresh profile."""
    with tempfile.TemporaryDirectory() as profile:
        context = fresh_context(playwright, profile)
        context.add_init_script(LMLAB_INIT)
        page = context.new_page()
        widgets = {}
        for slug in (CHAPTER2, *LATER_CHAPTERS):
            load(page, base + f"{slug}.html", counter)
            for chapter, widget, _, act in widget_bench.SCENARIOS:
                if chapter == slug and widget not in widgets:  # each widget's first scenario
                    widgets[widget] = page.evaluate(widget_bench.TIME_INPUTS_JS,
                                                    [widget, act, WIDGET_INPUTS])
        context.close()
        return widgets


def page_bytes(site: Path) -> list[tuple[str, int, int]]:
    """(chapter, HTML bytes, bytes of the data files it fetches) for every chapter page."""
    pages = sorted(site.glob("[0-9][0-9]-*.html"))
    return [(page.stem, page.stat().st_size, sum(e["bytes"] for e in page_data(site, page.stem)))
            for page in pages]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    add_build_option(parser)
    parser.add_argument("--only-boot", action="store_true",
                        help="chapter 1's boot rows and the header-less host only (no widgets, "
                             "chapter 2 or responsiveness)")
    parser.add_argument("--no-after-ready", action="store_true",
                        help="leave out how the page answers after Python is ready")
    parser.add_argument("--chapters", nargs="+", choices=DATA_CHAPTERS, default=DATA_CHAPTERS,
                        help="the data chapters to measure (all by default)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    site = built_site(args)
    write_bare_page(site, CHAPTER)
    bare_pages = {slug: write_bare_page(site, slug) for slug in args.chapters}
    counter = Counter()
    server, base = serve(site, counter)
    grid = [f"{0.1 + 0.05 * i:.2f}" for i in range(59)]
    rng = random.Random(0)
    slider_values = [rng.choice(grid) for _ in range(SLIDER_INPUTS)]
    bare, ours, widgets, headerless, bare_headerless, folders = [], [], [], [], [], []
    later = {slug: {"ours": [], "bare": []} for slug in args.chapters}
    plain, plain_base = serve_in_background(site, isolation=False)
    unzipped = tempfile.TemporaryDirectory()
    folder = archive.unzip(site / archive.NAME, Path(unzipped.name))
    with sync_playwright() as p:
        browser = launch(p)
        version = browser.version
        skip = args.only_boot or args.no_after_ready
        after_ready = None if skip else responsiveness.measure(
            browser, {"isolated": base, "plain": plain_base}, args.rounds)
        browser.close()
        for r in range(args.rounds):
            # Alternate the order, so that neither side always runs on a warmer machine.
            if r % 2:
                ours.append(lmlab_round(p, base, counter, slider_values))
                bare.append(bare_round(p, base, counter))
            else:
                bare.append(bare_round(p, base, counter))
                ours.append(lmlab_round(p, base, counter, slider_values))
            if not args.only_boot:
                widgets.append(widgets_round(p, base, counter))
                for slug in args.chapters:
                    for side in ("bare", "ours")[::-1 if r % 2 else 1]:
                        later[slug][side].append(
                            chapter_round(p, base, counter, slug) if side == "ours"
                            else bare_round(p, base, counter, bare_pages[slug]))
                folders.append(folder_round(p, folder))
            if r % 2:
                headerless.append(headerless_round(p, plain_base))
                bare_headerless.append(bare_headerless_round(p, plain_base))
            else:
                bare_headerless.append(bare_headerless_round(p, plain_base))
                headerless.append(headerless_round(p, plain_base))
            print(f"  round {r + 1}/{args.rounds}: cold {ours[-1]['cold']['result']:.0f} ms, "
                  f"warm {ours[-1]['warm']['result']:.0f} ms (bare {bare[-1]['cold']['result']:.0f}"
                  f", {bare[-1]['warm']['result']:.0f} ms); header-less cold "
                  f"{headerless[-1]['cold']:.0f} ms (bare {bare_headerless[-1]['cold']:.0f} ms)",
                  file=sys.stderr, flush=True)
    server.shutdown()
    plain.shutdown()
    report(bare, ours, version, args.rounds)
    if widgets:
        report_chapters(later, widgets, page_bytes(site))
    report_headerless(headerless, bare_headerless)
    if folders:
        report_folder(ours, folders, site / archive.NAME)
    unzipped.cleanup()
    if after_ready:
        responsiveness.report(after_ready)


def report(bare: list[dict], ours: list[dict], version: str, rounds: int) -> None:
    med = statistics.median
    cold, bare_cold = med(o["cold"]["result"] for o in ours), med(b["cold"]["result"] for b in bare)
    warm, bare_warm = med(o["warm"]["result"] for o in ours), med(b["warm"]["result"] for b in bare)
    cold_ratio, warm_ratio = (paired_ratio(ours, bare, kind) for kind in ("cold", "warm"))
    paint = med(o["cold"]["paint"] for o in ours)
    next_chapter = med(o["next"] for o in ours)
    drawn = [t for o in ours for t in o["slider"]["drawn"]]
    framed = [t for o in ours for t in o["slider"]["framed"]]
    cold_mb, bare_cold_mb = (med(r["cold"]["bytes"] for r in rows) / 1e6 for rows in (ours, bare))
    warm_mb, bare_warm_mb = (med(r["warm"]["bytes"] for r in rows) / 1e6 for rows in (ours, bare))
    s = lambda ms: f"{ms / 1000:.2f} s"  # noqa: E731
    rows = [
        ("cold navigation -> first cell result", s(cold), s(bare_cold), f"{cold_ratio:.2f}x",
         "<= 1.15x bare", cold_ratio <= 1.15),
        ("warm navigation -> first cell result", s(warm), s(bare_warm), f"{warm_ratio:.2f}x",
         "<= 1.00x bare", warm_ratio <= 1.0),
        ("navigation -> first text painted", s(paint), "", "", "<= 0.5 s", paint <= 500),
        ("next chapter -> Python ready (cell result)", f"{next_chapter / 1000:.3f} s", "", "",
         "<= 0.2 s", next_chapter <= 200),
        ("slider input -> redrawn, median", f"{med(drawn):.1f} ms", "", "", "", None),
        ("slider input -> redrawn, p95", f"{percentile(drawn, 0.95):.1f} ms", "", "", "<= 50 ms",
         percentile(drawn, 0.95) <= 50),
        ("slider input -> next frame, median", f"{med(framed):.1f} ms", "", "", "", None),
        ("slider input -> next frame, p95", f"{percentile(framed, 0.95):.1f} ms", "", "", "", None),
        ("bytes transferred, cold", f"{cold_mb:.2f} MB", f"{bare_cold_mb:.2f} MB",
         f"{cold_mb / bare_cold_mb:.2f}x", "", None),
        ("bytes transferred, warm", f"{warm_mb:.3f} MB", f"{bare_warm_mb:.3f} MB", "", "", None),
    ]
    print_table(rows, version, rounds, len(drawn))
    print_stages(bare, ours)


def paired_ratio(ours: list[dict], bare: list[dict], kind: str) -> float:
    """The median over rounds of LM Lab / bare, each round's pair measured back to back. The
    machine's speed drifts between rounds by more than the gap measured (the bare page alone
    ranged 3.4-4.4 s in one run), and a ratio of two medians mixes different rounds' drifts."""
    return statistics.median(o[kind]["result"] / b[kind]["result"]
                             for o, b in zip(ours, bare, strict=True))


def report_chapters(later: dict[str, dict], widgets: list[dict], sizes: list[tuple]) -> None:
    """Each data chapter's cold and warm first cell result against its own bare page (the same
    cell, packages and data files), the widgets' redraws and the bytes per chapter."""
    med = statistics.median
    print("\nData chapters: the first cell result against a bare page that loads the same packages "
          "and data files and runs the same cell (median of the same rounds, fresh profiles)")
    print(f"  {'chapter':18} {'cold':>7} {'bare':>7} {'ratio':>6}        {'warm':>7} {'bare':>7} "
          f"{'ratio':>6}        {'MB cold':>7}")
    for slug, sides in later.items():
        cells = []
        for kind, bar in (("cold", 1.15), ("warm", 1.0)):
            ours = med(r[kind]["result"] for r in sides["ours"])
            theirs = med(r[kind]["result"] for r in sides["bare"])
            ratio = paired_ratio(sides["ours"], sides["bare"], kind)
            ok = "ok" if ratio <= bar else "MISSED"
            cells.append(f"{ours / 1000:6.2f}s {theirs / 1000:6.2f}s {ratio:5.2f}x {ok:6}")
        mb = med(r["cold"]["bytes"] for r in sides["ours"]) / 1e6
        print(f"  {slug:18} {' '.join(cells)} {mb:7.2f}")
    print("  ratio: the median of each round's own ratio (both pages back to back in one round, "
          "their order alternating);\n  bars: cold <= 1.15x, warm <= 1.00x")
    print("  each round's own cold ratio:")
    for slug, sides in later.items():
        each = [o["cold"]["result"] / b["cold"]["result"]
                for o, b in zip(sides["ours"], sides["bare"], strict=True)]
        print(f"    {slug:32} {', '.join(f'{x:.2f}' for x in each)}")
    for slug, sides in later.items():
        print_stages(sides["bare"], sides["ours"], slug)
    print("\nWidgets of chapters 2, 4 and 5 (median of the same rounds)")
    for name in widgets[0]:
        drawn = [t for r in widgets for t in r[name]["drawn"]]
        framed = [t for r in widgets for t in r[name]["framed"]]
        p95 = percentile(drawn, 0.95)
        print(f"  {name:18} input -> redrawn median {med(drawn):.1f} ms, p95 {p95:.1f} ms "
              f"({'ok' if p95 <= 50 else 'MISSED'} <= 50 ms); -> next frame median "
              f"{med(framed):.1f}, p95 {percentile(framed, 0.95):.1f} ms")
    print("\nBytes per chapter (uncompressed, as served): page HTML + the data files it fetches")
    for slug, html_bytes, data_bytes in sizes:
        print(f"  {slug:32} {html_bytes:>9,} + {data_bytes:>9,} = {html_bytes + data_bytes:>9,} B")


def report_folder(ours: list[dict], folders: list[dict], zipped: Path) -> None:
    med = statistics.median
    print("\nFrom a folder (the downloaded archive unzipped, file://, no server), chapter 1, "
          "median of the same rounds")
    for kind in ("cold", "warm"):
        local = med(r[kind]["result"] for r in folders)
        served = med(r[kind]["result"] for r in ours)
        print(f"  {kind} navigation -> first cell result: {local / 1000:.2f} s from file:// "
              f"against {served / 1000:.2f} s served: {local / served:.2f}x")
    print(f"  archive {zipped.name}: {zipped.stat().st_size / 1e6:.1f} MB to download, "
          f"{archive.size_on_disk(zipped) / 1e6:.1f} MB unzipped")


STAGES = [
    ("page-script", "page script running"),
    ("worker-created", "worker created"),
    ("thread", "worker thread running"),
    ("worker", "worker script read"),
    ("loader", "pyodide.js read"),
    ("interpreter", "Pyodide's interpreter up"),
    ("python", "Python started (kernel; start-up saved)"),
    ("packages", "numpy (and lmlab) loaded"),
    ("kernel", "kernel ready"),
    ("result", "first cell result"),
]


def print_stages(bare: list[dict], ours: list[dict], chapter: str = "chapter 1") -> None:
    """When each boot stage ended, ms from navigation (medians): where the time goes."""
    print(f"\nWhere the time goes, {chapter}: each stage's end, ms from navigation (median)")
    columns = [("cold", ours, "LM Lab"), ("cold", bare, "bare"), ("warm", ours, "LM Lab"),
               ("warm", bare, "bare")]
    print(f"{'stage':28}" + "".join(f"{kind + ' ' + who:>14}" for kind, _, who in columns))
    for stage, label in STAGES:
        cells = []
        for kind, rounds, _ in columns:
            times = [r[kind]["result"] if stage == "result" else r[kind]["stages"].get(stage)
                     for r in rounds]
            times = [t for t in times if t is not None]
            cells.append(f"{statistics.median(times):14.0f}" if times else f"{'':14}")
        print(f"{label:28}" + "".join(cells))


def print_table(rows: list[tuple], version: str, rounds: int, inputs: int) -> None:
    print(f"Boot benchmark, chapter 1: Chromium {version}, headless, median of {rounds} rounds "
          f"({inputs} slider inputs)")
    widths = [44, 9, 10, 7, 14, 6]
    header = ["measure", "LM Lab", "bare page", "ratio", "bar"]
    for *cells, ok in [(*header, None), *rows]:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        line = "  ".join(str(c).ljust(w) for c, w in zip([*cells, verdict], widths, strict=True))
        print(line.rstrip())


if __name__ == "__main__":
    main()
