// HTML that the reader's code displays (an object's _repr_html_ or _repr_svg_) stays rich (tables,
// SVG, styles) but can run nothing with the book's origin, which on GitHub Pages every site of the
// same user shares. DOMPurify (npm, bundled with the runtime) removes scripts, event handlers,
// javascript: URLs, frames, <meta>, <base>, <object>, <link>; forms go too. The hooks below also
// drop every URL and every CSS url() that would make a request outside the page's origin (the
// book promises none is made): a remote <img src>, an SVG <use href>, a style's background image,
// a stylesheet's @import or @font-face.
import DOMPurify from "dompurify";

const purify = DOMPurify(globalThis);

// Attributes whose value is fetched (or sent, for ping and action) when the element is shown.
const FETCHED = new Set([
  "src", "href", "xlink:href", "action", "formaction", "poster", "background", "data", "ping",
  "cite", "longdesc", "lowsrc", "dynsrc", "codebase", "archive", "usemap", "manifest",
]);
const SOURCE_SETS = new Set(["srcset", "imagesrcset"]);

// A data: URL, a fragment, or a URL of this very origin.
function local(value) {
  const text = value.trim();
  if (text.startsWith("#")) return true;
  try {
    const url = new URL(text, document.baseURI);
    return url.protocol === "data:" || url.origin === location.origin;
  } catch {
    return false;
  }
}

// True if every url(...) in a CSS value (as CSSOM serializes it: escapes resolved, url("..."))
// is local, and it has no image-set(), whose plain strings are URLs too.
function localCss(value) {
  if (/image-set\(|\bsrc\(/i.test(value)) return false;
  for (const [, , target] of value.matchAll(/url\(\s*(["']?)(.*?)\1\s*\)/gi)) {
    if (!local(target)) return false;
  }
  return !/url\(/i.test(value.replace(/url\(\s*(["']?)(.*?)\1\s*\)/gi, ""));
}

function cleanDeclarations(style) {
  for (const name of [...style]) {
    if (!localCss(style.getPropertyValue(name))) style.removeProperty(name);
  }
}

// A stylesheet's text with every rule that would fetch something taken out; parsed by the
// browser (a constructed sheet, which fetches nothing), so CSS escapes cannot hide a url().
function cleanStylesheet(text) {
  const sheet = new CSSStyleSheet();
  // A constructed sheet ignores @import by itself; take it out first so the browser has nothing
  // to warn about.
  sheet.replaceSync(text.replace(/@import[^;]*;?/gi, ""));
  const clean = (rules, owner) => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const rule = rules[i];
      if (rule instanceof CSSImportRule || rule instanceof CSSFontFaceRule) owner.deleteRule(i);
      else {
        if (rule.style) cleanDeclarations(rule.style);
        if (rule.cssRules && typeof rule.deleteRule === "function") clean(rule.cssRules, rule);
      }
    }
  };
  clean(sheet.cssRules, sheet);
  return [...sheet.cssRules].map((rule) => rule.cssText).join("\n");
}

purify.addHook("uponSanitizeElement", (node, { tagName }) => {
  if (tagName === "style") node.textContent = cleanStylesheet(node.textContent);
});

purify.addHook("afterSanitizeAttributes", (node) => {
  for (const { name, value } of [...node.attributes]) {
    const lower = name.toLowerCase();
    const link = lower === "href" && (node.localName === "a" || node.localName === "area");
    let keep = true;
    if (link) keep = local(value) || /^(https?|mailto):/i.test(value.trim());
    else if (FETCHED.has(lower) || lower.endsWith(":href")) keep = local(value);
    else if (SOURCE_SETS.has(lower)) keep = value.split(",").every((item) => local(item.trim().split(/\s+/)[0] || ""));
    else if (/url\(|image-set\(/i.test(value) && lower !== "style") keep = localCss(value);
    if (!keep) node.removeAttribute(name);
  }
  if (node.style?.length) cleanDeclarations(node.style);
  // A link out opens on its own, and tells the other site nothing about this page.
  if (node.localName === "a" && node.hasAttribute("href") && !local(node.getAttribute("href"))) {
    node.setAttribute("rel", "noopener noreferrer");
    node.setAttribute("target", "_blank");
  }
});

/** The reader's HTML (or SVG), as a fragment safe to put in the page. */
export function sanitize(html) {
  return purify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORCE_BODY: true, // keep a leading <style>, which would otherwise go to a <head> and be lost
    FORBID_TAGS: ["form"],
    FORBID_ATTR: ["ping", "formaction", "action"],
    ADD_ATTR: ["target"],
    SANITIZE_NAMED_PROPS: true, // the reader's id="notices" cannot take over the book's own
  });
}
