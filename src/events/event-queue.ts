import type { ModuleEvent, ModuleEventKind, RemoteOpEvent } from "./module-event.ts";

/** Events one module may have waiting: past it the oldest tick goes first, then the oldest event. */
export const EVENT_QUEUE_MAX = 1024;
/**
 * Bytes of event data (message topics and payloads, keys) one module may have waiting, so that
 * 1024 messages of 64 KiB cannot hold 64 MiB for one slow module; past it, oldest first.
 */
export const EVENT_QUEUE_BYTES_MAX = 1024 * 1024;

/** What an event holds beyond its fixed fields, for EVENT_QUEUE_BYTES_MAX. */
function dataBytes(event: ModuleEvent): number {
  switch (event.kind) {
    case "message":
      return event.topic.length + event.payload.length;
    case "remote_op":
      return event.key.length;
    default:
      return 0;
  }
}

/**
 * The bounded event queue of one reactive module (pure: no timers, no I/O). A slow module
 * cannot grow the node's memory: it holds at most `capacity` events, and
 * - at most one tick: a tick while one waits is dropped (ticks do not pile up);
 * - at most one `remote_op` per (family, key): a later op on a waiting key only updates its
 *   origin (the callback reads the current value anyway);
 * - when full (`capacity` events, or `maxBytes` of event data), the waiting tick is dropped
 *   first, else the oldest event.
 * Otherwise events leave in the order they came. `push` returns the kinds of the events it
 * dropped (possibly the one pushed), for the drop counters.
 */
export class EventQueue {
  readonly capacity: number;
  readonly maxBytes: number;
  #events: (ModuleEvent | undefined)[] = [];
  #bytes = 0;
  #head = 0;
  #size = 0;
  /** The waiting tick's slot, if one waits. */
  #tickAt: number | undefined;
  readonly #remoteOps = new Map<string, RemoteOpEvent>();

  constructor(capacity: number = EVENT_QUEUE_MAX, maxBytes: number = EVENT_QUEUE_BYTES_MAX) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`event queue capacity must be an integer >= 1, got ${capacity}`);
    }
    this.capacity = capacity;
    this.maxBytes = maxBytes;
  }

  /** Bytes of event data waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#size;
  }

  push(event: ModuleEvent): ModuleEventKind[] {
    if (event.kind === "tick" && this.#tickAt !== undefined) return ["tick"];
    if (event.kind === "remote_op") {
      const waiting = this.#remoteOps.get(remoteOpKey(event));
      if (waiting !== undefined) {
        waiting.origin = event.origin;
        return NONE;
      }
    }
    const size = dataBytes(event);
    if (size > this.maxBytes) return [event.kind];
    let dropped = NONE;
    while (this.#size >= this.capacity || (this.#size > 0 && this.#bytes + size > this.maxBytes)) {
      if (dropped === NONE) dropped = [];
      dropped.push(this.#dropOne());
    }
    if (event.kind === "tick") this.#tickAt = this.#events.length;
    if (event.kind === "remote_op") {
      const copy: RemoteOpEvent = { ...event };
      this.#remoteOps.set(remoteOpKey(copy), copy);
      this.#events.push(copy);
    } else this.#events.push(event);
    this.#size++;
    this.#bytes += size;
    return dropped;
  }

  /** The oldest event, or undefined when none waits. */
  take(): ModuleEvent | undefined {
    while (this.#head < this.#events.length) {
      const index = this.#head;
      const event = this.#events[index];
      this.#events[index] = undefined;
      this.#head++;
      if (event === undefined) continue;
      this.#forget(event, index);
      this.#compact();
      return event;
    }
    return undefined;
  }

  /** Keeps only the waiting events `keep` accepts, in order; returns the kinds of those dropped. */
  retain(keep: (event: ModuleEvent) => boolean): ModuleEventKind[] {
    const waiting: ModuleEvent[] = [];
    for (let event = this.take(); event !== undefined; event = this.take()) waiting.push(event);
    const dropped: ModuleEventKind[] = [];
    for (const event of waiting) {
      if (keep(event)) this.push(event);
      else dropped.push(event.kind);
    }
    return dropped;
  }

  /** Drops every waiting event. */
  clear(): void {
    this.#events = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
    this.#tickAt = undefined;
    this.#remoteOps.clear();
  }

  #dropOne(): ModuleEventKind {
    if (this.#tickAt !== undefined) {
      const at = this.#tickAt;
      this.#events[at] = undefined;
      this.#forget({ kind: "tick" }, at);
      return "tick";
    }
    const oldest = this.take()!;
    // take() counted it out already.
    return oldest.kind;
  }

  #forget(event: ModuleEvent, index: number): void {
    this.#size--;
    this.#bytes -= dataBytes(event);
    if (event.kind === "tick" && this.#tickAt === index) this.#tickAt = undefined;
    if (event.kind === "remote_op") this.#remoteOps.delete(remoteOpKey(event));
  }

  /** Reuses the array once half of it is consumed slots, so memory follows the queue's size. */
  #compact(): void {
    if (this.#head < 64 || this.#head * 2 < this.#events.length) return;
    this.#events = this.#events.slice(this.#head);
    if (this.#tickAt !== undefined) this.#tickAt -= this.#head;
    this.#head = 0;
  }
}

const NONE: ModuleEventKind[] = [];

function remoteOpKey(event: RemoteOpEvent): string {
  return `${event.family}\u0000${event.key}`;
}
