// Inputs can come faster than Python answers (a slider dragged, a key held down). Only the newest
// request is worth computing: latestOnly(work) returns request(value), which runs work(value) for
// the last value given while an earlier one was in flight and skips those in between.
export function latestOnly(work) {
  let wanted = null;
  let busy = false;
  return async function request(value) {
    wanted = { value };
    if (busy) return;
    busy = true;
    try {
      while (wanted) {
        const next = wanted.value;
        wanted = null;
        await work(next);
      }
    } finally {
      busy = false;
    }
  };
}
