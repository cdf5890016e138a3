/**
 * Calls a guest's exported functions `() -> ()` one after the other from inside WebAssembly, on
 * one JSPI stack: what a pooled instance runs its lives through (a spawned process's entry, an
 * HTTP request's handler). A `WebAssembly.promising` entry per call costs about a microsecond
 * itself, and each leaves objects behind that outlive the young generation, so that at tens of
 * thousands of entries a second the garbage collector's scavenges grow from a fraction of a
 * millisecond to several (docs/design/wasm-processes.md, "The export loop"). So a small module
 * of our own loops: it asks the host which export to call next (`wait`, a suspending import
 * answering a table index) and calls it through a table holding the guests' exports (a call
 * between two instances, no JavaScript in between). The first call is the entry's argument, so
 * it runs at once, as a plain `WebAssembly.promising` call would (`wait` suspends even when it
 * answers at once, which would let other code run first). Between two calls a loop is parked in
 * `wait`; a call that suspends (a fuel check's yield, `proc_receive`) suspends the whole stack,
 * as it would alone; a trap, or a host error thrown through the guest, ends the loop with it,
 * and the next call starts a new one.
 *
 * One instance of this module and one table serve every loop of the process: each loop is a
 * `dispatch(id)` entry of its own (its own stack), and its exports have slots of their own in
 * the shared table. An instance, a table and their wrappers per loop were about 8 KB more per
 * parked process.
 *
 * ```wat
 * (module
 *   (type $v (func)) (type $r (func (param i32) (result i32)))
 *   (import "h" "wait" (func $wait (type $r)))
 *   (import "g" "exports" (table 0 funcref))
 *   (func (export "dispatch") (param $loop i32) (param $n i32)
 *     (loop $l
 *       (call_indirect (type $v) (local.get $n))
 *       (local.set $n (call $wait (local.get $loop)))
 *       (br_if $l (i32.ge_s (local.get $n) (i32.const 0))))))
 * ```
 * src/wasm/export-loop.test.ts compiles this text and checks it gives these bytes.
 */
export const EXPORT_LOOP_BYTES = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0e, 0x03, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01,
  0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00, 0x02, 0x18, 0x02, 0x01, 0x68, 0x04, 0x77, 0x61, 0x69, 0x74, 0x00, 0x01,
  0x01, 0x67, 0x07, 0x65, 0x78, 0x70, 0x6f, 0x72, 0x74, 0x73, 0x01, 0x70, 0x00, 0x00, 0x03, 0x02, 0x01, 0x02,
  0x07, 0x0c, 0x01, 0x08, 0x64, 0x69, 0x73, 0x70, 0x61, 0x74, 0x63, 0x68, 0x00, 0x01, 0x0a, 0x19, 0x01, 0x17,
  0x00, 0x03, 0x40, 0x20, 0x01, 0x11, 0x00, 0x00, 0x20, 0x00, 0x10, 0x00, 0x21, 0x01, 0x20, 0x01, 0x41, 0x00,
  0x4e, 0x0d, 0x00, 0x0b, 0x0b,
]);

/** Where an {@link ExportLoop} reports the end of each call: given once, not per call. */
export interface ExportLoopListener {
  /** The call returned (from inside the loop's `wait`, before it parks). */
  returned(): void;
  /** The call ended with `error` (a trap, a host error thrown through the guest), and the loop with it. */
  failed(error: unknown): void;
}

/** The loop module's one instance: its entry, and the table every loop's exports have slots in. */
interface SharedLoop {
  readonly dispatch: (id: number, first: number) => Promise<unknown>;
  readonly table: WebAssembly.Table;
  /** Running loops by id (an id is taken when a loop starts and given back when its stack ends). */
  readonly loops: (ExportLoop | undefined)[];
  readonly freeIds: number[];
  readonly freeSlots: number[];
}

let shared: SharedLoop | undefined;

function sharedLoop(): SharedLoop {
  if (shared !== undefined) return shared;
  const loops: (ExportLoop | undefined)[] = [];
  const table = new WebAssembly.Table({ element: "anyfunc", initial: 0 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(EXPORT_LOOP_BYTES), {
    h: { wait: new WebAssembly.Suspending((id: number) => loops[id]!.wait()) },
    g: { exports: table },
  } as WebAssembly.Imports);
  const dispatch = WebAssembly.promising(instance.exports.dispatch as (id: number, first: number) => void);
  shared = { dispatch, table, loops, freeIds: [], freeSlots: [] };
  return shared;
}

/**
 * The export loop of one guest instance. {@link call} runs one export; its end reaches the
 * listener. One call at a time. The loop lives as long as its calls return: after a failure
 * {@link alive} is false and the owner makes a new one. Nothing is allocated per call but the
 * promise the loop parks on: a pooled instance runs a process per call, hundreds of thousands
 * a second.
 *
 * @example
 * const loop = new ExportLoop(instance, { returned: () => {}, failed: (error) => {} });
 * loop.call("hello"); // inside the guest's CPU accounting (GuestInstance.runExport)
 */
export class ExportLoop {
  readonly #instance: WebAssembly.Instance;
  readonly #listener: ExportLoopListener;
  readonly #shared = sharedLoop();
  /**
   * This loop's slots in the shared table, by export name, once it called a second export (the
   * first is #lastName's): a pooled instance calls one export life after life, and a map per
   * loop was ~180 B of each parked process.
   */
  #slots: Map<string, number> | undefined;
  #lastName = "";
  #lastSlot = -1;
  /** Its id in the shared loop while its stack exists, else -1. */
  #id = -1;
  /** Resolves the parked `wait` with the next slot; set while the loop waits between calls. */
  #wake: ((slot: number) => void) | undefined;
  /** A call runs: its end is still to report. */
  #pending = false;
  #alive = true;
  #started = false;

  constructor(instance: WebAssembly.Instance, listener: ExportLoopListener) {
    this.#instance = instance;
    this.#listener = listener;
  }

  /** False once a call failed or the loop was closed: it calls nothing more. */
  get alive(): boolean {
    return this.#alive;
  }

  /**
   * Calls `name`, an exported function `() -> ()` of the instance; its end reaches the listener.
   * Throws when the loop cannot take a call (one pending, the loop ended), and as
   * `WebAssembly.promising` does when the first call finds little stack left.
   */
  call(name: string): void {
    if (this.#pending || !this.#alive) {
      throw new Error("ExportLoop.call while a call is pending or after the loop ended");
    }
    const slot = this.#slotOf(name);
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#pending = true;
      this.#wake = undefined;
      wake(slot);
      return;
    }
    if (this.#started) throw new Error("ExportLoop.call from inside its listener, before the loop parked");
    this.#started = true;
    this.#pending = true;
    const { loops, freeIds, dispatch } = this.#shared;
    const id = freeIds.pop() ?? loops.length;
    loops[id] = this;
    this.#id = id;
    try {
      dispatch(id, slot).then(this.#loopReturned, this.#loopFailed);
    } catch (error) {
      this.#pending = false;
      this.#release();
      throw error;
    }
  }

  /**
   * Ends the loop while it waits between calls: its stack returns and is freed. V8 never frees
   * a stack parked on a promise nobody settles, so an instance dropped with its loop parked kept
   * that stack, the instance and its memory for good. Nothing runs on it afterwards.
   */
  close(): void {
    this.#alive = false;
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake !== undefined) wake(-1);
    else if (!this.#started) this.#release();
  }

  #slotOf(name: string): number {
    // A pooled instance runs the same export life after life.
    if (name === this.#lastName) return this.#lastSlot;
    let slot = this.#slots?.get(name);
    if (slot === undefined) {
      const exported = this.#instance.exports[name];
      if (typeof exported !== "function") throw new Error(`the guest exports no function ${name}`);
      const { table, freeSlots } = this.#shared;
      slot = freeSlots.pop() ?? table.grow(1);
      table.set(slot, exported);
      if (this.#lastSlot >= 0) {
        this.#slots ??= new Map([[this.#lastName, this.#lastSlot]]);
        this.#slots.set(name, slot);
      }
    }
    this.#lastName = name;
    this.#lastSlot = slot;
    return slot;
  }

  /** Gives the loop's id and table slots back: its stack is gone (or never existed). */
  #release(): void {
    this.#alive = false;
    const { loops, freeIds, table, freeSlots } = this.#shared;
    if (this.#id >= 0) {
      loops[this.#id] = undefined;
      freeIds.push(this.#id);
      this.#id = -1;
    }
    const slots = this.#slots?.values() ?? (this.#lastSlot >= 0 ? [this.#lastSlot] : []);
    for (const slot of slots) {
      table.set(slot, null);
      freeSlots.push(slot);
    }
    this.#slots = undefined;
    this.#lastName = "";
    this.#lastSlot = -1;
  }

  readonly #loopReturned = (): void => this.#end(new Error("the export loop returned"));

  readonly #loopFailed = (error: unknown): void => this.#end(error);

  #end(error: unknown): void {
    this.#release();
    if (!this.#pending) return;
    this.#pending = false;
    this.#listener.failed(error);
  }

  /** The loop's `wait` (the shared import calls it): the call before returned; the next slot once given. */
  wait(): number | Promise<number> {
    this.#pending = false;
    this.#listener.returned();
    // The listener may have closed the loop (its instance dropped at once): return, not park.
    if (!this.#alive) return -1;
    // Not an executor kept by the loop: its closure was ~60 B of each parked process.
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#wake = resolve;
    return promise;
  }
}
