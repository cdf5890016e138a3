/**
 * runGuestProcesses: several modules at once as WebAssembly processes under one supervisor,
 * with their output kept line by line, failures reported per module, a runaway that never
 * stalls the others, and an orderly end (interrupt, leftover children).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { createKernel } from "../../src/kernel/index.ts";
import { type GuestProcessResult, runGuestProcesses } from "../../src/node/guest-processes.ts";
import { MODULE_RESTART_WINDOW_MS, MODULE_RESTARTS_MAX } from "../../src/node/module-restart-intensity.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { type GuestModule, loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { compileWat } from "../abi/harness.ts";
import { type Captured, guestPath, loadTestGuest, MIB, testEnvironment } from "./harness.ts";

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });

function load(bytes: Uint8Array, label: string): Promise<GuestModule> {
  return loadGuestModuleBytes(bytes, label, { memoryMaxBytes: 16 * MIB, cache, logger: silentLogger });
}

let printer: GuestModule;
let printer2: GuestModule;
let spin: GuestModule;
let idle: GuestModule;
let trapper: GuestModule;
let spawner: GuestModule;

before(async () => {
  printer = await loadTestGuest("proc_printer");
  // The same code under another name: a second module id.
  printer2 = await load(readFileSync(guestPath("proc_printer")), "other_printer.wasm");
  spin = await loadTestGuest("proc_spin");
  idle = await loadTestGuest("proc_idle");
  trapper = await load(
    await compileWat(
      `(module (memory (export "memory") 1) (func $boom unreachable) (func (export "run") call $boom))`,
    ),
    "trapper.wasm",
  );
  // run spawns its own module's `park` entry (which waits forever) and returns at once.
  spawner = await load(
    await compileWat(`(module
      (import "nx" "proc_spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "nx" "proc_receive" (func $recv (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "park")
      (func (export "run") (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 4)
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))
      (func (export "park") (drop (call $recv (i32.const 64) (i32.const 256) (i32.const -1)))))`),
    "spawner.wasm",
  );
});

function run(
  modules: GuestModule[],
  extra: Partial<Parameters<typeof runGuestProcesses>[1]> = {},
): { captured: Captured; done: ReturnType<typeof runGuestProcesses>; exits: GuestProcessResult[] } {
  const captured: Captured = { stdout: "", stderr: "" };
  const text = new TextDecoder();
  const exits: GuestProcessResult[] = [];
  const done = runGuestProcesses(modules, {
    environment: (module) => testEnvironment(module, captured),
    logger: silentLogger,
    cpuMsPerRun: undefined,
    stdout: { write: (chunk) => (captured.stdout += typeof chunk === "string" ? chunk : text.decode(chunk)) },
    stderr: { write: (chunk) => (captured.stderr += typeof chunk === "string" ? chunk : text.decode(chunk)) },
    onModuleExit: (result) => exits.push(result),
    ...extra,
  });
  return { captured, done, exits };
}

describe("runGuestProcesses", () => {
  test("one module: its output passes through unprefixed", async () => {
    const { captured, done } = run([printer]);
    const outcome = await done;
    assert.equal(outcome.ok, true);
    assert.equal(captured.stdout, "proc_printer line 1\nproc_printer line 2\nproc_printer line 3\n");
    assert.equal(outcome.results[0]!.message, "ended normally");
  });

  test("several modules run at once; their lines interleave whole, prefixed with the module name", async () => {
    const { captured, done } = run([printer, printer2]);
    const outcome = await done;
    assert.equal(outcome.ok, true);
    const lines = captured.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 6);
    for (const line of lines) {
      assert.match(line, /^\[(proc_printer|other_printer)\] \1 line [123]$/, "every line whole and prefixed");
    }
    const a = lines.filter((line) => line.startsWith("[proc_printer]"));
    assert.deepEqual(
      a,
      [1, 2, 3].map((i) => `[proc_printer] proc_printer line ${i}`),
      "each module in order",
    );
    const firstOfB = lines.indexOf("[other_printer] other_printer line 1");
    const lastOfA = lines.indexOf("[proc_printer] proc_printer line 3");
    assert.ok(firstOfB < lastOfA, `the modules ran at the same time:\n${captured.stdout}`);
  });

  test("a runaway module never stalls the others; it is reported at its CPU budget, and the outcome fails", async () => {
    const { done, exits } = run([spin, printer], { cpuMsPerRun: 400 });
    const outcome = await done;
    assert.equal(outcome.ok, false);
    assert.deepEqual(
      exits.map((r) => r.module.moduleId),
      ["proc_printer", "proc_spin"],
      "the printer finished while the runaway ran",
    );
    const [spun, printed] = outcome.results;
    assert.equal(printed!.ok, true);
    assert.equal(spun!.ok, false);
    assert.equal(spun!.failure?.kind, "cpu_budget");
    assert.match(spun!.message, /^CPU budget exceeded after \d+ ms \(cpu_ms_per_run = 400\)/);
    assert.ok(spun!.cpuMs >= 400);
  });

  test("a trapping module is reported with its trap and not restarted", async () => {
    const { done, exits } = run([trapper, printer]);
    const outcome = await done;
    assert.equal(outcome.ok, false);
    assert.equal(outcome.results[0]!.failure?.kind, "unreachable");
    assert.equal(outcome.results[0]!.message, "guest trapped: unreachable executed in function #0");
    assert.equal(outcome.results[1]!.ok, true);
    assert.equal(exits.length, 2, "one result per module: no restart");
  });

  test("aborting the signal stops the modules that still run", async () => {
    const controller = new AbortController();
    // Once printer has ended, idle is the module that still runs.
    const onModuleExit = (result: GuestProcessResult) => {
      if (result.module === printer) controller.abort("interrupted by SIGINT");
    };
    const { done } = run([idle, printer], { signal: controller.signal, onModuleExit });
    const outcome = await done;
    assert.equal(outcome.ok, false);
    assert.equal(outcome.results[0]!.reason, "shutdown");
    assert.equal(outcome.results[0]!.message, "guest stopped: interrupted by SIGINT");
    assert.equal(outcome.results[1]!.ok, true);
  });

  test("processes a module leaves running are stopped once every module has ended", async () => {
    const kernel = createKernel();
    const { done } = run([spawner], { kernel });
    const outcome = await done;
    assert.equal(outcome.ok, true);
    assert.deepEqual(
      kernel.processes().filter((p) => p.kind === "wasm"),
      [],
      "the parked child was stopped",
    );
    assert.equal(kernel.stats().processCount, 0);
    await kernel.shutdown();
  });

  test("restart = transient: a trapping module is started again until given up; the others and a clean end are untouched", async () => {
    const crashes: GuestProcessResult[] = [];
    const restartOf = (module: GuestModule) => (module === printer2 ? undefined : ("transient" as const));
    const { done, captured } = run([trapper, printer, printer2], {
      restartOf,
      onModuleCrash: (result) => crashes.push(result),
    });
    const outcome = await done;
    assert.equal(outcome.ok, false);
    const [trapped, printed, other] = outcome.results;
    assert.match(
      trapped!.message,
      new RegExp(
        `^given up after more than ${MODULE_RESTARTS_MAX} restarts within ${MODULE_RESTART_WINDOW_MS} ms; last crash: guest trapped: unreachable`,
      ),
    );
    assert.equal(trapped!.failure?.kind, "unreachable");
    assert.equal(crashes.length, MODULE_RESTARTS_MAX + 1, "every crash but the last was restarted");
    // transient: a module that ended normally is not run again.
    assert.equal(printed!.ok, true);
    assert.equal(other!.ok, true);
    assert.equal(captured.stdout.match(/\[proc_printer\] proc_printer line 1/g)?.length, 1);
  });

  test("restart = permanent: a module is started again after a normal end too, until given up", async () => {
    const { done, captured } = run([printer, printer2], {
      restartOf: (module) => (module === printer ? "permanent" : undefined),
    });
    const outcome = await done;
    assert.equal(outcome.results[0]!.ok, false);
    assert.match(
      outcome.results[0]!.message,
      /^given up after more than \d+ restarts within \d+ ms; last crash: ended normally$/,
    );
    assert.equal(
      captured.stdout.match(/\[proc_printer\] proc_printer line 1/g)?.length,
      MODULE_RESTARTS_MAX + 1,
    );
    assert.equal(outcome.results[1]!.ok, true);
  });

  test("a module its supervisor restarts still stops when the run is interrupted", async () => {
    const controller = new AbortController();
    const { done } = run([idle], { signal: controller.signal, restartOf: () => "permanent" });
    setTimeout(() => controller.abort("interrupted by SIGINT"), 50);
    const outcome = await done;
    assert.equal(outcome.results[0]!.message, "guest stopped: interrupted by SIGINT");
  });

  test("no modules: nothing to do", async () => {
    assert.deepEqual(await run([]).done, { ok: true, results: [] });
  });
});
