/**
 * Calls a guest's exported functions `() -> ()` one after the other from inside WebAssembly, on
 * one JSPI stack: what an instance serving one HTTP request after another (a pooled instance's
 * request lives) runs its handlers through. A `WebAssembly.promising` entry per call costs about
 * a microsecond itself, and each leaves objects behind that outlive the young generation, so
 * that at tens of thousands of entries a second the garbage collector's scavenges grow from a
 * fraction of a millisecond to several (docs/design/wasm-processes.md, "Request lives"). So a
 * small module of our own loops: it asks the host which export to call next (`wait`, a
 * suspending import answering a table index) and calls it through a table holding the guest's
 * exports (a call between two instances, no JavaScript in between). Between two calls the loop
 * is parked in `wait`; a call that suspends (a fuel check's yield, `proc_receive`) suspends the
 * whole stack, as it would alone; a trap, or a host error thrown through the guest, ends the
 * loop with it, and the next call starts a new one.
 *
 * ```wat
 * (module
 *   (type $v (func)) (type $r (func (result i32)))
 *   (import "h" "wait" (func $wait (type $r)))
 *   (import "g" "exports" (table 0 funcref))
 *   (func (export "dispatch") (local $n i32)
 *     (loop $l
 *       (local.set $n (call $wait))
 *       (if (i32.ge_s (local.get $n) (i32.const 0))
 *         (then (call_indirect (type $v) (local.get $n)) (br $l))))))
 * ```
 * src/wasm/export-loop.test.ts compiles this text and checks it gives these bytes.
 */
export const EXPORT_LOOP_BYTES = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f,
  0x02, 0x18, 0x02, 0x01, 0x68, 0x04, 0x77, 0x61, 0x69, 0x74, 0x00, 0x01, 0x01, 0x67, 0x07, 0x65, 0x78, 0x70,
  0x6f, 0x72, 0x74, 0x73, 0x01, 0x70, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0c, 0x01, 0x08, 0x64, 0x69,
  0x73, 0x70, 0x61, 0x74, 0x63, 0x68, 0x00, 0x01, 0x0a, 0x1c, 0x01, 0x1a, 0x01, 0x01, 0x7f, 0x03, 0x40, 0x10,
  0x00, 0x21, 0x00, 0x20, 0x00, 0x41, 0x00, 0x4e, 0x04, 0x40, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0c, 0x01, 0x0b,
  0x0b, 0x0b,
]);

let loopModule: WebAssembly.Module | undefined;

/**
 * The export loop of one guest instance. {@link call} runs one export and settles when it
 * returns (or rejects with what ended the loop); one call at a time. The loop lives as long as
 * its calls return: after a failure {@link alive} is false and the owner makes a new one.
 *
 * @example
 * const loop = new ExportLoop(instance);
 * await loop.call("hello"); // inside the guest's CPU accounting (GuestInstance.runExport)
 */
export class ExportLoop {
  readonly #instance: WebAssembly.Instance;
  readonly #table = new WebAssembly.Table({ element: "anyfunc", initial: 0 });
  readonly #indexes = new Map<string, number>();
  readonly #dispatch: () => Promise<unknown>;
  /** Resolves the parked `wait` with the next index; set while the loop waits between calls. */
  #wake: ((index: number) => void) | undefined;
  /** The index the loop's first `wait` answers (the call that started it), else -1. */
  #first = -1;
  #returned: (() => void) | undefined;
  #failed: ((error: unknown) => void) | undefined;
  #alive = true;
  #started = false;

  constructor(instance: WebAssembly.Instance) {
    this.#instance = instance;
    loopModule ??= new WebAssembly.Module(EXPORT_LOOP_BYTES);
    const loop = new WebAssembly.Instance(loopModule, {
      h: { wait: new WebAssembly.Suspending(this.#wait) },
      g: { exports: this.#table },
    } as WebAssembly.Imports);
    this.#dispatch = WebAssembly.promising(loop.exports.dispatch as () => void);
  }

  /** False once a call failed: the loop's stack is gone (or parked for good) and it calls nothing more. */
  get alive(): boolean {
    return this.#alive;
  }

  /**
   * Calls `name`, an exported function `() -> ()` of the instance. Resolves once it returned;
   * rejects with the trap or error that ended it (and the loop). Never while a call is pending.
   */
  call(name: string): Promise<void> {
    const index = this.#indexOf(name);
    return new Promise<void>((resolve, reject) => {
      this.#returned = resolve;
      this.#failed = reject;
      const wake = this.#wake;
      if (wake !== undefined) {
        this.#wake = undefined;
        wake(index);
        return;
      }
      if (this.#started) {
        reject(new Error("ExportLoop.call while a call is pending or after the loop ended"));
        return;
      }
      this.#started = true;
      this.#first = index;
      this.#dispatch().then(
        () => this.#end(new Error("the export loop returned")),
        (error: unknown) => this.#end(error),
      );
    });
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
    wake?.(-1);
  }

  #indexOf(name: string): number {
    let index = this.#indexes.get(name);
    if (index === undefined) {
      const exported = this.#instance.exports[name];
      if (typeof exported !== "function") throw new Error(`the guest exports no function ${name}`);
      index = this.#table.grow(1);
      this.#table.set(index, exported);
      this.#indexes.set(name, index);
    }
    return index;
  }

  #end(error: unknown): void {
    this.#alive = false;
    const failed = this.#failed;
    this.#returned = undefined;
    this.#failed = undefined;
    failed?.(error);
  }

  /** The loop's `wait`: the call before returned; the next index now (the first) or once given. */
  readonly #wait = (): number | Promise<number> => {
    const returned = this.#returned;
    if (returned !== undefined && this.#first < 0) {
      this.#returned = undefined;
      this.#failed = undefined;
      returned();
    }
    if (this.#first >= 0) {
      const first = this.#first;
      this.#first = -1;
      return first;
    }
    return new Promise<number>((resolve) => {
      this.#wake = resolve;
    });
  };
}
