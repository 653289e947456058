// Light or dark: the system's choice until the reader presses the switch, theirs after (kept in
// localStorage and applied by a line in each page's head, before the first paint). The colours
// themselves are CSS light-dark() pairs chosen by color-scheme (book.css).
const KEY = "lmlab-theme";
const systemDark = matchMedia("(prefers-color-scheme: dark)");

function isDark() {
  const chosen = document.documentElement.dataset.theme;
  return chosen ? chosen === "dark" : systemDark.matches;
}

export function bindThemeSwitch() {
  const button = document.querySelector(".theme-toggle");
  const show = () => button.setAttribute("aria-pressed", String(isDark()));
  button.addEventListener("click", () => {
    const theme = isDark() ? "light" : "dark";
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // storage refused: the choice lasts for this page
    }
    show();
  });
  systemDark.addEventListener("change", show);
  show();
}
