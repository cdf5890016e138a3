/**
 * Simulated time: a binary min-heap of callbacks ordered by (due time, insertion order), so two
 * events at the same virtual millisecond always run in the order they were scheduled.
 */
export class EventQueue {
  #nowMs = 0;
  #seq = 0;
  readonly #heap: { dueMs: number; seq: number; run: () => void }[] = [];

  nowMs(): number {
    return this.#nowMs;
  }

  size(): number {
    return this.#heap.length;
  }

  at(dueMs: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ dueMs: Math.max(dueMs, this.#nowMs), seq: this.#seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.#nowMs + delayMs, run);
  }

  /** Runs every event due up to `untilMs` (events may schedule more), then sets the time to it. */
  runUntil(untilMs: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].dueMs <= untilMs) {
      const event = this.#pop();
      this.#nowMs = event.dueMs;
      event.run();
    }
    this.#nowMs = Math.max(this.#nowMs, untilMs);
  }

  #pop(): { dueMs: number; seq: number; run: () => void } {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: { dueMs: number; seq: number }, b: { dueMs: number; seq: number }): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}
