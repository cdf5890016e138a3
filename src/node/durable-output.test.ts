import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../observe/logger.ts";
import { type DurabilitySource, DurableOutputGate } from "./durable-output.ts";

/** A store stand-in whose writes become durable when the test says so. */
function fakeStore() {
  let written = 0;
  let durable = 0;
  let waiters: { seq: number; resolve(): void; reject(error: Error): void }[] = [];
  const source: DurabilitySource = {
    lastWriteSeq: () => written,
    isDurable: (seq) => durable >= seq,
    durable: (seq) =>
      durable >= seq
        ? Promise.resolve()
        : new Promise((resolve, reject) => waiters.push({ seq, resolve, reject })),
  };
  return {
    source,
    write: () => ++written,
    makeDurable(seq: number) {
      durable = seq;
      const ready = waiters.filter((w) => w.seq <= seq);
      waiters = waiters.filter((w) => w.seq > seq);
      for (const w of ready) w.resolve();
    },
    fail() {
      for (const w of waiters) w.reject(new Error("closed without saving"));
      waiters = [];
    },
  };
}

describe("DurableOutputGate", () => {
  it("holds output until the writes before it are durable, and keeps the order", async () => {
    const store = fakeStore();
    const gate = new DurableOutputGate(store.source, "group", silentLogger);
    const out: string[] = [];
    gate.release(() => out.push("before any write"));
    store.write();
    gate.release(() => out.push("after write 1"));
    store.write();
    gate.release(() => out.push("after write 2"));
    assert.deepEqual(out, ["before any write"]);
    store.makeDurable(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(out, ["before any write", "after write 1"]);
    store.makeDurable(2);
    gate.release(() => out.push("after durable, behind nothing"));
    await gate.drained();
    assert.deepEqual(out, [
      "before any write",
      "after write 1",
      "after write 2",
      "after durable, behind nothing",
    ]);
  });

  it("lets output out at once with relaxed durability", () => {
    const store = fakeStore();
    const gate = new DurableOutputGate(store.source, "relaxed", silentLogger);
    const out: string[] = [];
    store.write();
    gate.release(() => out.push("line"));
    assert.deepEqual(out, ["line"]);
  });

  it("withholds output whose writes were never saved", async () => {
    const store = fakeStore();
    const gate = new DurableOutputGate(store.source, "group", silentLogger);
    const out: string[] = [];
    store.write();
    gate.release(() => out.push("claims write 1"));
    store.fail();
    await gate.drained();
    assert.deepEqual(out, []);
    assert.equal(gate.withheld, 1);
  });

  it("withholds output when the writes staged before it cannot reach the store", async () => {
    const store = fakeStore();
    const source: DurabilitySource = {
      ...store.source,
      lastWriteSeq: () => {
        throw new Error("replicated state could not be written to the store");
      },
    };
    const gate = new DurableOutputGate(source, "group", silentLogger);
    const out: string[] = [];
    gate.release(() => out.push("claims a staged write"));
    await gate.drained();
    assert.deepEqual(out, []);
    assert.equal(gate.withheld, 1);
  });
});
