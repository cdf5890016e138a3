/**
 * The proc_* host functions at the ABI boundary, over a recording port (pure ABI logic: the
 * kernel side is covered by the other files): argument decoding, the receive header, and the
 * ABI's safety property for hostile pointers and lengths; and, over the kernel's port, the
 * `ReceiveAnswer` seam between them when a waiting receive fails.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createKernel } from "../../src/kernel/index.ts";
import { AbiContext } from "../../src/wasm/abi/abi-context.ts";
import type { GuestMemoryRef } from "../../src/wasm/abi/guest-memory.ts";
import { createProcessImports } from "../../src/wasm/abi/process-imports.ts";
import {
  GuestProcessExit,
  type GuestProcessPort,
  MESSAGE_KIND_DOWN,
  RECEIVE_TIMED_OUT,
  type ReceiveAnswer,
  type ReceiveCriteria,
  type ReceiveOutcome,
  type SpawnRequest,
} from "../../src/wasm/abi/process-port.ts";
import { PROCESS_FUNCTION_SIGNATURES } from "../../src/wasm/abi/process-signatures.ts";
import type { ValueType } from "../../src/wasm/module-imports.ts";
import { KernelProcessPort } from "../../src/wasm/process/kernel-process-port.ts";
import { ProcessLife } from "../../src/wasm/process/process-life.ts";
import { compileWat, recordingEnvironment, trampolineWat, utf8 } from "../abi/harness.ts";

const MEMORY_BYTES = 2 * 65_536;
const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 300);

/** A port that records every call and answers from a script. */
class RecordingPort implements GuestProcessPort {
  calls: unknown[][] = [];
  /** What the next receive answers; a message is returned whatever the capacity (the ABI must cope). */
  nextReceive: ReceiveOutcome = { kind: 0, from: 7, payload: "hello" };

  self(): number {
    return 7;
  }
  spawn(request: SpawnRequest): number {
    this.calls.push(["spawn", request]);
    return 9;
  }
  send(pid: number, payload: string): number {
    this.calls.push(["send", pid, payload]);
    return 0;
  }
  receive(
    criteria: ReceiveCriteria | undefined,
    capacityBytes: number,
    timeoutMs: number,
    answer: ReceiveAnswer,
  ): number {
    this.calls.push(["receive", criteria, capacityBytes, timeoutMs]);
    return answer.answer(this.nextReceive);
  }
  link(pid: number): number {
    this.calls.push(["link", pid]);
    return 0;
  }
  unlink(pid: number): number {
    this.calls.push(["unlink", pid]);
    return 0;
  }
  monitor(pid: number): number {
    this.calls.push(["monitor", pid]);
    return 0;
  }
  demonitor(pid: number): number {
    this.calls.push(["demonitor", pid]);
    return 1;
  }
  trapExit(on: boolean): number {
    this.calls.push(["trapExit", on]);
    return 0;
  }
  register(name: string): number {
    this.calls.push(["register", name]);
    return 0;
  }
  unregister(name: string): number {
    this.calls.push(["unregister", name]);
    return 0;
  }
  whereis(name: string): number {
    this.calls.push(["whereis", name]);
    return 11;
  }
  moduleOf(): string | undefined {
    return undefined;
  }
  exit(reason: string): never {
    throw new GuestProcessExit(reason);
  }
}

interface ProcGuest {
  port: RecordingPort;
  memory: () => Uint8Array;
  write(ptr: number, bytes: Uint8Array | string): void;
  call(name: string, ...args: number[]): unknown;
}

let trampolineBytes: Promise<Uint8Array> | undefined;

async function procGuest(): Promise<ProcGuest> {
  trampolineBytes ??= compileWat(
    trampolineWat(
      [...PROCESS_FUNCTION_SIGNATURES].map(([name, types]) => ["nx", name, types[0]!] as const),
      2,
    ),
  );
  const port = new RecordingPort();
  const { env } = recordingEnvironment();
  const memoryRef: GuestMemoryRef = { memory: undefined };
  const nx = createProcessImports(new AbiContext(env, memoryRef), port);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(await trampolineBytes), { nx });
  const memory = instance.exports.memory as WebAssembly.Memory;
  memoryRef.memory = memory;
  const bytes = () => new Uint8Array(memory.buffer);
  return {
    port,
    memory: bytes,
    write: (ptr, data) => bytes().set(typeof data === "string" ? utf8(data) : data, ptr),
    call: (name, ...args) => (instance.exports[name] as (...a: number[]) => unknown)(...args),
  };
}

describe("argument decoding", () => {
  test("proc_spawn reads module, entry, profile and argument, and the link/monitor flags", async () => {
    const g = await procGuest();
    g.write(100, "worker_mod");
    g.write(200, "entry_fn");
    g.write(300, "storage-db");
    g.write(400, new Uint8Array([0, 255, 1]));
    assert.equal(g.call("proc_spawn", 100, 10, 200, 8, 300, 10, 400, 3, 3), 9);
    assert.deepEqual(g.port.calls.at(-1), [
      "spawn",
      {
        module: "worker_mod",
        entry: "entry_fn",
        profile: "storage-db",
        arg: "\u0000\u00ff\u0001",
        link: true,
        monitor: true,
      },
    ]);
    assert.equal(g.call("proc_spawn", 0, 0, 0, 0, 0, 0, 0, 0, 0), 9, "all empty: own module, run, sandboxed");
    assert.deepEqual(g.port.calls.at(-1), [
      "spawn",
      { module: "", entry: "", profile: "", arg: undefined, link: false, monitor: false },
    ]);
    const count = g.port.calls.length;
    assert.equal(g.call("proc_spawn", 0, 0, 0, 0, 0, 0, 0, 0, 4), -3, "unknown flag");
    g.write(500, new Uint8Array([0xff, 0xfe]));
    assert.equal(g.call("proc_spawn", 500, 2, 0, 0, 0, 0, 0, 0, 0), -3, "module id not UTF-8");
    assert.equal(g.call("proc_spawn", 0, 2000, 0, 0, 0, 0, 0, 0, 0), -3, "module id over 1024 bytes");
    assert.equal(g.port.calls.length, count, "refused before reaching the port");
  });

  test("proc_send passes the exact bytes; bad pids and ranges answer -3", async () => {
    const g = await procGuest();
    g.write(100, new Uint8Array([1, 2, 200, 0, 255]));
    assert.equal(g.call("proc_send", 5, 100, 5), 0);
    assert.deepEqual(g.port.calls.at(-1), ["send", 5, "\u0001\u0002\u00c8\u0000\u00ff"]);
    assert.equal(g.call("proc_send", 0, 100, 5), -3);
    assert.equal(g.call("proc_send", -4, 100, 5), -3);
    assert.equal(g.call("proc_send", 5, MEMORY_BYTES - 2, 5), -3);
    assert.equal(g.call("proc_send", 5, 0, (1 << 20) + 1), -3, "over 1 MiB");
    assert.equal(g.port.calls.length, 1);
  });

  test("names: registered and looked up as UTF-8; the runtime's prefix answers -4", async () => {
    const g = await procGuest();
    g.write(100, "cache");
    g.write(200, "__nx.scheduler");
    assert.equal(g.call("proc_register", 100, 5), 0);
    assert.equal(g.call("proc_register", 200, 14), -4);
    assert.equal(g.call("proc_register", 100, 0), -3, "empty name");
    assert.equal(g.call("proc_register", 100, 256), -3, "longer than 255 bytes");
    assert.equal(g.call("proc_whereis", 100, 5), 11);
    assert.deepEqual(
      g.port.calls.map((c) => c[0]),
      ["register", "whereis"],
    );
  });

  test("proc_receive_match passes its criteria; the header is kind, from, length, then the payload", async () => {
    const g = await procGuest();
    g.write(100, "tag:");
    g.port.nextReceive = { kind: MESSAGE_KIND_DOWN, from: 42, payload: new Uint8Array([7, 8, 9]) };
    assert.equal(g.call("proc_receive_match", 0b10, 42, 100, 4, 1000, 64, 250), 15);
    assert.deepEqual(g.port.calls.at(-1), ["receive", { kinds: 2, from: 42, prefix: "tag:" }, 64, 250]);
    const view = new DataView(g.memory().buffer);
    assert.deepEqual(
      [view.getUint32(1000, true), view.getUint32(1004, true), view.getUint32(1008, true)],
      [1, 42, 3],
    );
    assert.deepEqual([...g.memory().subarray(1012, 1015)], [7, 8, 9]);

    g.port.nextReceive = { kind: 0, from: 1, payload: "x".repeat(100) };
    assert.equal(g.call("proc_receive", 1000, 64, -1), -2, "the ABI checks the size itself");
    assert.equal(view.getUint32(1000, true), 112, "and writes the size needed");
    g.port.nextReceive = { requiredBytes: 500 };
    assert.equal(g.call("proc_receive", 1000, 64, 0), -2);
    assert.equal(view.getUint32(1000, true), 500);
    g.port.nextReceive = RECEIVE_TIMED_OUT;
    assert.equal(g.call("proc_receive", 1000, 64, 0), -1);
    assert.equal(g.call("proc_receive_match", 0, -1, 0, 0, 1000, 64, 0), -3, "negative sender");
  });

  test("proc_exit unwinds the guest with the reason; an empty reason is normal", async () => {
    const g = await procGuest();
    g.write(100, "shutdown");
    assert.throws(
      () => g.call("proc_exit", 100, 8),
      (e: unknown) => e instanceof GuestProcessExit && e.reason === "shutdown",
    );
    assert.throws(
      () => g.call("proc_exit", 100, 0),
      (e: unknown) => e instanceof GuestProcessExit && e.reason === "normal",
    );
    assert.equal(g.call("proc_exit", MEMORY_BYTES, 8), -3, "a bad range answers instead");
  });
});

const OUTPUT_ARGS: Readonly<Record<string, readonly [number, number]>> = {
  proc_receive: [0, 1],
  proc_receive_match: [4, 5],
};

const i32Arg = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: MEMORY_BYTES + 16 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      255,
      256,
      1024,
      1025,
      1 << 20,
      (1 << 20) + 1,
      10 << 20,
      (10 << 20) + 1,
      MEMORY_BYTES - 12,
      MEMORY_BYTES - 1,
      MEMORY_BYTES,
      -1,
      0x7fffffff,
      0x80000000 | 0,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
);

test("hostile pointers: no proc_* function throws (except proc_exit) or writes outside its output range", async () => {
  const g = await procGuest();
  const pattern = g.memory();
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 13) & 0xff;
  const names = [...PROCESS_FUNCTION_SIGNATURES.keys()];
  const outcomes: ReceiveOutcome[] = [
    { kind: 0, from: 3, payload: "abc" },
    { kind: 2, from: 3, payload: new Uint8Array(5000) },
    { requiredBytes: 77 },
    RECEIVE_TIMED_OUT,
  ];
  const call = fc
    .constantFrom(...names)
    .chain((name) =>
      fc.tuple(
        fc.constant(name),
        fc.tuple(...PROCESS_FUNCTION_SIGNATURES.get(name)![0]!.params.map((_: ValueType) => i32Arg)),
        fc.constantFrom(...outcomes),
      ),
    );
  fc.assert(
    fc.property(call, ([name, args, outcome]) => {
      g.port.nextReceive = outcome;
      const before = g.memory().slice();
      let result: unknown;
      try {
        result = g.call(name, ...args);
      } catch (error) {
        assert.equal(name, "proc_exit", `${name}(${args.join(", ")}) threw ${String(error)}`);
        assert.ok(error instanceof GuestProcessExit);
        return;
      }
      assert.ok(Number.isInteger(result) && (result as number) >= -5, `${name} answered ${result}`);
      const after = g.memory();
      if (Buffer.compare(before, after) === 0) return;
      const output = OUTPUT_ARGS[name];
      assert.ok(output !== undefined, `${name} wrote to memory without an output range`);
      const outPtr = args[output[0]]! >>> 0;
      const outCap = args[output[1]]! >>> 0;
      for (let i = 0; i < after.length; i++) {
        if (before[i] !== after[i]) {
          assert.ok(i >= outPtr && i < outPtr + outCap, `${name}(${args.join(", ")}) wrote byte ${i}`);
        }
      }
      g.write(0, before);
    }),
    { seed: 20_260_709, numRuns: RUNS },
  );
});

test("a host failure in a receive after its wait answers the ReceiveAnswer's `failed` (-3 in the ABI), not a rejection", async () => {
  const kernel = createKernel();
  const port = new KernelProcessPort({ spawnChild: () => -3 });
  const failures: unknown[] = [];
  const broken = new Error("the write into guest memory failed");
  const answer: ReceiveAnswer = {
    answer: () => {
      throw broken;
    },
    failed: (error) => {
      failures.push(error);
      return -3;
    },
  };
  let parked: number | Promise<number> | undefined;
  const pid = kernel.spawn(async (ctx) => {
    port.attach(new ProcessLife(undefined as never, "run", 0, ctx, { makeProcess: () => {} }));
    parked = port.receive(undefined, 64, -1, answer);
    await parked;
  });
  await kernel.idle();
  assert.ok(parked instanceof Promise, "the receive waits");
  kernel.send(pid, "hello");
  assert.equal(await parked, -3);
  assert.deepEqual(failures, [broken]);
  await kernel.shutdown({ timeoutMs: 5_000 });
});
