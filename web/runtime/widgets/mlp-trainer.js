// MlpTrainer: chapter 6's MLP language model trained on the real names in the reader's browser,
// a few steps per call to Python so the page never waits: the training and held-out losses as
// they fall, names sampled from the model as it learns (marked as a training name, a real name it
// never saw, or new), and, with 2 numbers per character, where each character's embedding sits.
// lmlab.mlp_lm's training session (session_start / session_train / session_state) does the work.
//
// Config: fn (session_start), kwargs ({block_size, n_embd, n_hidden, lr, seed}), train
// (session_train), state (session_state), chunk (steps per call), sample_every (steps between
// two draws of samples), max_steps. Fragment: #KEY-block=3&KEY-embd=2&KEY-hidden=64&KEY-lr=0.3
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";

const W = 600;
const H = 240;
const PAD = { left: 40, right: 12, top: 10, bottom: 26 };
const LO = 1.9;
const HI = 3.5;
const CHOICES = {
  block: { label: "Block size", values: [1, 2, 3, 5, 8], kwarg: "block_size" },
  embd: { label: "Numbers per character", values: [2, 10], kwarg: "n_embd" },
  hidden: { label: "Hidden units", values: [16, 64, 128], kwarg: "n_hidden" },
  lr: { label: "Learning rate", values: [0.03, 0.1, 0.3, 1], kwarg: "lr" },
};
const VOWELS = new Set(["a", "e", "i", "o", "u", "y"]);
const fixed = (x, digits) => Number(x).toFixed(digits);
const thousands = (n) => Number(n).toLocaleString("en-US");
const ORIGIN = { train: "a training name", held_out: "a real name it never saw" };

/** A round number of steps at least `step` for the chart's width: 1,000, 2,000, 5,000, 10,000 ... */
function span(step) {
  for (let scale = 1000; ; scale *= 10) {
    for (const m of [1, 2, 5]) if (m * scale >= step) return m * scale;
  }
}

export function chartSvg(state) {
  const last = state.evals.at(-1)?.step ?? 0;
  const width = span(Math.max(last, 1));
  const x = (s) => PAD.left + (s / width) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (Math.min(Math.max(v, LO), HI) - LO) / (HI - LO)) * (H - PAD.top - PAD.bottom);
  const line = (key) => state.evals.map((e) => `${fixed(x(e.step), 1)},${fixed(y(e[key]), 1)}`).join(" ");
  const ticks = [];
  for (let v = 2; v <= HI + 1e-9; v += 0.5) {
    ticks.push(`<line class="mt-grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fixed(y(v), 1)}" y2="${fixed(y(v), 1)}"/>` +
      `<text class="mt-tick" x="${PAD.left - 6}" y="${fixed(y(v) + 4, 1)}" text-anchor="end">${fixed(v, 1)}</text>`);
  }
  const uniform = Math.log(state.vocab.length);
  return `<svg class="mt-chart" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">
${ticks.join("")}
<line class="mt-uniform" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fixed(y(uniform), 1)}" y2="${fixed(y(uniform), 1)}"/>
<text class="mt-tick" x="${W - PAD.right}" y="${fixed(y(uniform) - 5, 1)}" text-anchor="end">uniform guess ${fixed(uniform, 2)}</text>
<text class="mt-tick" x="${PAD.left}" y="${H - 6}">0</text>
<text class="mt-tick" x="${W - PAD.right}" y="${H - 6}" text-anchor="end">step ${thousands(width)}</text>
<polyline class="mt-train" points="${line("train")}"/>
<polyline class="mt-held" points="${line("held_out")}"/></svg>`;
}

/** The characters' 2-D embeddings as letters on a plane (vowels marked), or nothing. */
export function embeddingSvg(state) {
  if (!state.embeddings) return `<p class="mt-no-plane">With more than 2 numbers per character there is no plane to draw them on.</p>`;
  const S = 220;
  const xs = state.embeddings.map((v) => v[0]);
  const ys = state.embeddings.map((v) => v[1]);
  const reach = Math.max(...xs.map(Math.abs), ...ys.map(Math.abs), 1e-6) * 1.1;
  const at = (v) => fixed(S / 2 + (v / reach) * (S / 2 - 10), 1);
  const letters = state.vocab.map((c, i) =>
    `<text class="mt-char${VOWELS.has(c) ? " is-vowel" : ""}" x="${at(xs[i])}" y="${at(-ys[i])}" text-anchor="middle" dominant-baseline="middle">${escapeHtml(c)}</text>`).join("");
  return `<svg class="mt-plane" viewBox="0 0 ${S} ${S}" role="img" aria-label="Each character's two embedding numbers as a point; vowels in bold">
<line class="mt-grid" x1="0" x2="${S}" y1="${S / 2}" y2="${S / 2}"/><line class="mt-grid" x1="${S / 2}" x2="${S / 2}" y1="0" y2="${S}"/>${letters}</svg>`;
}

export function readout(state) {
  const e = state.evals.at(-1);
  return `Step ${thousands(state.step)}: held-out loss ${fixed(e.held_out, 3)}, training loss ${fixed(e.train, 3)} ` +
    `(measured at step ${thousands(e.step)}; ${thousands(state.parameters)} weights).`;
}

function samplesHtml(state) {
  return state.samples.map(({ word, origin }) =>
    `<li class="mt-sample${origin ? ` is-${origin.replace("_", "-")}` : " is-new"}">${escapeHtml(word || "(empty)")}` +
    `<span class="visually-hidden">, ${origin ? ORIGIN[origin] : "new"}</span></li>`).join("");
}

function select(id, name, value) {
  const { label, values } = CHOICES[name];
  const options = values.map((v) => `<option value="${v}"${v === value ? " selected" : ""}>${v}</option>`).join("");
  return `<div class="mt-setting"><label for="${id}">${label}</label><select id="${id}" class="mt-${name}" disabled>${options}</select></div>`;
}

/** The widget's markup; pure, so the builder runs it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const k = config.kwargs;
  return `<div class="mt" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Train the MLP on the names, in your browser</p>
  <div class="mt-settings">
    ${select(id("block"), "block", k.block_size)}${select(id("embd"), "embd", k.n_embd)}
    ${select(id("hidden"), "hidden", k.n_hidden)}${select(id("lr"), "lr", k.lr)}
  </div>
  <div class="mt-controls">
    <button type="button" class="mt-run" aria-pressed="false" disabled>Train</button>
    <button type="button" class="mt-reset" disabled>New weights</button>
  </div>
  ${chartSvg(state)}
  <p class="mt-legend"><span class="mt-key-train">training loss</span> <span class="mt-key-held">held-out loss</span>, measured every ${config.kwargs.eval_every ?? 100} steps</p>
  <p class="mt-readout">${escapeHtml(readout(state))}</p>
  <div class="mt-results">
    <div><p class="mt-heading">Names it writes (<span class="mt-key-new">new</span>, <span class="mt-key-train-name">a training name</span>, <span class="mt-key-held-name">a real name it never saw</span>)</p>
    <ol class="mt-samples">${samplesHtml(state)}</ol></div>
    <div class="mt-embeddings">${embeddingSvg(state)}</div>
  </div>
  ${widgetFooter("the untrained model the book built", "mt-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".mt")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const run = $(".mt-run");
  let state = context.state;
  let session = null; // this page's session id in Python, once the reader has asked for one
  let training = false;
  let looping = null; // the training loop's promise while it runs
  let sampledAt = 0;

  const settings = () => Object.fromEntries(Object.entries(CHOICES).map(([name, { kwarg }]) =>
    [kwarg, Number($(`.mt-${name}`).value)]));
  const shareSettings = () =>
    writeFragment(key, Object.fromEntries(Object.keys(CHOICES).map((name) => [name, $(`.mt-${name}`).value])));

  function draw() {
    const started = performance.now();
    $(".mt-chart").outerHTML = chartSvg(state);
    $(".mt-readout").textContent = readout(state);
    $(".mt-samples").innerHTML = samplesHtml(state);
    $(".mt-embeddings").innerHTML = embeddingSvg(state);
    element.dataset.step = String(state.step);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  function setTraining(on) {
    training = on;
    run.textContent = on ? "Pause" : "Train";
    run.setAttribute("aria-pressed", String(on));
    element.dataset.training = String(on);
  }

  async function start() {
    const result = await context.call(config.fn, [], { ...config.kwargs, ...settings() });
    if (!result.ok) return showError(element, "The model could not be built:", result.error);
    showError(element, null);
    ({ id: session, ...state } = result.value);
    sampledAt = 0;
    draw();
    $(".mt-announce").textContent = `New weights: ${readout(state)}`;
  }

  async function sampleNames() {
    const result = await context.call(config.state, [session], { samples: state.samples.length, with_losses: false });
    if (result.ok) state = result.value;
    sampledAt = state.step;
  }

  // One chunk of steps per call, the chart redrawn after each, names sampled every sample_every
  // steps and at every pause; Train pressed again while pausing carries on in the same loop.
  async function loop() {
    do {
      while (training && state.step < config.max_steps) {
        const result = await context.call(config.train, [session, config.chunk], { lr: Number($(".mt-lr").value) });
        if (!result.ok) {
          setTraining(false);
          return showError(element, "Training stopped:", result.error);
        }
        state = { ...state, step: result.value.step, evals: [...state.evals, ...result.value.evals] };
        if (state.step - sampledAt >= config.sample_every) await sampleNames();
        draw();
      }
      if (state.step >= config.max_steps) setTraining(false);
      await sampleNames();
      draw();
    } while (training);
    const stop = state.step >= config.max_steps ? `Stopped after ${thousands(state.step)} steps.` : "Paused.";
    $(".mt-announce").textContent = `${stop} ${readout(state)} It writes: ${state.samples.map((s) => s.word).join(", ")}.`;
  }

  async function pause() {
    setTraining(false);
    await looping;
  }

  run.addEventListener("click", () => {
    if (training) return setTraining(false); // the loop ends after the chunk under way
    setTraining(true);
    // The model is built in Python on the first Train (the page shows the built one until then).
    const begin = session === null ? start() : Promise.resolve();
    looping ??= begin.then(() => (session === null ? setTraining(false) : loop())).finally(() => (looping = null));
  });
  for (const control of [".mt-reset", ".mt-block", ".mt-embd", ".mt-hidden"]) {
    $(control).addEventListener(control === ".mt-reset" ? "click" : "change", async () => {
      await pause();
      await start();
      shareSettings();
    });
  }
  $(".mt-lr").addEventListener("change", shareSettings);

  context.ready.then(async () => {
    const shared = readFragment(key);
    for (const name of Object.keys(CHOICES)) {
      const control = $(`.mt-${name}`);
      if ([...control.options].some((o) => o.value === shared[name])) control.value = shared[name];
    }
    // Nothing for Python to do at page start unless a shared link asks for other settings than
    // the ones the page was built with.
    const asked = settings();
    if (Object.entries(asked).some(([kwarg, value]) => value !== config.kwargs[kwarg])) await start();
    for (const control of element.querySelectorAll("button, select")) control.disabled = false;
    showLive(element, "Live: Train runs gradient descent on the names in your browser, a few steps at a time.");
    element.dataset.loaded = "true";
  });
  return { draw };
}
