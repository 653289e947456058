// The line from 0 to 1 cut into one stretch per character, in the order the sampler walks them
// (alphabet order), each as long as its probability, with the uniform roll marked: the character
// whose stretch the roll lands in is the one drawn. Shared by BigramTable and NameGenerator.
import { escapeHtml } from "./markup.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const pct = (x) => `${fixed(100 * x, 3)}%`;
const LABEL_MIN = 0.035; // stretches narrower than this get no letter (it would not fit)

/** HTML. chars (V,), probs (V,) summing to 1, roll in [0, 1), chosen: the drawn index; roll and
 * chosen may be null (nothing drawn yet: the stretches alone). */
export function cumulativeBar(chars, probs, roll, chosen) {
  let start = 0;
  let chosenFrom = 0;
  const parts = probs.map((p, i) => {
    const x = start;
    start += p;
    if (i === chosen) chosenFrom = x;
    if (p <= 0) return "";
    const cls = i === chosen ? "cb-part is-chosen" : `cb-part${i % 2 ? " is-odd" : ""}`;
    const text = p >= LABEL_MIN ? escapeHtml(chars[i]) : "";
    return `<span class="${cls}" style="left:${pct(x)};width:${pct(p)}">${text}</span>`;
  }).join("");
  if (roll === null) {
    const label = "Cumulative probabilities in alphabet order; nothing drawn yet.";
    return `<div class="cb" role="img" aria-label="${label}">${parts}</div>` +
      `<div class="cb-scale" aria-hidden="true"><span>0</span><span>1</span></div>`;
  }
  const what = chars[chosen] === "." ? "the end" : `“${chars[chosen]}”`;
  const label = `Cumulative probabilities in alphabet order: the roll ${fixed(roll, 3)} falls in the ` +
    `stretch of ${what}, from ${fixed(chosenFrom, 3)} to ${fixed(chosenFrom + probs[chosen], 3)}.`;
  return `<div class="cb" role="img" aria-label="${escapeHtml(label)}">${parts}` +
    `<span class="cb-roll" style="left:${pct(roll)}"></span></div>` +
    `<div class="cb-scale" aria-hidden="true"><span>0</span><span>roll ${fixed(roll, 3)}</span><span>1</span></div>`;
}
