"""Every widget's redraw after a reader's input, in headless Chromium; the bar is p95 <= 50 ms.

    .venv/bin/python build/bench/widgets.py [--inputs 60] [--no-build] [--widget NAME ...]

Serves the built site with COOP/COEP and opens each chapter that has widgets in a fresh browser
profile. Once Python is ready, each scenario drives one control as a reader would (the same event
the control fires for a pointer or a key) and times from the input to the widget's `widget:drawn`
event (the page updated from Python's answer, or from data the widget already holds), and to the
next animation frame after it. The first input of each scenario is reported apart from the rest.

Baseline, measured in the same page: a round trip to the Python worker that does nothing
(`lmlab.python.call` of `len([])`), the least any widget that asks Python can cost. The ratio
column is a scenario's p95 over the round trip's p95.
"""

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build"))

from bench_site import add_build_option, built_site  # noqa: E402
from chromium import launch  # noqa: E402
from serve_site import serve_in_background  # noqa: E402

TIMEOUT = 120_000
BAR_MS = 50

# (chapter, widget, what the reader does, JS (widget element, input number) -> performs the input).
# The boot benchmark times the widgets of chapters 2, 4 and 5 with these too (each widget's first
# scenario).
SCENARIOS = [
    ("01-what-is-a-language-model", "temperature-explorer", "temperature slider",
     """(w, i) => { const s = w.querySelector(".tx-input");
                   s.value = String((0.1 + (i * 7 % 58) * 0.05).toFixed(2));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("01-what-is-a-language-model", "generation-explorer", "temperature slider",
     """(w, i) => { const s = w.querySelector(".gx-temperature");
                   s.value = String((0.1 + (i * 7 % 58) * 0.05).toFixed(2));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("01-what-is-a-language-model", "generation-explorer", "New seed",
     """(w) => w.querySelector(".gx-new-seed").click()"""),
    ("01-what-is-a-language-model", "generation-explorer", "Step / Start over",
     """(w, i) => w.querySelector(i % 4 === 3 || w.querySelector(".gx-ended") ? ".gx-reset"
                                                                         : ".gx-next").click()"""),
    ("02-counting", "bigram-table", "counts / probabilities",
     """(w, i) => {
       const radio = w.querySelector(`.bt-mode input[value=${i % 2 ? "counts" : "probs"}]`);
       radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("02-counting", "name-generator", "Step (New name at the end)",
     """(w) => { const step = w.querySelector(".ng-step");
                (step.disabled ? w.querySelector(".ng-new") : step).click(); }"""),
    ("02-counting", "learning-curve", "step slider",
     """(w, i) => { const slider = w.querySelector(".lc-step");
                   slider.value = String((i * 37) % (Number(slider.max) + 1));
                   slider.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("04-embeddings", "embedding-explorer", "arrow keys / trained-random switch",
     """(w, i) => {
       if (i % 5 === 4) {
         const view = i % 10 === 4 ? "random" : "trained";
         const radio = w.querySelector(`.ee-view input[value=${view}]`);
         radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); return;
       }
       const key = ["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"][i % 4];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".ee-plot").dispatchEvent(press);
     }"""),
    ("04-embeddings", "embedding-explorer", "horizontal axis: PCA / gender / my pair",
     """(w, i) => {
       const radio = w.querySelector(`.ee-axis input[value=${["gender", "own", "pca"][i % 3]}]`);
       radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("04-embeddings", "skipgram-dynamics", "scrubber (redraws from the run it holds)",
     """(w, i) => { const s = w.querySelector(".sg-scrubber");
                   s.value = String((i * 397) % (Number(s.max) + 1));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("04-embeddings", "skipgram-dynamics", "Step (back to step 0 at the end)",
     """(w) => { const step = w.querySelector(".sg-step");
                if (!step.disabled) { step.click(); return; }
                const s = w.querySelector(".sg-scrubber");
                s.value = "0"; s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("04-embeddings", "skipgram-dynamics", "seed (retrains in Python: a computation, not a redraw)",
     """(w, i) => { const seed = w.querySelector(".sg-seed");
                   seed.value = String(i % 50 + 1);
                   seed.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("06-neural-next-token-prediction", "gradient-through-time",
     "weight scale slider (backpropagation through time, RNN and LSTM, 100 steps)",
     """(w, i) => { const s = w.querySelector(".gt-scale");
                   s.value = String((0.5 + (i * 7 % 21) * 0.05).toFixed(2));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("06-neural-next-token-prediction", "gradient-through-time", "read-step slider",
     """(w, i) => { const s = w.querySelector(".gt-at-input");
                   s.value = String(1 + (i * 37) % Number(s.max));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("06-neural-next-token-prediction", "mlp-trainer",
     "Train / Pause, alternately (20 steps of training, or the pause's sampled names, redrawn)",
     """(w) => w.querySelector(".mt-run").click()"""),
    ("06-neural-next-token-prediction", "descent-valley", "learning-rate slider",
     """(w, i) => { const s = w.querySelector(".dv-rate");
                   s.value = String((i * 5) % (Number(s.max) + 1));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("05-position", "positional-heatmap", "arrow keys",
     """(w, i) => {
       const key = ["ArrowRight", "ArrowDown", "ArrowRight", "ArrowUp"][i % 4];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".ph-map").dispatchEvent(press);
     }"""),
    ("05-position", "position-lab", "arrow keys",
     """(w, i) => {
       const key = ["ArrowDown", "ArrowRight", "PageDown", "ArrowUp", "PageUp", "ArrowDown"][i % 6];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".pl-panels").dispatchEvent(press);
     }"""),
    ("05-position", "position-lab", "scores / weights (redraws five matrices)",
     """(w, i) => {
       const radio = w.querySelector(`input[value=${i % 2 ? "scores" : "weights"}]`);
       radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("05-position", "position-lab", "sequence length (recomputed in Python)",
     """(w, i) => { const t = w.querySelector(".pl-T");
                   t.value = String(16 + (i * 7) % 49);
                   t.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("07-attention", "attention-matrix", "arrow keys (redraws the focused row's mix)",
     """(w, i) => {
       const key = ["ArrowDown", "ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp", "End"][i % 6];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector('.am-cell[tabindex="0"]').dispatchEvent(press);
     }"""),
    ("07-attention", "attention-matrix", "raw / scaled / projected (recomputed in Python)",
     """(w, i) => {
       const radio = w.querySelector(`input[value=${["scaled", "projected", "raw"][i % 3]}]`);
       radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("07-attention", "attention-matrix", "typing the sentence (recomputed in Python)",
     """(w, i) => { const t = w.querySelector(".am-sentence");
                   const end = ["tired", "cold", "happy"][i % 3];
                   t.value = `the cat sat on the floor because it was ${end}`;
                   t.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("07-attention", "attention-heads", "arrow keys (four maps, readout, next characters)",
     """(w, i) => {
       const key = ["ArrowDown", "ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp", "End"][i % 6];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".ah-panels").dispatchEvent(press);
     }"""),
    ("07-attention", "attention-heads",
     "head switch (recomputed in Python; the first input trains the model in the page)",
     """(w, i) => w.querySelectorAll(".ah-head")[i % 4].click()"""),
    ("08-the-transformer", "gpt-size", "presets (recomputed in Python)",
     """(w, i) => w.querySelectorAll(".gs-preset")[i % 6].click()"""),
    ("08-the-transformer", "gpt-size", "layers (recomputed in Python)",
     """(w, i) => { const t = w.querySelector('.gs-input[data-field="n_layer"]');
                   t.value = String(1 + (i * 7) % 96);
                   t.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("09-from-gpt-to-chatgpt", "scaling-law", "compute slider (recomputed in Python)",
     """(w, i) => { const s = w.querySelector(".sl-compute");
                   s.value = String(12 + (i * 37) % 141 / 10);
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("09-from-gpt-to-chatgpt", "scaling-law", "size slider (recomputed in Python)",
     """(w, i) => { const s = w.querySelector(".sl-size");
                   s.value = String(-2 + (i * 7) % 81 / 20);
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("09-from-gpt-to-chatgpt", "scaling-law", "presets (recomputed in Python)",
     """(w, i) => w.querySelectorAll(".sl-preset")[i % 6].click()"""),
    ("09-from-gpt-to-chatgpt", "chat-stages", "Show tokens (redraws the three columns)",
     """(w) => w.querySelector(".cs-show-tokens").click()"""),
    ("08-the-transformer", "gpt-lens", "token strip arrow keys (lens, heads, map row)",
     """(w, i) => {
       const key = ["ArrowLeft", "ArrowLeft", "ArrowRight", "Home", "End", "ArrowLeft"][i % 6];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".gl-strip").dispatchEvent(press);
     }"""),
    ("08-the-transformer", "gpt-lens", "map arrow keys (cell, and row with the lens)",
     """(w, i) => {
       const key = ["ArrowUp", "ArrowLeft", "ArrowDown", "ArrowRight", "Home", "End"][i % 6];
       const press = new KeyboardEvent("keydown", { key, bubbles: true });
       w.querySelector(".gl-map").dispatchEvent(press);
     }"""),
    ("08-the-transformer", "gpt-lens", "block / head select (one head's map from Python)",
     """(w, i) => { const s = w.querySelector(i % 2 ? ".gl-head" : ".gl-layer");
                   s.value = String((i >> 1) % 4);
                   s.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("08-the-transformer", "gpt-lens", "typing the prompt (each new: a forward pass in Python)",
     """(w, i) => { const t = w.querySelector(".gl-prompt");
                   t.value = `ROMEO:\\nBut soft, what light through ${i} windows`;
                   t.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("03-tokenization", "bpe-visualizer", "Step / Back",
     """(w, i) => w.querySelector(i % 5 === 4 ? ".bv-back" : ".bv-step").click()"""),
    ("03-tokenization", "bpe-visualizer", "step slider",
     """(w, i) => { const s = w.querySelector(".bv-step-input");
                   s.value = String(i * 37 % 101);
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("03-tokenization", "bpe-visualizer", "typing (retrains)",
     """(w, i) => { const t = w.querySelector(".bv-text");
                   t.value = "unhappiness and print(\\"hello\\") " + "abcdefghij".slice(0, i % 10);
                   t.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("03-tokenization", "tokenizer-playground", "typing",
     """(w, i) => { const t = w.querySelector(".tp-text");
                   t.value = "The cat sat on the mat. strawberry 12345 " + "word ".repeat(i % 7);
                   t.dispatchEvent(new Event("input", { bubbles: true })); }"""),
]

# The reader's own functions driving chapters 1 and 2's widgets. Before these scenarios the page
# runs the code the reader would (a JS expression giving it: a chapter cell, or an exercise's
# solution) and switches the widget's "Use my ..." on.
RUN_MINE = "Run on my loss_and_grad (300 steps of the reader's code: a computation, not a redraw)"
SOLUTION_JS = ("'import numpy as np\\n' + document.querySelector("
               "'.exercise[data-exercise={}] .exercise-solution code').textContent")
READER_SETUP = {
    ("01-what-is-a-language-model", "generation-explorer", "temperature slider, on my table"):
        ("lmlab.page.cells.find((c) => c.id === 'table').code", ".gx-mine"),
    ("02-counting", "name-generator", "New seed, from my bigram_counts"):
        (SOLUTION_JS.format("bigram_counts"), ".ng-mine"),
    ("02-counting", "learning-curve", RUN_MINE):
        (SOLUTION_JS.format("loss_and_grad"), ".lc-mine"),
}
SCENARIOS += [
    ("01-what-is-a-language-model", "generation-explorer", "temperature slider, on my table",
     """(w, i) => { const s = w.querySelector(".gx-temperature");
                   s.value = String((0.1 + (i * 7 % 58) * 0.05).toFixed(2));
                   s.dispatchEvent(new Event("input", { bubbles: true })); }"""),
    ("02-counting", "name-generator", "New seed, from my bigram_counts",
     """(w) => w.querySelector(".ng-new").click()"""),
    ("02-counting", "learning-curve", RUN_MINE,
     """(w) => w.querySelector(".lc-run").click()"""),
]
READER_SETUP_JS = """async ([widgetName, code, switchClass]) => {
  const widget = document.querySelector(`.widget[data-widget="${widgetName}"]`);
  const defined = await lmlab.python.run(lmlab.page.slug, "bench", eval(code), {});
  if (!defined) throw new Error("the reader's code did not run");
  const drawn = new Promise((resolve) =>
    widget.addEventListener("widget:drawn", resolve, { once: true }));
  const toggle = widget.querySelector(switchClass);
  toggle.checked = true;
  toggle.dispatchEvent(new Event("change", { bubbles: true }));
  await drawn;
}"""

# untilBusy (BUSY_SCENARIOS below): time to the widget saying it is busy, not to its redraw (which
# each input still waits for, so that requests never pile up).
TIME_INPUTS_JS = """async ([widgetName, act, count, untilBusy = false]) => {
  const widget = document.querySelector(`.widget[data-widget="${widgetName}"]`);
  widget.scrollIntoView();
  const perform = eval(act);
  const drawn = [], framed = [];
  for (let i = 0; i < count; i++) {
    const redrawn = new Promise((resolve) =>
      widget.addEventListener("widget:drawn", resolve, { once: true }));
    let observer;
    const busy = new Promise((resolve) => {
      observer = new MutationObserver(() => {
        if (widget.querySelector('[aria-busy="true"]')) resolve();
      });
      observer.observe(widget, { subtree: true, attributes: true, attributeFilter: ["aria-busy"] });
    });
    const start = performance.now();
    perform(widget, i);
    await (untilBusy ? busy : redrawn);
    observer.disconnect();
    drawn.push(performance.now() - start);
    await new Promise((resolve) => requestAnimationFrame(resolve));
    framed.push(performance.now() - start);
    await redrawn;
  }
  return { drawn, framed };
}"""

ROUND_TRIP_JS = """async (count) => {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await lmlab.python.call(lmlab.page.slug, "builtins.len", [[]]);
    times.push(performance.now() - start);
  }
  return times;
}"""


# Widgets that write their answer as it is computed, a few tokens per Python call, each call's
# answer redrawn (widget:drawn's detail says how many tokens are drawn, whether all are, and how
# long the call took): input -> the first redraw with new tokens, each later redraw's Python call,
# and input -> all written. The next input waits until then. Same 4-tuples as SCENARIOS.
STREAM_SCENARIOS = [
    ("09-from-gpt-to-chatgpt", "chat-stages",
     "typing a new line + Enter (three models write up to 40 tokens each in Python)",
     """(w, i) => { const t = w.querySelector(".cs-line");
                   t.value = `Good morrow, sir; what news from Padua? ${i}`;
                   const enter = new KeyboardEvent("keydown", { key: "Enter", bubbles: true });
                   t.dispatchEvent(enter); }"""),
    ("09-from-gpt-to-chatgpt", "chat-stages", "Sample again (the next seed, in Python)",
     """(w) => w.querySelector(".cs-again").click()"""),
]

TIME_STREAM_JS = """async ([widgetName, act, count]) => {
  const widget = document.querySelector(`.widget[data-widget="${widgetName}"]`);
  widget.scrollIntoView();
  const perform = eval(act);
  const first = [], calls = [], done = [];
  for (let i = 0; i < count; i++) {
    let start, seen = false;
    const written = new Promise((resolve) => {
      const drawn = ({ detail }) => {
        if (detail.tokens > 0 && !seen) first.push(performance.now() - start);
        else if (detail.tokens > 0) calls.push(detail.call);
        seen ||= detail.tokens > 0;
        if (!detail.done) return;
        done.push(performance.now() - start);
        widget.removeEventListener("widget:drawn", drawn);
        resolve();
      };
      widget.addEventListener("widget:drawn", drawn);
    });
    start = performance.now();
    perform(widget, i);
    await written;
  }
  return { first, calls, done };
}"""


# Inputs that start a computation in Python (chapters 4, 5, 7 and 9): how soon the widget says it is
# working (aria-busy="true" on it, its status line saying so) and the next frame, which paints
# that; the answer's redraw is timed by SCENARIOS above. Same 4-tuples as SCENARIOS.
BUSY_SCENARIOS = [
    ("04-embeddings", "skipgram-dynamics", "seed: 'Training...' shown (aria-busy)",
     """(w, i) => { const seed = w.querySelector(".sg-seed");
                   seed.value = String(i % 50 + 51);
                   seed.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("07-attention", "attention-matrix", "raw / scaled / projected: busy shown (aria-busy)",
     """(w, i) => {
       const radio = w.querySelector(`input[value=${["scaled", "projected", "raw"][i % 3]}]`);
       radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }"""),
    ("07-attention", "attention-heads", "head switch: busy shown (aria-busy)",
     """(w, i) => w.querySelectorAll(".ah-head")[(i + 1) % 4].click()"""),
    ("09-from-gpt-to-chatgpt", "chat-stages", "Sample again: 'writing...' shown (aria-busy)",
     """(w) => w.querySelector(".cs-again").click()"""),
    ("05-position", "position-lab", "sequence length: busy shown (aria-busy)",
     """(w, i) => { const t = w.querySelector(".pl-T");
                   t.value = String(17 + (i * 7) % 47);
                   t.dispatchEvent(new Event("change", { bubbles: true })); }"""),
]

# The Python calls behind those computations alone, from the page (compute, JSON both ways and
# the worker's message; no drawing): (chapter, widget, fn, JS i -> the kwargs of call i).
PYTHON_CALLS = [
    ("04-embeddings", "skipgram-dynamics", "lmlab.word2vec.skipgram_dynamics",
     "(i) => ({ seed: i % 50 + 1 })"),
    ("07-attention", "attention-matrix", "lmlab.attention.attention_view",
     "(i) => ({ mode: ['raw', 'scaled', 'projected'][i % 3], causal: i % 2 === 1 })"),
    ("05-position", "position-lab", "lmlab.position.position_lab",
     "(i) => ({ T: 17 + (i * 7) % 47 })"),
    ("08-the-transformer", "gpt-lens", "lmlab.gpt_lens.lens_view",
     "(i) => ({ prompt: `ROMEO:\\nBut soft, what light ${i} times`, layer: i % 4 })"),
    ("08-the-transformer", "gpt-lens", "lmlab.gpt_lens.attention_map",
     "(i) => ({ prompt: 'ROMEO:\\nBut soft, what light', layer: i % 4, head: (i >> 2) % 4 })"),
    ("07-attention", "attention-heads", "lmlab.attention_lm.heads_view",
     "(i) => ({ name: ['emma', 'sebastian', 'olivia'][i % 3], off: [i % 4] })"),
    ("09-from-gpt-to-chatgpt", "scaling-law", "lmlab.scaling.scaling_view",
     "(i) => ({ log10_compute: 12 + (i * 37) % 141 / 10, size_vs_optimum: (i % 9 - 4) / 2 })"),
    ("09-from-gpt-to-chatgpt", "chat-stages", "lmlab.chat_stages.stages_stream",
     "(i) => ({ line: `Whither away, sir ${i / 21 | 0}?`, temperature: 0.8, seed: i / 21 | 0, "
     "calls: i % 21 })"),
    ("08-the-transformer", "gpt-size", "lmlab.model_size.size_view",
     "(i) => ({ preset: ['book', 'gpt2', 'gpt2-xl', 'gpt3'][i % 4], batch: 1 + i % 16 })"),
]

TIME_CALLS_JS = """async ([fn, kwargsOf, count]) => {
  const kwargs = eval(kwargsOf);
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const reply = await lmlab.python.call(lmlab.page.slug, fn, [], kwargs(i));
    if (!reply.ok) throw new Error(`${fn}: ${reply.error}`);
    times.push(performance.now() - start);
  }
  return times;
}"""

# A widget whose first state comes from Python once it is ready (its page carries only a first
# paint) is busy until then: scenarios start once no widget on the page is.
NO_WIDGET_BUSY_JS = "() => !document.querySelector('.widget [aria-busy=\"true\"]')"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(browser, base: str, inputs: int, scenarios: list[tuple], busy_scenarios: list[tuple],
            calls: list[tuple], stream_scenarios: list[tuple]
            ) -> tuple[list[tuple], list[float], list[tuple]]:  # fmt: skip
    rows, round_trips, streams = [], [], []
    chapters = [chapter for chapter, *_ in scenarios + busy_scenarios + calls + stream_scenarios]
    for chapter in dict.fromkeys(chapters):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}{chapter}.html")
        page.wait_for_selector("#python-status[data-state=ready]", timeout=TIMEOUT)
        page.wait_for_function(NO_WIDGET_BUSY_JS, timeout=TIMEOUT)
        for scenario_chapter, widget, action, act in scenarios:
            if scenario_chapter != chapter:
                continue
            if (setup := READER_SETUP.get((chapter, widget, action))):
                page.evaluate(READER_SETUP_JS, [widget, *setup])
            times = page.evaluate(TIME_INPUTS_JS, [widget, act, inputs + 1])
            rows.append((chapter, widget, action, times))
        for scenario_chapter, widget, action, act in stream_scenarios:
            if scenario_chapter == chapter:
                times = page.evaluate(TIME_STREAM_JS, [widget, act, inputs + 1])
                streams.append((widget, action, times))
        for scenario_chapter, widget, action, act in busy_scenarios:
            if scenario_chapter == chapter:
                times = page.evaluate(TIME_INPUTS_JS, [widget, act, inputs + 1, True])
                rows.append((chapter, widget, action, times))
        for call_chapter, widget, fn, kwargs_of in calls:
            if call_chapter == chapter:
                times = page.evaluate(TIME_CALLS_JS, [fn, kwargs_of, inputs + 1])
                rows.append((chapter, widget, f"{fn} alone (compute + JSON, no drawing)",
                             {"drawn": times, "framed": times, "bar": False}))
        round_trips += page.evaluate(ROUND_TRIP_JS, inputs)
        context.close()
    return rows, round_trips, streams


def report(rows: list[tuple], round_trips: list[float], inputs: int, version: str) -> None:
    base = p95(round_trips)
    print(f"Widget redraw: Chromium {version}, headless, {inputs} inputs per scenario after the "
          f"first; baseline: an empty round trip to the worker, median "
          f"{statistics.median(round_trips):.1f} ms, p95 {base:.1f} ms")
    header = ("widget", "input", "first", "median", "p95", "frame p95", "p95/trip", "bar")
    table = []
    for _chapter, widget, action, times in rows:
        drawn, framed = times["drawn"][1:], times["framed"][1:]
        ok = "ok" if p95(drawn) <= BAR_MS else "MISSED"
        ok = f"<= {BAR_MS} ms {ok}" if times.get("bar", True) else "(no bar: not a redraw)"
        table.append((widget, action, f"{times['drawn'][0]:.1f} ms",
                      f"{statistics.median(drawn):.1f} ms", f"{p95(drawn):.1f} ms",
                      f"{p95(framed):.1f} ms", f"{p95(drawn) / base:.2f}x", ok))
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def report_streams(streams: list[tuple]) -> None:
    """The writing widgets: the first redraw with new tokens and each later call against the bar,
    the whole answer for information (the first input left out, as above)."""
    if not streams:
        return
    print(f"\nWidgets that write as they compute (after the first input; bar p95 <= {BAR_MS} ms)")
    header = ("widget", "input", "-> first tokens p95", "later call p95", "calls",
              "-> all written median")
    table = []
    for widget, action, times in streams:
        first, done = times["first"][1:], times["done"][1:]
        mark = lambda ms: f"{ms:.1f} ms {'ok' if ms <= BAR_MS else 'MISSED'}"  # noqa: E731
        table.append((widget, action, mark(p95(first)), mark(p95(times["calls"])),
                      str(len(times["calls"])), f"{statistics.median(done):.0f} ms"))
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=60)
    add_build_option(parser)
    parser.add_argument("--widget", action="append", metavar="NAME",
                        choices=sorted({widget for _, widget, *_ in SCENARIOS}),
                        help="only this widget's scenarios (repeat for more); default: all")
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if not args.widget or s[1] in args.widget]
    busy_scenarios = [s for s in BUSY_SCENARIOS if not args.widget or s[1] in args.widget]
    calls = [c for c in PYTHON_CALLS if not args.widget or c[1] in args.widget]
    stream_scenarios = [s for s in STREAM_SCENARIOS if not args.widget or s[1] in args.widget]
    built_site(args)
    from playwright.sync_api import sync_playwright

    server, base = serve_in_background(REPO / "_site", isolation=True)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            rows, round_trips, streams = measure(browser, base, args.inputs, scenarios,
                                                 busy_scenarios, calls, stream_scenarios)
            report(rows, round_trips, args.inputs, browser.version)
            report_streams(streams)
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
