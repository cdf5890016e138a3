import { SystemMessage } from "./system-messages.ts";

/**
 * A process's message queue: FIFO, with selective take (the first message a matcher accepts
 * leaves; the others keep their order) and an optional bound on user messages.
 *
 * System messages (EXIT and DOWN) share the queue so that their order relative to user messages
 * is kept, but they are never shed and do not count against the bound.
 *
 * Storage is a growable ring buffer: pushing and shifting never reallocate in the steady state
 * (a plain array emptied with `length = 0` gives its storage back and regrows on every burst).
 */
export class Mailbox {
  private slots: unknown[] = new Array(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private head = 0;
  private size = 0;
  private systemCount = 0;
  /** User messages refused because the mailbox was full. */
  dropped = 0;
  /** The most user messages held at once. */
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.size;
  }

  /** Appends a user message, or sheds it (counted in `dropped`) when the bound is reached. */
  pushUser(message: unknown): boolean {
    if (this.size - this.systemCount >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.push(message);
    return true;
  }

  /** Appends an EXIT or DOWN message; never refused. */
  pushSystem(message: unknown): void {
    this.push(message);
    this.systemCount++;
  }

  /** Removes and returns the oldest message, or NO_MESSAGE when empty. */
  shift(): unknown {
    if (this.size === 0) return NO_MESSAGE;
    const message = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    if (this.size === 0) this.emptied();
    if (this.systemCount > 0 && message instanceof SystemMessage) this.systemCount--;
    return message;
  }

  /**
   * Removes and returns the oldest message `matcher` accepts, or NO_MESSAGE. The matcher may throw;
   * the mailbox is then unchanged.
   */
  take(matcher: (message: unknown) => boolean): unknown {
    const { slots, mask, head, size } = this;
    for (let i = 0; i < size; i++) {
      const message = slots[(head + i) & mask];
      if (!matcher(message)) continue;
      if (i === 0) return this.shift();
      // Close the gap by moving the later messages one slot back.
      for (let j = i; j < size - 1; j++) slots[(head + j) & mask] = slots[(head + j + 1) & mask];
      slots[(head + size - 1) & mask] = undefined;
      this.size--;
      if (this.systemCount > 0 && message instanceof SystemMessage) this.systemCount--;
      return message;
    }
    return NO_MESSAGE;
  }

  /** The oldest `limit` messages, oldest first (for introspection). */
  snapshot(limit: number): unknown[] {
    const count = Math.min(limit, this.size);
    const messages: unknown[] = [];
    for (let i = 0; i < count; i++) messages.push(this.slots[(this.head + i) & this.mask]);
    return messages;
  }

  private push(message: unknown): void {
    if (this.size > this.mask) this.grow();
    this.slots[(this.head + this.size) & this.mask] = message;
    this.size++;
  }

  private grow(): void {
    const old = this.slots;
    const slots: unknown[] = new Array(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) slots[i] = old[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = slots.length - 1;
    this.head = 0;
  }

  /** A burst that made the buffer large should not pin that memory once drained. */
  private emptied(): void {
    this.head = 0;
    if (this.slots.length > SHRINK_ABOVE_SLOTS) {
      this.slots = new Array(INITIAL_SLOTS).fill(undefined);
      this.mask = INITIAL_SLOTS - 1;
    }
  }
}

/** Returned by `shift`/`take` when nothing qualifies (messages themselves may be `undefined`). */
export const NO_MESSAGE: unique symbol = Symbol("no message");

const INITIAL_SLOTS = 8;
const SHRINK_ABOVE_SLOTS = 4096;
