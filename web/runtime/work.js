// "Download my work" and "Load my work": every edited cell of every chapter and every exercise
// passed, as one JSON file the reader keeps, and back. A file from before progress was included
// (a plain map of edits) still loads.
import { allEdits, allPasses, restoreEdits, restorePasses } from "./storage.js";

const FORMAT = "lmlab-work";

export function workJson() {
  return JSON.stringify({ format: FORMAT, version: 1, edits: allEdits(), exercisesPassed: allPasses() }, null, 1);
}

export function downloadWork() {
  const blob = new Blob([workJson()], { type: "application/json" });
  const link = Object.assign(document.createElement("a"), {
    href: URL.createObjectURL(blob),
    download: "lmlab-my-work.json",
  });
  link.click();
  URL.revokeObjectURL(link.href);
}

/** Restores a saved file's text; throws an Error that says what is wrong with it. */
export function restoreWork(text) {
  let saved;
  try {
    saved = JSON.parse(text);
  } catch {
    throw new Error("it is not a file saved by Download my work (not JSON)");
  }
  if (!saved || typeof saved !== "object") throw new Error("it is not a file saved by Download my work");
  if (saved.format === FORMAT) {
    restoreEdits(saved.edits ?? {});
    restorePasses(saved.exercisesPassed ?? {});
  } else {
    restoreEdits(saved); // the first format: edits only
  }
}

/** Asks for a file, restores it and reloads; onError(message) if the file cannot be used. */
export function uploadWork(onError) {
  const input = Object.assign(document.createElement("input"), { type: "file", accept: ".json,application/json" });
  input.onchange = async () => {
    try {
      restoreWork(await input.files[0].text());
      location.reload();
    } catch (err) {
      onError(`Your work could not be loaded: ${err.message}.`);
    }
  };
  input.click();
}
