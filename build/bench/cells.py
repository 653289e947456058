"""How long the book's heaviest cells take in the reader's browser, against CPython.

    .venv/bin/python build/bench/cells.py [--rounds 5] [--no-build]

Serves the built site with COOP/COEP and opens each chapter below in headless Chromium. Once
Python is ready it runs every cell of the page once (Run all, as a reader would), then runs each
timed cell again `rounds` times, timing from the click on Run to the cell's state becoming
"done" (the output on the page). The same code is timed with CPython in this process, through the
kernel the builder uses, for the ratio column; the baseline row is an empty round trip to the
worker (`len([])`), the least any cell or widget costs.

The chapter 4 bars (issue 11): skip-gram on the toy corpus with the seed's setting (cell
`skipgram`: dim 10, window 2, k 5, 100 passes) under 1 s; word2vec on tiny-shakespeare (cell
`bard`) "a few seconds".
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "build"), str(REPO / "py")]

from bench_site import add_build_option, built_site  # noqa: E402
from chromium import launch  # noqa: E402
from serve_site import serve_in_background  # noqa: E402

TIMEOUT = 180_000
# (chapter, cell id, what it is)
CELLS = [
    ("04-embeddings", "skipgram", "skip-gram, toy corpus, the seed's setting (bar: < 1 s)"),
    ("04-embeddings", "bard", "word2vec on tiny-shakespeare, one pass (bar: a few seconds)"),
    ("04-embeddings", "cbow", "CBOW, toy corpus, the same setting"),
]

RUN_ALL_JS = """async () => {
  document.querySelector('[data-action=run-all]').click();
  await new Promise((resolve) => {
    const finished = (c) => ['done', 'error', 'stopped'].includes(c.dataset.state);
    const check = () => [...document.querySelectorAll('.cell')].every(finished)
      ? resolve() : setTimeout(check, 50);
    check();
  });
}"""

TIME_CELL_JS = """async (id) => {
  const cell = document.querySelector(`#cell-${id}`);
  const start = performance.now();
  cell.querySelector('.cell-run').click();
  await new Promise((resolve, reject) => {
    const check = () => {
      if (cell.dataset.state === 'done') return resolve();
      const state = cell.dataset.state;
      if (['error', 'stopped'].includes(state)) return reject(new Error(`cell ${id}: ${state}`));
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
  return performance.now() - start;
}"""

ROUND_TRIP_JS = """async () => {
  const start = performance.now();
  await lmlab.python.call(lmlab.page.slug, "builtins.len", [[]]);
  return performance.now() - start;
}"""


def cpython_seconds(chapter: str, cell_id: str, rounds: int) -> float:
    """The best of `rounds` runs of the cell with CPython, after the cells before it."""
    import chapters
    import execute

    parsed = chapters.load(REPO / "web" / "chapters" / f"{chapter}.md")
    kernel = execute.load_kernel().Kernel()
    for number, cell in enumerate(parsed.cells, start=1):
        if cell.id == cell_id:
            break
        kernel.run(chapter, str(number), cell.code, lambda *_: None)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        kernel.run(chapter, str(number), cell.code, lambda *_: None)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    add_build_option(parser)
    args = parser.parse_args()
    built_site(args)
    from playwright.sync_api import sync_playwright

    server, base = serve_in_background(REPO / "_site", isolation=True)
    rows, trips = [], []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for chapter in dict.fromkeys(chapter for chapter, *_ in CELLS):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{base}{chapter}.html")
                page.wait_for_selector("#python-status[data-state=ready]", timeout=TIMEOUT)
                page.evaluate(RUN_ALL_JS)
                for cell_chapter, cell_id, what in CELLS:
                    if cell_chapter == chapter:
                        times = [page.evaluate(TIME_CELL_JS, cell_id) for _ in range(args.rounds)]
                        rows.append((cell_id, what, times))
                trips += [page.evaluate(ROUND_TRIP_JS) for _ in range(20)]
                context.close()
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    print(f"Cells in Chromium {version} (headless), {args.rounds} runs each after Run all; "
          f"baseline: an empty round trip to the worker, median {statistics.median(trips):.1f} ms")
    header = ("cell", "what", "Chromium median", "best", "CPython best", "Chromium/CPython")
    table = []
    for cell_id, what, times in rows:
        chapter = next(c for c, i, _ in CELLS if i == cell_id)
        native = cpython_seconds(chapter, cell_id, min(args.rounds, 3))
        table.append((cell_id, what, f"{statistics.median(times) / 1000:.2f} s",
                      f"{min(times) / 1000:.2f} s", f"{native:.2f} s",
                      f"{min(times) / 1000 / native:.1f}x"))
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
