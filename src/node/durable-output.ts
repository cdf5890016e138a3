import type { Durability } from "../config/node-config.ts";
import type { Logger } from "../observe/logger.ts";

/** What the gate asks of the store: the write numbering of `ExtendedKvBackend`. */
export interface DurabilitySource {
  /**
   * The number of the last write made so far. Writes still staged elsewhere (the replica's batch)
   * are handed to the store first; throws when they cannot be (then they will never be durable).
   */
  lastWriteSeq(): number;
  isDurable(seq: number): boolean;
  durable(seq: number): Promise<void>;
}

/**
 * Output a guest makes visible to the world (stdout and stderr bytes, log lines) leaves the node
 * only once every write the node made before it is durable, so "the log said it was written"
 * always means it is on disk. Output is released in the order it was made; while nothing waits
 * for the disk it passes straight through. With `relaxed` durability, or without a store, the
 * gate is open.
 *
 * The numbering is the node's, not the guest's: a line waits for every earlier write of any
 * guest or of the sync layer. That is never wrong (those writes happened before the line) and
 * costs at most one group commit more than waiting for its own guest's writes.
 *
 * @example
 * const gate = new DurableOutputGate(store, "group", logger);
 * gate.release(() => process.stdout.write(bytes));   // once the writes before it are on disk
 * await gate.drained();                              // before the process exits
 */
export class DurableOutputGate {
  readonly #source: DurabilitySource | undefined;
  readonly #logger: Logger;
  readonly #queue: { seq: number; emit: () => void }[] = [];
  #draining: Promise<void> | undefined;
  #withheld = 0;

  constructor(source: DurabilitySource | undefined, durability: Durability, logger: Logger) {
    this.#source = durability === "relaxed" ? undefined : source;
    this.#logger = logger;
  }

  /** Runs `emit` once every write made before this call is durable (at once when they are). */
  release(emit: () => void): void {
    const source = this.#source;
    if (source === undefined) {
      emit();
      return;
    }
    let seq: number;
    try {
      seq = source.lastWriteSeq();
    } catch (error) {
      this.#withhold(1, error);
      return;
    }
    if (this.#queue.length === 0 && source.isDurable(seq)) {
      emit();
      return;
    }
    this.#queue.push({ seq, emit });
    this.#draining ??= this.#drain(source);
  }

  /** Pieces of output withheld so far because the writes before them were never saved. */
  get withheld(): number {
    return this.#withheld;
  }

  /** Resolves once everything released so far has been emitted (or withheld, see below). */
  async drained(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  #withhold(pieces: number, error: unknown): void {
    this.#withheld += pieces;
    this.#logger.error(
      `${pieces} pieces of guest output were withheld: the writes made before them were not saved`,
      { error: error instanceof Error ? error.message : String(error) },
    );
  }

  async #drain(source: DurabilitySource): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        try {
          await source.durable(this.#queue[0]!.seq);
        } catch (error) {
          // The store closed without saving them: output claiming them must not leave.
          this.#withhold(this.#queue.length, error);
          this.#queue.length = 0;
          return;
        }
        let released = 0;
        while (released < this.#queue.length && source.isDurable(this.#queue[released]!.seq)) {
          this.#queue[released++]!.emit();
        }
        this.#queue.splice(0, released);
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

/** A logger whose lines pass through `gate` (its children too). */
export function gatedLogger(logger: Logger, gate: DurableOutputGate): Logger {
  return {
    trace: (message, fields) => gate.release(() => logger.trace(message, fields)),
    debug: (message, fields) => gate.release(() => logger.debug(message, fields)),
    info: (message, fields) => gate.release(() => logger.info(message, fields)),
    warn: (message, fields) => gate.release(() => logger.warn(message, fields)),
    error: (message, fields) => gate.release(() => logger.error(message, fields)),
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    child: (component) => gatedLogger(logger.child(component), gate),
  };
}
