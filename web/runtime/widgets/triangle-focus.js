// The keyboard in a causal (lower-triangular) matrix: a focused cell (query q, key k) with k <= q.
// Shared by the widgets that draw one: position-lab.js, attention-heads.js.

/** The cell a key moves the focus to, or null for a key that does not move it. Up and Down move
 * the query, Left and Right the key (never past the query), Home and End the key to the first or
 * to the query itself; with a jump, Page Up and Page Down move the query by that many. last is
 * the last query. */
export function moveInTriangle(key, q, k, last, jump = 0) {
  if (key === "Home") return [q, 0];
  if (key === "End") return [q, q];
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (jump) Object.assign(moves, { PageUp: [-jump, 0], PageDown: [jump, 0] });
  if (!moves[key]) return null;
  const [dq, dk] = moves[key];
  const query = Math.min(last, Math.max(0, q + dq));
  return [query, Math.min(query, Math.max(0, k + dk))];
}
