// The contents: a sidebar on wide screens, a menu behind the header's "Contents" button on narrow
// ones. Marks the section being read (aria-current="location") as the reader scrolls.
const NARROW = "(max-width: 79.99rem)";

export function bindContentsToggle() {
  const button = document.querySelector(".contents-toggle");
  const setOpen = (open) => {
    document.getElementById("contents").classList.toggle("is-open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => setOpen(button.getAttribute("aria-expanded") !== "true"));
  // A link followed from the open menu, or Escape inside it, closes it (on narrow screens).
  document.addEventListener("click", (event) => {
    if (event.target.closest("#contents a") && matchMedia(NARROW).matches) setOpen(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !event.target.closest?.("#contents")) return;
    setOpen(false);
    button.focus();
  });
  return setOpen;
}

/** Follows the reader through the page's sections; returns a function that stops following. */
export function trackSections() {
  const links = new Map(
    [...document.querySelectorAll("#contents .contents-sections a")].map((a) => [a.hash.slice(1), a]),
  );
  const headings = [...links.keys()].map((id) => document.getElementById(id)).filter(Boolean);
  if (!headings.length) return () => {};
  const visible = new Set();
  const mark = () => {
    // The first heading on screen, or else the last one scrolled past.
    const current = headings.find((h) => visible.has(h)) ??
      headings.filter((h) => h.getBoundingClientRect().top < 0).at(-1);
    for (const [id, link] of links) {
      if (current && id === current.id) link.setAttribute("aria-current", "location");
      else link.removeAttribute("aria-current");
    }
  };
  const observer = new IntersectionObserver((entries) => {
    for (const { target, isIntersecting } of entries) {
      if (isIntersecting) visible.add(target);
      else visible.delete(target);
    }
    mark();
  });
  for (const heading of headings) observer.observe(heading);
  return () => observer.disconnect();
}
