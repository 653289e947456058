// Exercise progress: "2 of 4 exercises passed" beside each chapter in the contents and on the
// index page. The builder writes each chapter's number of exercises (data-total) and a first text;
// the passes are the reader's, in this browser (storage.js).
import { allPasses } from "./storage.js";

export const progressText = (passed, total) => `${passed} of ${total} exercise${total === 1 ? "" : "s"} passed`;

export function showProgress(root = document) {
  const passes = allPasses();
  for (const element of root.querySelectorAll("[data-progress]")) {
    const total = Number(element.dataset.total);
    const passed = Math.min((passes[element.dataset.progress] ?? []).length, total);
    element.textContent = progressText(passed, total);
    element.dataset.passed = String(passed);
  }
}
