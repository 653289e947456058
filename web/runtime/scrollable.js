// A block that scrolls (a long output, a wide formula on a phone) becomes a labelled region in
// the tab order, so that a keyboard can reach it and scroll it (arrow keys, Page Down); once it
// fits again it leaves the tab order.
export function reachableIfScrolling(block, label) {
  const scrolls = block.scrollHeight > block.clientHeight + 1 || block.scrollWidth > block.clientWidth + 1;
  if (scrolls === block.hasAttribute("tabindex")) return;
  if (scrolls) {
    block.tabIndex = 0;
    block.setAttribute("role", "region");
    block.setAttribute("aria-label", `${label} (scrollable)`);
  } else {
    for (const name of ["tabindex", "role", "aria-label"]) block.removeAttribute(name);
  }
}

/** Marks the page's display formulas now and whenever their width changes (a phone turned);
 * -> a function that stops watching. */
export function watchFormulas(root) {
  const observer = new ResizeObserver((entries) => {
    for (const { target } of entries) reachableIfScrolling(target, "Formula");
  });
  for (const formula of root.querySelectorAll(".math-display")) observer.observe(formula);
  return () => observer.disconnect();
}
