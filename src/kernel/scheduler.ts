import type { Logger } from "../observe/logger.ts";

/** What the scheduler needs of a process: a flag saying it is already queued. */
export interface Schedulable {
  queued: boolean;
}

/**
 * The run queue: processes with work to do, run round-robin, one slice each.
 *
 * Two kinds of work, two latencies:
 * - fresh work (a process to start, a message for an idle push-mode process) is queued with
 *   `schedule` and runs in a microtask drain soon after the current code: a burst of sends costs
 *   one drain, not one task per message;
 * - continuing work (a process that used up its budget, or called `yield`) is queued with
 *   `scheduleLater` and runs in the next pass, after a macrotask turn (`setImmediate`). By then
 *   every promise-driven process has run its pending microtasks and timers and I/O got their
 *   turn, so a busy process can delay others by at most one budget.
 *
 * A microtask drain also stops after `ioYieldEvery` reductions (counted by slices here and by
 * message takes in the kernel) and continues after a macrotask turn.
 */
export class Scheduler<P extends Schedulable> {
  /** Reductions since the event loop last got a macrotask turn; the kernel adds message takes. */
  reductionsSinceIo = 0;
  private queue: (P | undefined)[] = [];
  private head = 0;
  private nextPass: P[] = [];
  private drainPending = false;
  private passPending = false;
  private readonly runSlice: (process: P) => void;
  private readonly ioYieldEvery: number;
  private readonly logger: Logger;

  constructor(runSlice: (process: P) => void, ioYieldEvery: number, logger: Logger) {
    this.runSlice = runSlice;
    this.ioYieldEvery = ioYieldEvery;
    this.logger = logger;
  }

  /** Processes waiting for a slice. */
  get length(): number {
    return this.queue.length - this.head + this.nextPass.length;
  }

  /** Queues `process` for a slice soon (fresh work), unless it is already queued. */
  schedule(process: P): void {
    if (process.queued) return;
    process.queued = true;
    this.queue.push(process);
    if (this.drainPending) return;
    this.drainPending = true;
    if (this.reductionsSinceIo < this.ioYieldEvery) queueMicrotask(this.drainNow);
    else this.requestPass();
  }

  /** Queues `process` for the next pass, after a macrotask turn (continuing work). */
  scheduleLater(process: P): void {
    if (process.queued) return;
    process.queued = true;
    this.nextPass.push(process);
    this.requestPass();
  }

  private requestPass(): void {
    if (this.passPending) return;
    this.passPending = true;
    setImmediate(this.startPass);
  }

  private readonly drainNow = (): void => this.drain();

  private readonly startPass = (): void => {
    this.passPending = false;
    this.reductionsSinceIo = 0;
    const pass = this.nextPass;
    this.nextPass = [];
    for (const process of pass) this.queue.push(process);
    this.drainPending = true;
    this.drain();
  };

  private drain(): void {
    const queue = this.queue;
    while (this.head < queue.length && this.reductionsSinceIo < this.ioYieldEvery) {
      const process = queue[this.head]!;
      queue[this.head++] = undefined;
      process.queued = false;
      this.reductionsSinceIo++;
      try {
        this.runSlice(process);
      } catch (error) {
        // runSlice contains user code's failures itself; reaching here is a kernel bug.
        this.logger.error("kernel scheduler slice failed", { error });
      }
    }
    if (this.head >= queue.length) {
      queue.length = 0;
      this.head = 0;
      this.drainPending = false;
      return;
    }
    // Out of I/O budget: the rest of this queue runs after a macrotask turn.
    queue.splice(0, this.head);
    this.head = 0;
    this.requestPass();
  }
}
