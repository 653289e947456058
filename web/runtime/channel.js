// What the page and the Python worker share where the page is cross-origin isolated: one
// SharedArrayBuffer. A worker that is busy in Python, or blocked in time.sleep() or input(),
// reads no messages; it can still read this memory, and wake when the page writes to it.
//
//   Int32 [0]    Pyodide's interrupt buffer: the page writes 2 (SIGINT) to stop the running code
//   Int32 [1]    the state of an input() question: IDLE, WAITING, ANSWERED or CANCELLED
//   Int32 [2]    the answer's length in bytes
//   bytes 16...  the answer, UTF-8
const INTERRUPT = 0;
const QUESTION = 1;
const LENGTH = 2;
const HEADER_BYTES = 16;
const ANSWER_BYTES = 64 * 1024;
const SIGINT = 2;
const [IDLE, WAITING, ANSWERED, CANCELLED] = [0, 1, 2, 3];

export const createChannel = () => new SharedArrayBuffer(HEADER_BYTES + ANSWER_BYTES);

// The page's end.
export class PageEnd {
  constructor(buffer) {
    this.ints = new Int32Array(buffer, 0, 3);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES);
  }

  // Before each job is sent: a Stop meant for the previous job must not stop the next one.
  clear() {
    Atomics.store(this.ints, INTERRUPT, 0);
  }

  // Interrupts Python, and wakes the worker if it is sleeping or waiting for an answer.
  stop() {
    Atomics.store(this.ints, INTERRUPT, SIGINT);
    Atomics.notify(this.ints, INTERRUPT);
    if (Atomics.compareExchange(this.ints, QUESTION, WAITING, CANCELLED) === WAITING) {
      Atomics.notify(this.ints, QUESTION);
    }
  }

  // The reader's answer to the question input() is waiting on (cut at 64 KB).
  answer(text) {
    const encoded = new TextEncoder().encode(text).subarray(0, ANSWER_BYTES);
    this.bytes.set(encoded);
    Atomics.store(this.ints, LENGTH, encoded.length);
    if (Atomics.compareExchange(this.ints, QUESTION, WAITING, ANSWERED) === WAITING) {
      Atomics.notify(this.ints, QUESTION);
    }
  }
}

// The worker's end. Both calls block the worker (Atomics.wait), which only a worker may do.
export class WorkerEnd {
  constructor(buffer) {
    this.ints = new Int32Array(buffer, 0, 3);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.interrupt = new Int32Array(buffer, 0, 1); // for pyodide.setInterruptBuffer
  }

  // A Stop seen here is taken (cleared), so Python does not raise a second KeyboardInterrupt.
  takeStop() {
    return Atomics.compareExchange(this.ints, INTERRUPT, SIGINT, 0) === SIGINT;
  }

  // A Stop that ended work of the worker's own (worker.js whenQuiet) was meant for the job the
  // page sent meanwhile: put back, for that job to take when it starts.
  putBackStop() {
    Atomics.store(this.ints, INTERRUPT, SIGINT);
  }

  // Sleeps without burning a core; true if Stop was pressed meanwhile (it ends the sleep at once).
  sleep(seconds) {
    const end = performance.now() + seconds * 1000;
    for (;;) {
      if (this.takeStop()) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.ints, INTERRUPT, 0, left);
    }
  }

  // Call once the page can answer (after posting the question): waits for the answer, or for
  // Stop (null).
  waitForAnswer() {
    for (;;) {
      const state = Atomics.load(this.ints, QUESTION);
      if (state === ANSWERED) {
        const text = new TextDecoder().decode(this.bytes.slice(0, Atomics.load(this.ints, LENGTH)));
        Atomics.store(this.ints, QUESTION, IDLE);
        return text;
      }
      if (state === CANCELLED || this.takeStop()) {
        Atomics.store(this.ints, QUESTION, IDLE);
        this.takeStop();
        return null;
      }
      Atomics.wait(this.ints, QUESTION, state, 250);
    }
  }

  // Marks the question as open before the page is told of it, so an answer cannot come first.
  openQuestion() {
    Atomics.store(this.ints, QUESTION, WAITING);
  }
}
