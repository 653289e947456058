// The sticky header's height, kept in --header-height on the root element, where the page's
// scroll-padding-top uses it: a jump to a section (a link, the contents, Back) then stops just
// below the header however many lines it takes. On a phone it wraps to two or three, and grows
// and shrinks as Python loads and notices come and go.
export function followHeaderHeight() {
  const header = document.querySelector(".site-header");
  if (!header) return;
  new ResizeObserver(([entry]) => {
    const height = Math.ceil(entry.borderBoxSize[0].blockSize);
    document.documentElement.style.setProperty("--header-height", `${height}px`);
  }).observe(header);
}
