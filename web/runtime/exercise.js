// Exercises placed by `:::: exercise NAME` (build/chapters.py): the reader writes NAME in the
// exercise's cell; Check runs that cell, then lmlab.exercises.report(NAME, NAME) in the page's
// namespace, which tries the function on hidden cases and prints one JSON line. The feedback
// names the input, what came back and what was expected; a pass is remembered (storage.js) and
// counted in the contents and on the index page (progress.js).
import { showProgress } from "./progress.js";
import { hasPassed, rememberPass } from "./storage.js";

const MARK = "lmlab-exercise-result:";

function feedbackHtml(result) {
  const esc = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  if (result.passed) return `<p class="exercise-ok">Correct. ${esc(result.message)}</p>`;
  const input = result.input ? `<dt>input</dt><dd><code>${esc(result.input)}</code></dd>` : "";
  return `<p class="exercise-bad">Not yet. ${esc(result.hint)}</p>
<dl class="exercise-diff">${input}<dt>got</dt><dd><code>${esc(result.got)}</code></dd>` +
    `<dt>expected</dt><dd><code>${esc(result.expected)}</code></dd></dl>`;
}

class Exercise {
  constructor(element, { page, python, cells }) {
    this.element = element;
    this.page = page;
    this.python = python;
    this.name = element.dataset.exercise;
    this.cell = cells.find((cell) => element.contains(cell.element));
    this.button = element.querySelector(".exercise-check");
    this.feedback = element.querySelector(".exercise-feedback");
    this.button.disabled = false;
    this.button.addEventListener("click", () => this.check());
    if (hasPassed(page, this.name)) this.markPassed();
  }

  markPassed(passed = true) {
    if (passed) this.element.dataset.passed = "yes";
    else delete this.element.dataset.passed;
    this.element.querySelector(".exercise-passed").hidden = !passed;
  }

  async check() {
    this.button.disabled = true;
    this.feedback.textContent = "Checking…";
    try {
      const ran = await this.cell.run();
      if (!ran) {
        this.show({ passed: false, input: "", got: "an error (see the cell's output)", expected: "the cell to run",
                    hint: `Fix the error in the cell that defines ${this.name}, then check again.` });
        return;
      }
      let printed = "";
      const code = `__import__("lmlab.exercises", fromlist=["report"]).report(${JSON.stringify(this.name)}, globals().get(${JSON.stringify(this.name)}))`;
      const ok = await this.python.run(this.page, `check-${this.name}`, code, {
        onOutput: (kind, payload) => {
          if (kind === "stream") printed += payload.text;
        },
      });
      const line = printed.split("\n").find((text) => text.startsWith(MARK));
      if (!ok || !line) throw new Error("the check did not run");
      this.show(JSON.parse(line.slice(MARK.length)));
    } catch (err) {
      this.feedback.textContent = `The check could not run: ${err.message}`;
      this.element.dataset.result = "error";
    } finally {
      this.button.disabled = false;
    }
  }

  show(result) {
    this.feedback.innerHTML = feedbackHtml(result);
    this.element.dataset.result = result.passed ? "pass" : "fail";
    if (result.passed) {
      rememberPass(this.page, this.name);
      this.markPassed();
      showProgress();
    }
  }
}

export function mountExercises(root, context) {
  return [...root.querySelectorAll(".exercise[data-exercise]")].map((element) => new Exercise(element, context));
}
