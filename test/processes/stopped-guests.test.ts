/**
 * A guest the governor stops (its CPU budget, a kill) must leave nothing behind: its stack
 * unwinds at its next refill (a trap in the refill trampoline, REFILL_STOPPED) and its instance
 * and linear memory are collected. Parked on a promise that never settles, each stopped guest
 * stayed in memory for the node's lifetime (V8 never collects a suspended stack): a handler that
 * spins until its budget leaked up to `memory_max_mb` per request.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ModuleEvents } from "../../src/events/module-events.ts";
import type { Pid } from "../../src/kernel/index.ts";
import { reactiveProgram } from "../../src/node/reactive-program.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { GuestInstance } from "../../src/wasm/guest-instance.ts";
import { type GuestModule, loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { InstancePool } from "../../src/wasm/process/instance-pool.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { MIB, tell, testEnvironment, testHost, waitFor } from "./harness.ts";

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });

async function load(name: string, wat: string): Promise<GuestModule> {
  const bytes = await watToWasm(wat, `${name}.wat`);
  return loadGuestModuleBytes(bytes, name, { memoryMaxBytes: 16 * MIB, cache, logger: silentLogger });
}

/** Collects until every registered object is gone or `rounds` collections passed; answers how many were collected. */
async function collected(registered: number, count: () => number, rounds = 20): Promise<number> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let round = 0; round < rounds && count() < registered; round++) {
    gc();
    // FinalizationRegistry callbacks run in a later task.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return count();
}

describe("a stopped guest", () => {
  test("is collected with its memory, after a CPU-budget stop or a kill", async () => {
    // Touches 1 MiB of its memory, then spins.
    const module = await load(
      "touch-then-spin",
      `(module
        (memory (export "memory") 16)
        (func (export "run")
          (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))
          (loop $forever (br $forever))))`,
    );
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    /** One guest stopped; in a function of its own, so that no frame of the test keeps it. */
    const stopOne = async (budget: boolean): Promise<string> => {
      const guest = GuestInstance.create(module, {
        env: testEnvironment(module, { stdout: "", stderr: "" }),
        cpuMsPerRun: budget ? 2 : undefined,
      });
      registry.register(guest.memory, budget);
      const run = guest.run();
      if (!budget) setTimeout(() => guest.kill("test"), 2);
      const result = await run;
      return result.ok ? "ok" : result.failure.kind;
    };
    const guests = 10;
    for (let i = 0; i < guests; i++) {
      const budget = i % 2 === 0;
      assert.equal(await stopOne(budget), budget ? "cpu_budget" : "killed");
    }
    assert.equal(await collected(guests, () => gone), guests, "every stopped guest's memory was collected");
  });

  test("is collected after its kernel process is killed while it yields", async () => {
    // Touches 1 MiB of its memory, then spins: killed from a timer, so at one of its yields.
    const module = await load(
      "touch-then-spin",
      `(module
        (memory (export "memory") 16)
        (func (export "run")
          (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))
          (loop $forever (br $forever))))`,
    );
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    // No pooling: each process has an instance of its own, dropped when it ends.
    const local = testHost([module], { idleInstancesMax: 0 });
    /** One process killed; in a function of its own, so that no frame of the test keeps it. */
    const killOne = async (): Promise<unknown> => {
      let memory: WebAssembly.Memory | undefined;
      const pid = local.kernel.spawn(
        local.host.spawnable(module, {
          program: (guest) => {
            memory = guest.memory;
            return guest.run();
          },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      registry.register(memory!, pid);
      const exited = local.kernel.whenExited(pid);
      local.kernel.exit(pid, "kill");
      return exited;
    };
    try {
      const processes = 6;
      for (let i = 0; i < processes; i++) assert.equal(await killOne(), "killed");
      assert.equal(
        await collected(processes, () => gone),
        processes,
        "every killed process's memory was collected",
      );
    } finally {
      await local.kernel.shutdown({ timeoutMs: 1_000 });
    }
  });

  test("runs no more of its code, even inside a catch_all", async () => {
    // The spin sits in a try_table that catches everything; after a catch it would store 1 at 0.
    const module = await load(
      "catch-all-spin",
      `(module
        (memory (export "memory") 1)
        (func (export "run")
          (block $caught
            (try_table (catch_all $caught)
              (loop $forever (br $forever))))
          (i32.store (i32.const 0) (i32.const 1))))`,
    );
    for (const budget of [true, false]) {
      const guest = GuestInstance.create(module, {
        env: testEnvironment(module, { stdout: "", stderr: "" }),
        cpuMsPerRun: budget ? 2 : undefined,
      });
      const run = guest.run();
      if (!budget) setTimeout(() => guest.kill("test"), 2);
      const result = await run;
      assert.equal(result.ok ? "ok" : result.failure.kind, budget ? "cpu_budget" : "killed");
      // The trap that unwinds the stack comes at once (the governor's yield is one event-loop turn).
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(new DataView(guest.memory.buffer).getInt32(0, true), 0, "the catch_all caught nothing");
    }
  });

  /**
   * One kernel process per call, killed while it waits in proc_receive (real kernel, no message
   * ever sent); answers its exit reason and its memory, which has 1 at RECEIVE_MARK while the
   * guest is in (or past) the receive and 1 at RAN_ON_MARK if any of its code ran after the kill.
   */
  const RECEIVE_MARK = 4;
  const RAN_ON_MARK = 0;
  const killWhileReceiving = async (
    local: ReturnType<typeof testHost>,
    module: GuestModule,
    registry: FinalizationRegistry<number>,
  ): Promise<{ reason: unknown; ranOn: number }> => {
    let memory: WebAssembly.Memory | undefined;
    const pid = local.kernel.spawn(
      local.host.spawnable(module, {
        program: (guest) => {
          memory = guest.memory;
          return guest.run();
        },
      }),
    );
    while (memory === undefined || new DataView(memory.buffer).getInt32(RECEIVE_MARK, true) !== 1) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    registry.register(memory, pid);
    const exited = local.kernel.whenExited(pid);
    local.kernel.exit(pid, "kill");
    const reason = await exited;
    // Any code the guest ran after the kill would have run by now (its wait settles at the kill).
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { reason, ranOn: new DataView(memory.buffer).getInt32(RAN_ON_MARK, true) };
  };

  for (const catchAll of [false, true]) {
    test(`is collected after its kernel process is killed in proc_receive${catchAll ? ", and runs no more of its code inside a catch_all" : ""}`, async () => {
      // Touches 1 MiB of its memory, marks that it receives, then waits for a message forever;
      // marks RAN_ON_MARK if it runs on after the receive (it returned, or threw and was caught).
      const receive = "(drop (call $recv (i32.const 1024) (i32.const 64) (i32.const -1)))";
      const module = await load(
        catchAll ? "catch-all-receive" : "touch-then-receive",
        `(module
          (import "nx" "proc_receive" (func $recv (param i32 i32 i32) (result i32)))
          (memory (export "memory") 17)
          (func (export "run")
            (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576))
            (i32.store (i32.const ${RECEIVE_MARK}) (i32.const 1))
            ${catchAll ? `(block $caught (try_table (catch_all $caught) ${receive}))` : receive}
            (i32.store (i32.const ${RAN_ON_MARK}) (i32.const 1))))`,
      );
      let gone = 0;
      const registry = new FinalizationRegistry<number>(() => {
        gone++;
      });
      const local = testHost([module], { idleInstancesMax: 0 });
      try {
        const processes = 6;
        for (let i = 0; i < processes; i++) {
          const { reason, ranOn } = await killWhileReceiving(local, module, registry);
          assert.equal(reason, "killed");
          assert.equal(ranOn, 0, "no guest code ran after the kill");
        }
        assert.equal(
          await collected(processes, () => gone),
          processes,
          "every process killed in proc_receive was collected",
        );
      } finally {
        await local.kernel.shutdown({ timeoutMs: 1_000 });
      }
    });
  }

  test("is collected after a kill while it waits in any suspending host call, of any result type", async () => {
    // As http_fetch or poll_oneoff: a host call whose promise never settles. It answers an i64,
    // which WAIT_STOPPED must convert to without an error the catch_all could catch.
    const module = await load(
      "catch-all-wait-i64",
      `(module
        (import "t" "wait" (func $wait (result i64)))
        (memory (export "memory") 17)
        (func (export "run")
          (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576))
          (block $caught (try_table (catch_all $caught) (drop (call $wait))))
          (i32.store (i32.const 0) (i32.const 1))))`,
    );
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    /** One guest killed in its wait; in a function of its own, so that no frame of the test keeps it. */
    const killOne = async (): Promise<number> => {
      let waiting: () => void = () => {};
      const entered = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const guest = GuestInstance.create(module, {
        env: testEnvironment(module, { stdout: "", stderr: "" }),
        cpuMsPerRun: undefined,
        suspendingImports: {
          t: {
            wait: () => {
              waiting();
              return new Promise<never>(() => {});
            },
          },
        },
      });
      registry.register(guest.memory, 0);
      const run = guest.run();
      await entered;
      guest.kill("test");
      const result = await run;
      assert.equal(result.ok ? "ok" : result.failure.kind, "killed");
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new DataView(guest.memory.buffer).getInt32(0, true);
    };
    const guests = 6;
    for (let i = 0; i < guests; i++) assert.equal(await killOne(), 0, "no guest code ran after the kill");
    assert.equal(await collected(guests, () => gone), guests, "every guest killed in its wait was collected");
  });

  test("is collected after its reactive module's process is killed while it waits for an event", async () => {
    // `init` touches 1 MiB of its memory; with no events, the dispatch loop then waits.
    const module = await load(
      "reactive-waits",
      `(module
        (memory (export "memory") 17)
        (func (export "init") (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576)))
        (func (export "on_tick") (i32.store (i32.const 0) (i32.const 1))))`,
    );
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    const local = testHost([module], { idleInstancesMax: 0 });
    /** One life killed while it waits; in a function of its own, so that no frame of the test keeps it. */
    const killOne = async (): Promise<number> => {
      const events = new ModuleEvents({
        moduleId: "reactive-waits",
        callbacks: new Set(["init", "on_tick"] as const),
        publisher: { publish: () => {} },
      });
      let memory: WebAssembly.Memory | undefined;
      const program = reactiveProgram(events, false);
      const pid = local.kernel.spawn(
        local.host.spawnable(module, {
          program: (guest, ctx) => {
            memory = guest.memory;
            return program(guest, ctx);
          },
        }),
      );
      while (events.state !== "running") await new Promise((resolve) => setTimeout(resolve, 1));
      registry.register(memory!, pid);
      const exited = local.kernel.whenExited(pid);
      local.kernel.exit(pid, "kill");
      assert.equal(await exited, "killed");
      // An event after the kill wakes nothing: no callback runs.
      events.deliver({ kind: "tick" });
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new DataView(memory!.buffer).getInt32(0, true);
    };
    try {
      const processes = 6;
      for (let i = 0; i < processes; i++) assert.equal(await killOne(), 0, "no callback ran after the kill");
      assert.equal(
        await collected(processes, () => gone),
        processes,
        "every reactive process killed while it waited was collected",
      );
    } finally {
      await local.kernel.shutdown({ timeoutMs: 1_000 });
    }
  });
});

describe("a pooled instance", () => {
  test("is collected once its pool drops it while it is idle (released beyond the pool's bound, or cleared)", async () => {
    // Touches 1 MiB of its memory; run through the instance's export loop, which parks between calls.
    const module = await load(
      "touch-and-return",
      `(module
        (memory (export "memory") 17)
        (func (export "run") (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576))))`,
    );
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    const instances = 4;
    /** Runs one life on each of `instances` instances, then gives them back; the pool keeps one. */
    const runAndDrop = async (): Promise<void> => {
      const pool = new InstancePool({
        module,
        environment: testEnvironment(module, { stdout: "", stderr: "" }),
        spawner: { spawnChild: () => -1 },
        cpuMsPerRun: undefined,
        sliceMs: undefined,
        idleMax: 1,
      });
      const taken = Array.from({ length: instances }, () => pool.acquire());
      for (const pooled of taken) {
        registry.register(pooled.guest.memory, 0);
        const result = await pooled.guest.runExport("run");
        assert.equal(result.ok, true);
      }
      assert.deepEqual(
        taken.map((pooled) => pool.release(pooled)),
        [true, false, false, false],
      );
      pool.clear();
    };
    await runAndDrop();
    assert.equal(
      await collected(instances, () => gone),
      instances,
      "every instance the pool dropped was collected",
    );
  });

  test("of replaced code is collected once its last process ends", async () => {
    // Touches 1 MiB of its memory, waits for one message, returns.
    const wat = `(module
      (import "nx" "proc_receive" (func $recv (param i32 i32 i32) (result i32)))
      (memory (export "memory") 17)
      (func (export "run")
        (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576))
        (drop (call $recv (i32.const 1024) (i32.const 64) (i32.const -1)))))`;
    const module = await load("replaced-while-running", wat);
    let gone = 0;
    const registry = new FinalizationRegistry(() => {
      gone++;
    });
    const local = testHost([module]);
    const processes = 4;
    /** Processes of `module` waiting for a message; in a function of its own, so that no frame of the test keeps them. */
    const spawnWaiting = async (): Promise<Pid[]> => {
      const pids: Pid[] = [];
      for (let i = 0; i < processes; i++) {
        pids.push(
          local.kernel.spawn(
            local.host.spawnable(module, {
              program: (guest) => {
                registry.register(guest.memory, i);
                return guest.runExport("run");
              },
            }),
          ),
        );
      }
      await waitFor(
        () => local.kernel.processes().filter((p) => p.status === "waiting").length === processes,
        5_000,
        "every process waits in proc_receive",
      );
      return pids;
    };
    try {
      const pids = await spawnWaiting();
      local.host.setModule(await load("replaced-while-running", wat));
      for (const pid of pids) {
        const exited = local.kernel.whenExited(pid);
        tell(local.kernel, pid, "end");
        assert.equal(await exited, "normal");
      }
      assert.equal(
        await collected(processes, () => gone),
        processes,
        "every instance of the replaced code was collected",
      );
    } finally {
      await local.kernel.shutdown({ timeoutMs: 1_000 });
    }
  });

  for (const wait of ["proc_receive", "a yield"] as const) {
    test(`served by its export loop before, is collected after its next process is killed in ${wait}`, async () => {
      // Touches 1 MiB of its memory, counts its life at LIVES (its memory is restored between
      // lives), then waits for a message: "end" returns, "spin" (12 header bytes and 4) spins
      // through its yields; marks RAN_ON if it runs on after a kill.
      const LIVES = 4;
      const RAN_ON = 0;
      const module = await load(
        "receive-then-return-or-spin",
        `(module
          (import "nx" "proc_receive" (func $recv (param i32 i32 i32) (result i32)))
          (memory (export "memory") 17)
          (func (export "run")
            (memory.fill (i32.const 2048) (i32.const 7) (i32.const 1048576))
            (i32.store (i32.const ${LIVES}) (i32.add (i32.load (i32.const ${LIVES})) (i32.const 1)))
            (if (i32.eq (call $recv (i32.const 1024) (i32.const 64) (i32.const -1)) (i32.const 16))
              (then (loop $forever (br $forever))))
            (i32.store (i32.const ${RAN_ON}) (i32.const 1))))`,
      );
      let gone = 0;
      const registry = new FinalizationRegistry<number>(() => {
        gone++;
      });
      const local = testHost([module]);
      /** A process on `module`'s pool; its instance's memory once it counted its life. */
      const spawn = async (): Promise<{ pid: Pid; memory: WebAssembly.Memory }> => {
        let memory: WebAssembly.Memory | undefined;
        const pid = local.kernel.spawn(
          local.host.spawnable(module, {
            // As a spawned process on a pooled instance runs: through the instance's export loop.
            program: (guest) => {
              memory = guest.memory;
              return guest.runExport("run");
            },
          }),
        );
        await waitFor(
          () => memory !== undefined && new DataView(memory.buffer).getInt32(LIVES, true) === 1,
          5_000,
          "the process runs",
        );
        return { pid, memory: memory! };
      };
      /** A life that returns, then one on the same instance (its parked loop resumed) killed; in a function of its own. */
      const killSecondLife = async (i: number): Promise<void> => {
        const first = await spawn();
        const ended = local.kernel.whenExited(first.pid);
        tell(local.kernel, first.pid, "end");
        assert.equal(await ended, "normal");
        const second = await spawn();
        assert.equal(second.memory, first.memory, "the second life runs on the first one's instance");
        if (wait === "a yield") {
          tell(local.kernel, second.pid, "spin");
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        registry.register(second.memory, i);
        const killed = local.kernel.whenExited(second.pid);
        local.kernel.exit(second.pid, "kill");
        assert.equal(await killed, "killed");
        // Any code the guest ran after the kill would have run by now.
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(new DataView(second.memory.buffer).getInt32(RAN_ON, true), 0, "ran on after the kill");
      };
      try {
        const processes = 4;
        for (let i = 0; i < processes; i++) await killSecondLife(i);
        assert.equal(
          await collected(processes, () => gone),
          processes,
          "every instance killed in its second life was collected",
        );
      } finally {
        await local.kernel.shutdown({ timeoutMs: 1_000 });
      }
    });
  }
});
