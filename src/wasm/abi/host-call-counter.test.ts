import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadFixtureModule, recordingEnvironment } from "../../../test/fixtures/wasm/guest-runtime.ts";
import { GuestInstance } from "../guest-instance.ts";
import { HostCallCounter } from "./host-call-counter.ts";

function drained(counter: HostCallCounter): string[] {
  const seen: string[] = [];
  counter.drain((module, name, calls) => seen.push(`${module}.${name}=${calls}`));
  return seen;
}

describe("HostCallCounter", () => {
  test("counts a guest's calls by import, and drain hands them over once", async () => {
    const counter = new HostCallCounter();
    const guest = GuestInstance.create(await loadFixtureModule("bench-host-calls"), {
      env: { ...recordingEnvironment("counted"), hostCalls: counter },
      cpuMsPerRun: undefined,
    });
    new DataView(guest.memory.buffer).setUint32(0, 1234, true);
    assert.deepEqual(await guest.run(), { ok: true });
    assert.deepEqual(drained(counter), ["wasi_snapshot_preview1.sched_yield=1234"]);
    assert.deepEqual(drained(counter), [], "a drain resets the counts");
    await guest.run();
    assert.deepEqual(drained(counter), ["wasi_snapshot_preview1.sched_yield=1234"]);
  });

  test("wrap passes arguments and results through", () => {
    const counter = new HostCallCounter();
    const add = counter.wrap("nx", "add", (a: number, b: number) => a + b);
    const twice = counter.wrap("nx", "add", (a: number, b: number) => a + b);
    assert.equal(add(2, 3), 5);
    assert.equal(twice(1, 1), 2);
    assert.deepEqual(drained(counter), ["nx.add=2"], "one slot per module and name");
  });
});
