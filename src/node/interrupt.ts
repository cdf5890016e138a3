/**
 * What a run of modules, or a node's start (ComponentSet.start), reads of an interrupt (SIGINT,
 * SIGTERM, `--settle-for`, the node's stop): the part of an AbortSignal they use, so an
 * AbortSignal fits too.
 */
export interface InterruptSignal {
  readonly aborted: boolean;
  /** Why it was interrupted ("interrupted by SIGINT"), once it was. */
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * The module host's interrupt: an {@link InterruptSignal} that is its own controller. Not an
 * AbortController: the first one a process makes loads and compiles Node's
 * node:internal/abort_controller (about 0.5 ms of CPU of every `nx run`, which never aborts it).
 * A listener runs once, at the abort, in the order added; aborting again does nothing.
 */
export class Interrupt implements InterruptSignal {
  #reason: unknown;
  #aborted = false;
  readonly #listeners = new Set<() => void>();

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** `listener` is called at the abort (once, as with `{ once: true }`), unless removed before. */
  addEventListener(_type: "abort", listener: () => void, _options?: { once?: boolean }): void {
    if (!this.#aborted) this.#listeners.add(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    this.#listeners.delete(listener);
  }

  /**
   * As an AbortSignal dispatches: a listener removed by an earlier one is not called, and one
   * that throws does not keep the later ones from running (each may stop a module); the first
   * error is thrown once they all ran.
   */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    let failure: { error: unknown } | undefined;
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.delete(listener)) continue;
      try {
        listener();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}
