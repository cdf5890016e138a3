/**
 * `nx run` as users meet it: real child processes of `node bin/nx.js run`, each error path with
 * its exact one-line message and exit code, guest output passing through as it is written,
 * persistence across runs and the module cache.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from "../src/cli/exit-codes.ts";
import { type NxResult, runNx, withoutWarnRecord } from "./fixtures/wasm/nx-process.ts";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-cli-run-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** `nx run <fixture>.wasm` in the test directory, with its own datastore. */
async function runFixture(
  name: string,
  extra: readonly string[] = [],
  datastore = `data-${name}`,
): Promise<NxResult> {
  await writeFixture(dir, name);
  return runNx(["run", `${name}.wasm`, "--datastore-path", datastore, ...extra], { cwd: dir });
}

/** The failure contract: exactly one `nx: error:` line on stderr, no stack trace, the exit code. */
function assertOneErrorLine(result: NxResult, expected: string | RegExp, exitCode: number): void {
  assert.equal(result.code, exitCode, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`);
  const line = lines[0]!;
  if (typeof expected === "string") assert.equal(line, `nx: error: ${expected}`);
  else assert.match(line, expected);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

describe("nx run: success", () => {
  test("guest stdout and stderr pass through unchanged; exit 0", async () => {
    const result = await runFixture("hello");
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "hello from guest\n");
    assert.equal(result.stderr, "a line on stderr\n");
  });

  test("a start function runs once, before run", async () => {
    const result = await runFixture("start-function");
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "from start\nfrom run\n");
  });

  test("proc_exit(0) is a normal end", async () => {
    const result = await runFixture("proc-exit-zero");
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "before exit\n");
    assert.equal(result.stderr, "");
  });

  test("a line reaches stdout while the guest is still computing", async () => {
    await writeFixture(dir, "stream-then-spin");
    const result = await runNx(["run", "stream-then-spin.wasm", "--datastore-path", "data-stream"], {
      cwd: dir,
      marker: "first line\n",
    });
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "first line\nlast line\n");
    assert.ok(result.markerAtMs !== undefined);
    // The guest computes 1.5 s after printing; buffered output would arrive with the exit.
    assert.ok(
      result.exitAtMs - result.markerAtMs > 1000,
      `first line ${result.exitAtMs - result.markerAtMs} ms before exit`,
    );
  });

  test("several modules run in order, each output line prefixed with its module", async () => {
    await writeFixture(dir, "hello");
    await writeFixture(dir, "start-function");
    const result = await runNx(
      ["run", "hello.wasm", "start-function.wasm", "--datastore-path", "data-multi"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(
      result.stdout,
      "[hello] hello from guest\n[start-function] from start\n[start-function] from run\n",
    );
    assert.equal(result.stderr, "[hello] a line on stderr\n");
  });

  test("one failing module among several: the others run, one line names it, exit 1", async () => {
    await writeFixture(dir, "hello");
    await writeFixture(dir, "trap-unreachable");
    const result = await runNx(
      ["run", "trap-unreachable.wasm", "hello.wasm", "--datastore-path", "data-multi2"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.stdout, "[hello] hello from guest\n");
    assert.equal(result.code, EXIT_RUN_FAILED);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("nx: error:"));
    assert.deepEqual(errors, [
      "nx: error: trap-unreachable.wasm: guest trapped: unreachable executed in function give_up",
    ]);
  });
});

describe("nx run: settings", () => {
  test("limits come from the config file; a flag overrides the file", async () => {
    await writeFixture(dir, "spin");
    writeFileSync(join(dir, "limits.toml"), "[limits]\ncpu_ms_per_run = 200\n");
    const fromFile = await runNx(
      ["run", "spin.wasm", "--config", "limits.toml", "--datastore-path", "data-cfg"],
      {
        cwd: dir,
      },
    );
    assert.equal(fromFile.code, EXIT_RUN_FAILED);
    assert.match(
      withoutWarnRecord(fromFile.stderr),
      /^nx: error: spin\.wasm: CPU budget exceeded after \d+ ms \(cpu_ms_per_run = 200\)/,
    );
    const args = [
      "run",
      "spin.wasm",
      "--config",
      "limits.toml",
      "--cpu-ms-per-run",
      "300",
      "--datastore-path",
      "data-cfg",
    ];
    const fromFlag = await runNx(args, { cwd: dir });
    assert.match(fromFlag.stderr, /\(cpu_ms_per_run = 300\)/);
  });

  test("an invalid limit is a usage error", async () => {
    await writeFixture(dir, "hello");
    const result = await runNx(["run", "hello.wasm", "--memory-max-mb", "lots"], { cwd: dir });
    assert.equal(result.code, EXIT_USAGE);
    // The configuration layer lists every problem, one line each, after its summary line.
    assert.match(
      result.stderr,
      /^nx: error: invalid configuration [^\n]*\n {2}limits\.memory_max_mb \(--memory-max-mb\): /,
    );
    assert.equal(result.stdout, "");
  });

  test("-v raises the log level to debug", async () => {
    await writeFixture(dir, "hello");
    const result = await runNx(["run", "hello.wasm", "-v", "--datastore-path", "data-verbose"], { cwd: dir });
    assert.equal(result.code, EXIT_OK);
    assert.match(result.stderr, /DEBUG/);
  });
});

describe("nx run: the store persists across runs", () => {
  test("a value written by one run is read by the next", async () => {
    await writeFixture(dir, "db-write");
    await writeFixture(dir, "db-read");
    const before = await runNx(["run", "db-read.wasm", "--datastore-path", "data-persist"], { cwd: dir });
    assert.equal(before.stdout, "missing\n", before.stderr);
    const write = await runNx(["run", "db-write.wasm", "--datastore-path", "data-persist"], { cwd: dir });
    assert.equal(write.code, EXIT_OK, write.stderr);
    const read = await runNx(["run", "db-read.wasm", "--datastore-path", "data-persist"], { cwd: dir });
    assert.equal(read.code, EXIT_OK, read.stderr);
    assert.equal(read.stdout, "hello, store\n");
  });
});

describe("nx run: module cache", () => {
  test("the second run of a module skips instrumentation and reuses the cache file", async () => {
    await writeFixture(dir, "hello");
    const args = ["run", "hello.wasm", "--datastore-path", "data-cache", "--log-level", "debug"];
    const first = await runNx(args, { cwd: dir });
    assert.equal(first.code, EXIT_OK, first.stderr);
    assert.match(first.stderr, /module instrumented/);
    const { readdirSync } = await import("node:fs");
    const cacheDir = join(dir, "data-cache", "module-cache");
    const files = readdirSync(cacheDir).filter((name) => name.endsWith(".wasm"));
    assert.equal(files.length, 1);
    const mtimeMs = statSync(join(cacheDir, files[0]!)).mtimeMs;

    const second = await runNx(args, { cwd: dir });
    assert.equal(second.code, EXIT_OK, second.stderr);
    assert.equal(second.stdout, "hello from guest\n");
    assert.match(second.stderr, /module cache hit \(disk\): instrumentation skipped/);
    assert.doesNotMatch(second.stderr, /module instrumented/);
    assert.equal(statSync(join(cacheDir, files[0]!)).mtimeMs, mtimeMs, "cache file not rewritten");
  });

  test("a corrupt cache file is replaced, not fatal", async () => {
    await writeFixture(dir, "hello");
    const args = ["run", "hello.wasm", "--datastore-path", "data-corrupt", "--log-level", "debug"];
    assert.equal((await runNx(args, { cwd: dir })).code, EXIT_OK);
    const { readdirSync } = await import("node:fs");
    const cacheDir = join(dir, "data-corrupt", "module-cache");
    const file = join(cacheDir, readdirSync(cacheDir)[0]!);
    writeFileSync(file, "garbage");
    const result = await runNx(args, { cwd: dir });
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.equal(result.stdout, "hello from guest\n");
    assert.match(result.stderr, /module cache entry is corrupt; instrumenting again/);
    assert.match(result.stderr, /module instrumented/);
  });
});

describe("nx run: a module that cannot load is one line and exit 2", () => {
  test("missing file", async () => {
    const result = await runNx(["run", "absent.wasm", "--datastore-path", "data-x"], { cwd: dir });
    assertOneErrorLine(result, "module absent.wasm not found", EXIT_USAGE);
  });

  test("not WebAssembly", async () => {
    writeFileSync(join(dir, "notes.txt"), "just some text\n");
    const result = await runNx(["run", "notes.txt", "--datastore-path", "data-x"], { cwd: dir });
    assertOneErrorLine(
      result,
      "module notes.txt is not a WebAssembly module (it does not start with the \\0asm magic number)",
      EXIT_USAGE,
    );
  });

  test("WebAssembly text instead of a binary", async () => {
    writeFileSync(join(dir, "text.wasm"), '(module (func (export "run")))\n');
    const result = await runNx(["run", "text.wasm", "--datastore-path", "data-x"], { cwd: dir });
    assertOneErrorLine(
      result,
      "module text.wasm is WebAssembly text (.wat), not a binary module: compile it first (for example with wat2wasm)",
      EXIT_USAGE,
    );
  });

  test("invalid module: the validator's reason", async () => {
    // magic, version, then a type section claiming 5 bytes with only 1 present
    writeFileSync(join(dir, "broken.wasm"), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1]));
    const result = await runNx(["run", "broken.wasm", "--datastore-path", "data-x"], { cwd: dir });
    assertOneErrorLine(
      result,
      /^nx: error: module broken\.wasm is not a valid WebAssembly module: .+/,
      EXIT_USAGE,
    );
  });

  test("no run export", async () => {
    const result = await runFixture("no-run", [], "data-x");
    assertOneErrorLine(
      result,
      'module no-run.wasm does not export a function named "run" (a Numax guest exports run: () -> (), its entry point, ' +
        "the callbacks of a reactive module such as init and on_tick: see docs/reactive-modules.md, " +
        "or routes, the default routes of a module that only serves: see docs/serving.md)",
      EXIT_USAGE,
    );
  });

  test("no exported memory", async () => {
    const result = await runFixture("no-memory", [], "data-x");
    assertOneErrorLine(
      result,
      'module no-memory.wasm does not export its memory as "memory" (host functions read and write guest memory through it)',
      EXIT_USAGE,
    );
  });

  test("unknown nx import is named", async () => {
    const result = await runFixture("unknown-nx-import", [], "data-x");
    assertOneErrorLine(
      result,
      "module unknown-nx-import.wasm has an unknown import nx.teleport: no such function in module nx",
      EXIT_USAGE,
    );
  });

  test("a C-style import from env gets the import_module hint", async () => {
    const result = await runFixture("env-import", [], "data-x");
    assertOneErrorLine(
      result,
      'module env-import.wasm has an unknown import env.db_get: host functions are imported from module "nx", ' +
        'not "env" (in C: __attribute__((import_module("nx"))), as sdk/c/nx.h declares them)',
      EXIT_USAGE,
    );
  });

  test("an nx import with the wrong type", async () => {
    const result = await runFixture("bad-import-type", [], "data-x");
    assertOneErrorLine(
      result,
      "module bad-import-type.wasm imports nx.db_get as (i32) -> i32, but it is (i32, i32, i32, i32) -> i32",
      EXIT_USAGE,
    );
  });

  test("initial memory above the cap", async () => {
    const result = await runFixture("big-memory", ["--memory-max-mb", "1"], "data-x");
    assertOneErrorLine(
      result,
      "module big-memory.wasm needs 2 MiB of initial memory, above the memory cap of 1 MiB " +
        "(raise it with --memory-max-mb or memory_max_mb)",
      EXIT_USAGE,
    );
  });

  test("an invalid flag value", async () => {
    await writeFixture(dir, "hello");
    const result = await runNx(["run", "hello.wasm", "--shutdown-timeout", "soon"], { cwd: dir });
    assertOneErrorLine(result, /^nx: error: --shutdown-timeout: invalid duration "soon": /, EXIT_USAGE);
  });
});

describe("nx run: a datastore that cannot be used is one line and exit 2", () => {
  test("datastore path is a file", async () => {
    await writeFixture(dir, "hello");
    writeFileSync(join(dir, "not-a-dir"), "");
    const result = await runNx(["run", "hello.wasm", "--datastore-path", "not-a-dir"], { cwd: dir });
    assertOneErrorLine(
      result,
      `datastore path ${join(dir, "not-a-dir")} is a file, not a directory: pass a directory (it is created when missing)`,
      EXIT_USAGE,
    );
    assert.equal(result.stdout, "", "nothing ran");
  });
});

describe("nx run: a failing guest is one nx: error line (after its warn record) and exit 1", () => {
  const cases: readonly (readonly [fixture: string, line: string])[] = [
    ["trap-divide", "trap-divide.wasm: guest trapped: integer divide by zero in function average"],
    ["trap-unreachable", "trap-unreachable.wasm: guest trapped: unreachable executed in function give_up"],
    [
      "trap-out-of-bounds",
      "trap-out-of-bounds.wasm: guest trapped: out-of-bounds memory access in function store_far",
    ],
    [
      "as-abort",
      "as-abort.wasm: guest aborted: boom: invariant broken (at assembly/index.ts:7:3) in function check",
    ],
    ["nx-abort", "nx-abort.wasm: guest aborted: quota exhausted in function run"],
    ["proc-exit", "proc-exit.wasm: guest exited with code 3"],
  ];
  for (const [fixture, line] of cases) {
    test(fixture, async () => {
      const result = await runFixture(fixture, [], "data-fail");
      assert.equal(result.stdout, "");
      assertOneErrorLine({ ...result, stderr: withoutWarnRecord(result.stderr) }, line, EXIT_RUN_FAILED);
    });
  }
});
