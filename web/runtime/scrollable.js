// A block that scrolls (a long output, a wide formula on a phone) becomes a labelled region in
// the tab order, so that a keyboard can reach it and scroll it (arrow keys, Page Down); once it
// fits again it leaves the tab order.
//
// Every block is measured first and marked after: a mark (tabindex, role) between two
// measurements would make the browser lay the page out again for the second one, on a long
// chapter once per block, while Python is starting on the other core.
function mark(blocks) {
  const scrolls = blocks.map(([block]) =>
    block.scrollHeight > block.clientHeight + 1 || block.scrollWidth > block.clientWidth + 1);
  blocks.forEach(([block, label], i) => {
    if (scrolls[i] === block.hasAttribute("tabindex")) return;
    if (scrolls[i]) {
      block.tabIndex = 0;
      block.setAttribute("role", "region");
      block.setAttribute("aria-label", `${label} (scrollable)`);
    } else {
      for (const name of ["tabindex", "role", "aria-label"]) block.removeAttribute(name);
    }
  });
}

let pending = null;

/** Marks, in the next frame (once laid out), the [block, label] pairs that `blocks()` then
 * gives; all the page's requests of one frame are measured together. */
export function markWhenLaidOut(blocks) {
  if (!pending) {
    pending = [];
    requestAnimationFrame(() => {
      const asked = pending;
      pending = null;
      mark(asked.flatMap((give) => give()));
    });
  }
  pending.push(blocks);
}

/** Marks the page's display formulas now and whenever their width changes (a phone turned);
 * -> a function that stops watching. */
export function watchFormulas(root) {
  // Numbered, because two regions with the same name are one landmark too many for a screen reader.
  const labels = new Map([...root.querySelectorAll(".math-display")].map((formula, i) =>
    [formula, `Formula ${i + 1}`]));
  const observer = new ResizeObserver((entries) => mark(entries.map(({ target }) => [target, labels.get(target)])));
  for (const formula of labels.keys()) observer.observe(formula);
  return () => observer.disconnect();
}
