import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKernel } from "./kernel.ts";
import type { ProcessBackend } from "./process-backend.ts";
import type { ProcessContext } from "./process-context.ts";

/**
 * The kernel knows nothing of WebAssembly; this test only shows that its seam fits JSPI as
 * designed: `ctx.receive` used directly as a `WebAssembly.Suspending` import parks the guest
 * until a message comes, and `WebAssembly.promising(main)` is what `start` returns.
 */

/** The bits of the JSPI API used here (the project's TypeScript lib has no WebAssembly types). */
interface Jspi {
  Suspending: new (fn: () => unknown) => unknown;
  promising(fn: unknown): () => Promise<number>;
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: { main: unknown } } }>;
}
const jspi = (globalThis as unknown as { WebAssembly: Jspi }).WebAssembly;

/** (module (import "k" "receive" (func (result i32))) (func (export "main") (result i32) (i32.add (call 0) (call 0)))) */
const GUEST = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 2, 13, 1, 1, 107, 7, 114, 101, 99, 101, 105, 118, 101,
  0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 109, 97, 105, 110, 0, 1, 10, 9, 1, 7, 0, 16, 0, 16, 0, 106, 11,
]);

class AddingGuest implements ProcessBackend {
  readonly kind = "wasm-test";
  result: number | undefined;
  /** Resolves when the guest makes its second receive call. */
  readonly secondReceive: Promise<void>;
  #calledTwice!: () => void;
  #calls = 0;

  constructor() {
    this.secondReceive = new Promise((resolve) => {
      this.#calledTwice = resolve;
    });
  }

  async start(ctx: ProcessContext): Promise<void> {
    const receive = new jspi.Suspending(() => {
      if (++this.#calls === 2) this.#calledTwice();
      return ctx.receive((m) => typeof m === "number");
    });
    const { instance } = await jspi.instantiate(GUEST, { k: { receive } });
    this.result = await jspi.promising(instance.exports.main)();
  }
}

describe("process backend seam under JSPI", () => {
  it("a wasm guest blocks in receive, frees the event loop, and resumes on a message", async () => {
    const kernel = createKernel();
    const guest = new AddingGuest();
    const pid = kernel.spawn({ backend: () => guest });
    kernel.send(pid, 40); // queued before the guest runs: the first receive takes it at once
    await guest.secondReceive;
    await kernel.idle();
    assert.equal(kernel.processInfo(pid)?.status, "waiting", "parked in its second receive");
    kernel.send(pid, "not a number: stays queued");
    kernel.send(pid, 2);
    assert.equal(await kernel.whenExited(pid), "normal");
    assert.equal(guest.result, 42);
  });
});
