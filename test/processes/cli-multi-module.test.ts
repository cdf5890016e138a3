/**
 * `nx run a.wasm b.wasm ...` with modules as WebAssembly processes (issue 7), through the real
 * CLI in a child process: modules run at the same time with whole, prefixed output lines; a
 * runaway is reported at its budget without stalling the others and the command exits 1; a
 * module blocked forever is reported instead of hanging; guests spawn and message each other.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK, EXIT_RUN_FAILED } from "../../src/cli/exit-codes.ts";
import { runNx } from "../fixtures/wasm/nx-process.ts";
import { buildTestGuests, guestPath, REPO } from "./harness.ts";

let dir: string;

before(() => {
  buildTestGuests();
  dir = mkdtempSync(join(tmpdir(), "nx-processes-cli-"));
  for (const name of ["proc_printer", "proc_spin", "proc_idle"])
    copyFileSync(guestPath(name), join(dir, `${name}.wasm`));
  copyFileSync(guestPath("proc_printer"), join(dir, "other_printer.wasm"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function nxRun(args: string[]) {
  return runNx(["run", ...args, "--datastore-path", "data"], { cwd: dir, timeoutMs: 60_000 });
}

describe("nx run: modules as processes", () => {
  test("modules run at once; every output line is whole and prefixed with its module", async () => {
    const result = await nxRun(["proc_printer.wasm", "other_printer.wasm"]);
    assert.equal(result.code, EXIT_OK, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 6, result.stdout);
    for (const line of lines) assert.match(line, /^\[(proc_printer|other_printer)\] \1 line [123]$/);
    assert.ok(
      lines.indexOf("[other_printer] other_printer line 1") <
        lines.indexOf("[proc_printer] proc_printer line 3"),
      `interleaved:\n${result.stdout}`,
    );
  });

  test("a runaway module is reported at its CPU budget, the others finish, exit 1", async () => {
    const result = await nxRun(["proc_spin.wasm", "proc_printer.wasm", "--cpu-ms-per-run", "500"]);
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(
      result.stdout,
      "[proc_printer] proc_printer line 1\n[proc_printer] proc_printer line 2\n[proc_printer] proc_printer line 3\n",
    );
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("nx: error:"));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(
      errors[0]!,
      /^nx: error: proc_spin\.wasm: CPU budget exceeded after \d+ ms \(cpu_ms_per_run = 500\)/,
    );
  });

  test("a module that waits for a message no one can send is reported, not left hanging", async () => {
    const startedMs = performance.now();
    const result = await nxRun(["proc_idle.wasm"]);
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.match(
      result.stderr,
      /nx: error: proc_idle\.wasm: stopped: it waited for a message no process could send any more \(deadlock\)/,
    );
    assert.ok(performance.now() - startedMs < 30_000);
  });

  test("the ping-pong example: a guest spawns a partner process and they exchange messages", async () => {
    const result = await runNx(
      [
        "run",
        join(REPO, "examples/actors_ping_pong/build/actors_ping_pong.wasm"),
        "--datastore-path",
        "data",
      ],
      { cwd: dir, timeoutMs: 60_000 },
    );
    assert.equal(result.code, EXIT_OK, result.stderr);
    const said = result.stderr
      .split("\n")
      .flatMap((line) => /INFO +guest\.actors_ping_pong: (.*)$/.exec(line)?.slice(1) ?? []);
    assert.equal(said.length, 4, result.stderr);
    assert.match(said[0]!, /^ping \d+ spawned pong \d+$/);
    assert.deepEqual(said.slice(1), ["got pong 1", "got pong 2", "got pong 3"]);
  });
});
