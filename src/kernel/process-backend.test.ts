import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExitReason } from "./exit-reason.ts";
import { createKernel } from "./kernel.ts";
import type { ProcessBackend } from "./process-backend.ts";
import type { ProcessContext } from "./process-context.ts";
import { supervisor } from "./supervisor.ts";

/**
 * A backend shaped like a WebAssembly guest under JSPI: `start` runs "main" as a promise;
 * `receive` is called the way a `WebAssembly.Suspending` import would call it.
 */
class GuestLikeBackend implements ProcessBackend {
  readonly kind = "guest";
  readonly label = "guest-module";
  readonly terminated: ExitReason[] = [];
  readonly log: string[] = [];
  private readonly main: (ctx: ProcessContext, log: string[]) => Promise<void>;

  constructor(main: (ctx: ProcessContext, log: string[]) => Promise<void>) {
    this.main = main;
  }

  start(ctx: ProcessContext): Promise<void> {
    return this.main(ctx, this.log);
  }

  terminate(reason: ExitReason): void {
    this.terminated.push(reason);
  }

  memoryBytes(): number {
    return 65_536;
  }
}

describe("process backend seam", () => {
  it("spawnRunning starts the backend before it returns: the process can be used at once", async () => {
    const kernel = createKernel();
    let context: ProcessContext | undefined;
    let finish!: () => void;
    const backend = new GuestLikeBackend((ctx) => {
      context = ctx;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    const pid = kernel.spawnRunning({ backend: () => backend });
    assert.equal(context?.self, pid, "start ran inside spawnRunning");
    assert.equal(kernel.processInfo(pid)?.status === "exited", false);
    kernel.send(pid, "hello");
    assert.equal(context!.receive(), "hello", "its mailbox is live: a queued message is taken at once");
    finish();
    assert.equal(await kernel.whenExited(pid), "normal");
    assert.deepEqual(backend.terminated, ["normal"]);
    await kernel.shutdown();
  });

  it("ownerOf answers a live process's backend owner: none for a JS process, nothing once it ended", async () => {
    const kernel = createKernel();
    const seen: (string | undefined)[] = [];
    const owned: ProcessBackend = {
      kind: "guest",
      owner: "kv",
      start: async (ctx) => {
        await ctx.receive();
      },
    };
    const unowned = new GuestLikeBackend(async (ctx) => {
      await ctx.receive();
    });
    const js = kernel.spawn((ctx) => ctx.receive());
    const a = kernel.spawn({ backend: () => owned });
    const b = kernel.spawn({ backend: () => unowned });
    const asker = kernel.spawn((ctx) => {
      seen.push(ctx.ownerOf(a), ctx.ownerOf(b), ctx.ownerOf(js));
    });
    await kernel.whenExited(asker);
    kernel.send(a, "end");
    await kernel.whenExited(a);
    const after = kernel.spawn((ctx) => {
      seen.push(ctx.ownerOf(a));
    });
    await kernel.whenExited(after);
    assert.deepEqual(seen, ["kv", undefined, undefined, undefined]);
    kernel.send(b, "end");
    kernel.send(js, "end");
  });

  it("a pull backend ends normal when start's promise fulfils, with the rejection when it rejects; terminate runs once", async () => {
    const kernel = createKernel();
    const ok = new GuestLikeBackend(async (ctx, log) => {
      log.push(String(await ctx.receive()));
    });
    const trap = new Error("unreachable executed");
    const trapping = new GuestLikeBackend(async () => {
      throw trap;
    });
    const a = kernel.spawn({ backend: () => ok });
    const b = kernel.spawn({ backend: () => trapping });
    kernel.send(a, "hello");
    const [reasonA, reasonB] = await Promise.all([kernel.whenExited(a), kernel.whenExited(b)]);
    assert.equal(reasonA, "normal");
    assert.equal(reasonB, trap, "a trap becomes the exit reason");
    assert.deepEqual(ok.log, ["hello"]);
    assert.deepEqual(ok.terminated, ["normal"]);
    assert.deepEqual(trapping.terminated, [trap]);
  });

  it("receive answers with the value when a message is queued and with a promise otherwise (the JSPI mapping)", async () => {
    const kernel = createKernel();
    const shapes: string[] = [];
    const backend = new GuestLikeBackend(async (ctx) => {
      ctx.send(ctx.self, "queued");
      const now = ctx.receive();
      shapes.push(now instanceof Promise ? "promise" : `value:${String(now)}`);
      const later = ctx.receive();
      shapes.push(later instanceof Promise ? "promise" : "value");
      await later;
    });
    const pid = kernel.spawn({ backend: () => backend });
    await kernel.idle();
    kernel.send(pid, "later");
    await kernel.whenExited(pid);
    assert.deepEqual(shapes, ["value:queued", "promise"]);
  });

  it("a backend killed while parked in receive is never resumed, and terminate gets the reason", async () => {
    const kernel = createKernel();
    let resumed = false;
    const backend = new GuestLikeBackend(async (ctx) => {
      await ctx.receive();
      resumed = true;
    });
    const pid = kernel.spawn({ backend: () => backend });
    await kernel.idle();
    kernel.exit(pid, "kill");
    kernel.send(pid, "too late");
    await kernel.idle();
    assert.equal(resumed, false);
    assert.deepEqual(backend.terminated, ["killed"]);
  });

  it("a push backend gets messages in order through deliver, and a returned promise pauses delivery", async () => {
    const kernel = createKernel();
    const delivered: unknown[] = [];
    let release!: () => void;
    const backend: ProcessBackend = {
      kind: "push",
      start: () => undefined,
      deliver(message) {
        delivered.push(message);
        if (message === "slow") {
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        }
        return undefined;
      },
    };
    const pid = kernel.spawn({ backend: () => backend });
    for (const m of [1, "slow", 2, 3]) kernel.send(pid, m);
    await kernel.idle();
    assert.deepEqual(delivered, [1, "slow"]);
    assert.equal(kernel.processInfo(pid)?.status, "running");
    release();
    await kernel.idle();
    assert.deepEqual(delivered, [1, "slow", 2, 3]);
    await kernel.shutdown();
  });

  it("shows kind, label and backend memory in introspection", async () => {
    const kernel = createKernel();
    const pid = kernel.spawn({
      backend: () => new GuestLikeBackend(async (ctx) => void (await ctx.receive())),
    });
    await kernel.idle();
    const info = kernel.processInfo(pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(info.kind, "guest");
    assert.equal(info.label, "guest-module");
    assert.ok(info.memoryBytes >= 65_536);
    await kernel.shutdown();
  });

  it("is made fresh by its factory at every supervisor restart", async () => {
    const kernel = createKernel();
    const made: GuestLikeBackend[] = [];
    const factory = () => {
      const backend = new GuestLikeBackend(async (ctx) => {
        if ((await ctx.receive()) === "trap") throw new Error("trap");
      });
      made.push(backend);
      return backend;
    };
    kernel.spawn(
      supervisor({
        maxRestarts: 5,
        children: [{ id: "g", start: { backend: factory }, options: { name: "g" } }],
      }),
    );
    await kernel.idle();
    const first = kernel.whereis("g")!;
    kernel.send(first, "trap");
    await kernel.whenExited(first);
    await kernel.idle();
    assert.equal(made.length, 2);
    assert.notEqual(made[0], made[1]);
    assert.ok(made[0].terminated[0] instanceof Error);
    assert.ok(kernel.whereis("g") !== undefined && kernel.whereis("g") !== first);
    await kernel.shutdown();
  });
});
