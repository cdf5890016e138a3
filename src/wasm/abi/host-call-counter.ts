import { asHostFunction, forwarding } from "./host-call-forwarding.ts";

/**
 * Counts the host calls guests make, by import module and function, for
 * `numax_host_calls_total` and each module's `hostCalls` in the management API (one counter per
 * module). A call costs one array increment: the counts are handed to the
 * metrics only when they are read (`drain`, before each scrape), never per call.
 *
 * @example
 * const counter = new HostCallCounter();
 * imports.nx.db_get = counter.wrap("nx", "db_get", imports.nx.db_get);
 * counter.drain((module, name, calls) => metrics.hostCalls.inc({ module, function: name }, calls));
 */
export class HostCallCounter {
  readonly #slots = new Map<string, number>();
  readonly #names: { readonly module: string; readonly name: string }[] = [];
  readonly #counts: number[] = [];
  /** Calls handed to `drain` so far. */
  #drained = 0;

  /** `fn`, counting each call under `module`.`name`. */
  wrap<Args extends unknown[], Result>(
    module: string,
    name: string,
    fn: (...args: Args) => Result,
  ): (...args: Args) => Result {
    const slot = this.#slot(module, name);
    const counts = this.#counts;
    const forward = forwarding(fn);
    return asHostFunction((a, b, c, d, e, f, g, h, i) => {
      counts[slot]++;
      return forward(a, b, c, d, e, f, g, h, i);
    });
  }

  /** Visits every function called since the last drain with its number of calls, and resets them. */
  drain(visit: (module: string, name: string, calls: number) => void): void {
    const counts = this.#counts;
    for (let slot = 0; slot < counts.length; slot++) {
      const calls = counts[slot]!;
      if (calls === 0) continue;
      counts[slot] = 0;
      this.#drained += calls;
      const { module, name } = this.#names[slot]!;
      visit(module, name, calls);
    }
  }

  /** Every call counted since the counter was made, drained or not. */
  total(): number {
    let pending = 0;
    for (const calls of this.#counts) pending += calls;
    return this.#drained + pending;
  }

  #slot(module: string, name: string): number {
    const key = `${module}\0${name}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#names.length;
      this.#slots.set(key, slot);
      this.#names.push({ module, name });
      this.#counts.push(0);
    }
    return slot;
  }
}
