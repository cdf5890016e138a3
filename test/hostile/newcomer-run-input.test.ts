/**
 * What a newcomer gets wrong when starting a syncing node, against real `nx run` child
 * processes: an address already in use (peer port, observability port) and TLS files that are
 * missing or not PEM. Each is one `nx: error:` line with the cause and a hint, exit 2 (bad
 * input before anything ran), and no stack trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_USAGE } from "../../src/cli/exit-codes.ts";
import { type NxResult, runNx } from "../fixtures/wasm/nx-process.ts";
import { writeFixture } from "../fixtures/wasm/wat-fixtures.ts";

let dir: string;
let occupied: Server;
let occupiedPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "nx-newcomer-"));
  await writeFixture(dir, "hello");
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, "127.0.0.1", resolve));
  occupiedPort = (occupied.address() as { port: number }).port;
});
after(async () => {
  await new Promise<void>((resolve) => occupied.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
function run(args: readonly string[]): Promise<NxResult> {
  runs += 1;
  return runNx(["run", "hello.wasm", "--datastore-path", `data-${runs}`, "--settle-for", "1s", ...args], {
    cwd: dir,
    timeoutMs: 30_000,
  });
}

/** Exactly one `nx: error:` line (log lines such as the --tls-insecure warning may precede it), exit 2. */
function assertUsageLine(result: NxResult, expected: string): void {
  assert.equal(result.code, EXIT_USAGE, `exit code; stderr: ${result.stderr}`);
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("nx: error:"));
  assert.deepEqual(errors, [`nx: error: ${expected}`]);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

describe("nx run: a node that cannot start is one line and exit 2", () => {
  test("--listen on a port in use", async () => {
    const address = `127.0.0.1:${occupiedPort}`;
    const result = await run(["--listen", address, "--tls-insecure"]);
    assertUsageLine(
      result,
      `cannot listen for peers on ${address}: address already in use (is another node running there?)`,
    );
  });

  test("--observability-listen on a port in use", async () => {
    const address = `127.0.0.1:${occupiedPort}`;
    const result = await run([
      "--listen",
      "127.0.0.1:0",
      "--tls-insecure",
      "--observability-listen",
      address,
    ]);
    assertUsageLine(
      result,
      `cannot open the observability endpoint on ${address}: the address is in use (set observability.listen or --observability-listen to a free address)`,
    );
  });

  test("TLS files that are missing or not PEM", async () => {
    const missing = await run([
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      "nope.crt",
      "--tls-key",
      "nope.key",
      "--tls-ca",
      "nope.crt",
    ]);
    assertUsageLine(missing, "cannot read --tls-cert nope.crt: no such file");
    writeFileSync(join(dir, "junk.pem"), "not a certificate\n");
    const junk = await run([
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      "junk.pem",
      "--tls-key",
      "junk.pem",
      "--tls-ca",
      "junk.pem",
    ]);
    assertUsageLine(junk, "--tls-cert junk.pem is not a PEM certificate");
  });
});

describe("a device given as an input file is refused at once, not read without end", () => {
  const refusal = "is not a regular file (a device, pipe or socket cannot be read as one)";

  test("nx run /dev/zero", async () => {
    const result = await runNx(["run", "/dev/zero"], { cwd: dir, timeoutMs: 30_000 });
    assertUsageLine(result, `module /dev/zero cannot be read: ${refusal}`);
  });

  test("nx config validate --config /dev/zero", async () => {
    const result = await runNx(["config", "validate", "--config", "/dev/zero", "--json"], {
      cwd: dir,
      timeoutMs: 30_000,
    });
    assert.equal(result.code, EXIT_USAGE, `exit code; stderr: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(refusal.replace(/[()]/g, "\\$&")));
  });

  test("nx cert id /dev/zero", async () => {
    const result = await runNx(["cert", "id", "/dev/zero"], { cwd: dir, timeoutMs: 30_000 });
    assertUsageLine(result, `cannot read certificate /dev/zero: ${refusal}`);
  });

  test("--tls-cert /dev/zero", async () => {
    const result = await run([
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      "/dev/zero",
      "--tls-key",
      "/dev/zero",
      "--tls-ca",
      "/dev/zero",
    ]);
    assertUsageLine(result, `cannot read --tls-cert /dev/zero: ${refusal}`);
  });
});
