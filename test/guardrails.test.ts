/**
 * Hostile guests are contained while the node keeps serving: a runaway loop stops at its CPU
 * budget (and the event loop keeps turning meanwhile), a memory bomb stops at the cap, unbounded
 * recursion ends as a clean trap. In process (to watch the event loop) and through `nx run`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK, EXIT_RUN_FAILED } from "../src/cli/exit-codes.ts";
import { fixtureGuest } from "./fixtures/wasm/guest-runtime.ts";
import { runNx, withoutWarnRecord } from "./fixtures/wasm/nx-process.ts";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-guardrails-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const MIB = 1024 * 1024;

describe("runaway guest", () => {
  test("stops at its CPU budget while timers keep firing", async () => {
    const { guest } = await fixtureGuest("spin", { cpuMsPerRun: 600 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const startedMs = performance.now();
    const result = await guest.run();
    const elapsedMs = performance.now() - startedMs;
    clearInterval(ticker);

    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, "cpu_budget");
    assert.match(
      result.failure.message,
      /^CPU budget exceeded after \d+ ms \(cpu_ms_per_run = 600\) in function spin$/,
    );
    assert.equal(result.failure.functionName, "spin");
    // Wall-clock accounting: a busy machine can deschedule the process between two checks.
    assert.ok(
      guest.governor.usedMs >= 600 && guest.governor.usedMs < 1600,
      `used ${guest.governor.usedMs} ms`,
    );
    // A blocked event loop would fire the interval at most once; a serving one fires it about
    // every slice. The bound is loose: on a shared machine loaded 30 it fired 14 times.
    assert.ok(ticks >= 5, `interval fired ${ticks} times in ${Math.round(elapsedMs)} ms`);
    assert.ok(guest.governor.yields >= 20, `guest yielded ${guest.governor.yields} times`);
  });

  test("does not stall another guest running at the same time", async () => {
    const { guest: runaway } = await fixtureGuest("spin", { cpuMsPerRun: 2000 });
    const { guest: polite, env } = await fixtureGuest("hello");
    const runawayDone = runaway.run();
    const politeResult = await polite.run();
    const politeDoneMs = performance.now();
    const runawayResult = await runawayDone;
    const runawayDoneMs = performance.now();
    assert.ok(politeResult.ok);
    assert.equal(env.written.stdout, "hello from guest\n");
    assert.equal(runawayResult.ok ? "ok" : runawayResult.failure.kind, "cpu_budget");
    assert.ok(
      runawayDoneMs - politeDoneMs > 1000,
      "the polite guest finished long before the runaway's budget ran out",
    );
  });

  test("kill ends a computing guest at its next fuel check", async () => {
    const { guest } = await fixtureGuest("spin");
    const running = guest.run();
    setTimeout(() => guest.kill("shutdown"), 50);
    const result = await running;
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, "killed");
    assert.equal(result.failure.message, "guest stopped: shutdown");
    const again = await guest.run();
    assert.ok(!again.ok, "a stopped instance does not run again");
  });

  test("nx run: one line naming the budget and the function, exit 1", async () => {
    await writeFixture(dir, "spin");
    const result = await runNx(["run", "spin.wasm", "--cpu-ms-per-run", "300", "--datastore-path", "data"], {
      cwd: dir,
    });
    assert.equal(result.code, EXIT_RUN_FAILED);
    const match =
      /^nx: error: spin\.wasm: CPU budget exceeded after (\d+) ms \(cpu_ms_per_run = 300\) in function spin\n$/.exec(
        withoutWarnRecord(result.stderr),
      );
    assert.ok(match !== null, result.stderr);
    assert.ok(Number(match[1]) >= 300, "stopped at, not before, its budget");
  });

  test("nx run: SIGTERM stops a runaway guest without a budget and exits promptly", async () => {
    await writeFixture(dir, "print-then-spin");
    let signalledAtMs: number | undefined;
    const args = ["run", "print-then-spin.wasm", "--datastore-path", "data", "--shutdown-timeout", "5s"];
    const result = await runNx(args, {
      cwd: dir,
      onStdout: (text, pid) => {
        if (signalledAtMs !== undefined || !text.includes("spinning")) return;
        signalledAtMs = Number.POSITIVE_INFINITY;
        // The signal must reach a process whose guest is computing: give it a moment first.
        setTimeout(() => {
          signalledAtMs = performance.now();
          process.kill(pid, "SIGTERM");
        }, 200);
      },
    });
    assert.equal(result.signal, null, "the process handled the signal");
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(result.stdout, "spinning\n");
    assert.equal(
      withoutWarnRecord(result.stderr),
      "nx: error: print-then-spin.wasm: guest stopped: interrupted by SIGTERM\n",
    );
    const afterSignalMs = result.exitAtMs - (signalledAtMs ?? 0);
    assert.ok(afterSignalMs < 4000, `exited ${Math.round(afterSignalMs)} ms after SIGTERM`);
  });
});

describe("memory bomb", () => {
  test("memory.grow past the cap answers -1 inside the guest", async () => {
    const { guest, env } = await fixtureGuest("grow-until-refused", { memoryMaxBytes: 4 * MIB });
    const result = await guest.run();
    assert.ok(result.ok);
    assert.equal(env.written.stdout, "memory.grow refused\n");
    assert.equal(guest.memory.buffer.byteLength, 4 * MIB);
  });

  test("a guest that traps on the refused grow is reported as reaching the cap", async () => {
    const { guest } = await fixtureGuest("memory-bomb", { memoryMaxBytes: 8 * MIB });
    const result = await guest.run();
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, "memory_cap");
    assert.equal(
      result.failure.message,
      "memory cap of 8 MiB reached (memory_max_mb): guest trapped: unreachable executed in function grow_forever",
    );
  });

  test("nx run --memory-max-mb: one line, exit 1", async () => {
    await writeFixture(dir, "memory-bomb");
    const result = await runNx(
      ["run", "memory-bomb.wasm", "--memory-max-mb", "8", "--datastore-path", "data"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(
      withoutWarnRecord(result.stderr),
      "nx: error: memory-bomb.wasm: memory cap of 8 MiB reached (memory_max_mb): guest trapped: unreachable executed in function grow_forever\n",
    );
  });

  test("a guest that stops below the cap, its last grow refused, is reported as reaching the cap", async () => {
    // 8 MiB is 128 pages: from 1 page in steps of 3 the memory stops at 127, and the next grow is refused.
    const { guest } = await fixtureGuest("memory-bomb-chunks", { memoryMaxBytes: 8 * MIB });
    const result = await guest.run();
    assert.ok(!result.ok);
    assert.equal(guest.memory.buffer.byteLength, 127 * 64 * 1024);
    assert.equal(result.failure.kind, "memory_cap");
    assert.equal(
      result.failure.message,
      "memory cap of 8 MiB reached (memory_max_mb): guest trapped: unreachable executed in function grow_in_chunks",
    );
  });

  test("nx run: below the cap, one line naming the cap, exit 1", async () => {
    await writeFixture(dir, "memory-bomb-chunks");
    const result = await runNx(
      ["run", "memory-bomb-chunks.wasm", "--memory-max-mb", "8", "--datastore-path", "data"],
      { cwd: dir },
    );
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(
      withoutWarnRecord(result.stderr),
      "nx: error: memory-bomb-chunks.wasm: memory cap of 8 MiB reached (memory_max_mb): guest trapped: unreachable executed in function grow_in_chunks\n",
    );
    assert.match(
      result.stderr,
      / WARN {2}wasm: guest failed module=memory-bomb-chunks function=grow_in_chunks kind=memory_cap\n/,
    );
  });

  test("the default cap is 256 MiB", async () => {
    await writeFixture(dir, "grow-until-refused");
    const result = await runNx(["run", "grow-until-refused.wasm", "--datastore-path", "data"], { cwd: dir });
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "memory.grow refused\n");
  });
});

describe("unbounded recursion", () => {
  test("ends as a stack-overflow trap, and the runtime goes on running guests", async () => {
    const { guest } = await fixtureGuest("recursion");
    const result = await guest.run();
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, "stack_overflow");
    assert.equal(result.failure.message, "guest trapped: stack overflow (call depth) in function recurse");
    const { guest: next, env } = await fixtureGuest("hello");
    assert.ok((await next.run()).ok);
    assert.equal(env.written.stdout, "hello from guest\n");
  });

  test("nx run: one line, exit 1, no crash", async () => {
    await writeFixture(dir, "recursion");
    const result = await runNx(["run", "recursion.wasm", "--datastore-path", "data"], { cwd: dir });
    assert.equal(result.signal, null);
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(
      withoutWarnRecord(result.stderr),
      "nx: error: recursion.wasm: guest trapped: stack overflow (call depth) in function recurse\n",
    );
  });
});
