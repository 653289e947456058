// Requests that come faster than Python answers (typing, dragging): only the latest is computed.
// latest(work, fail) -> request(job): runs work(job) unless one is running, in which case the
// newest job waits and every older waiting one is dropped; an error goes to fail(err).
export function latest(work, fail) {
  let waiting = null;
  let busy = false;
  return async function request(job) {
    waiting = { job };
    if (busy) return;
    busy = true;
    try {
      while (waiting) {
        const next = waiting.job;
        waiting = null;
        await work(next);
      }
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
    }
  };
}
