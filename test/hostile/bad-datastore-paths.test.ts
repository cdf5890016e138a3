/**
 * A datastore path a newcomer might pass that cannot be used: `nx run` (a real child process)
 * answers each with one `nx: error:` line and exit 2, at once (an uncreatable path under /proc
 * used to spin a core forever), and with no stack trace.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK, EXIT_USAGE } from "../../src/cli/exit-codes.ts";
import { type NxResult, runNx } from "../fixtures/wasm/nx-process.ts";
import { writeFixture } from "../fixtures/wasm/wat-fixtures.ts";

/** Each case must fail at once: the spinning bug never exited at all. */
const EXIT_WITHIN_MS = 20_000;

let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "nx-bad-datastore-"));
  // Readable by the unprivileged user of the permission cases.
  chmodSync(dir, 0o755);
  // db-write imports the store: the LMDB environment is opened, not only the directory created.
  await writeFixture(dir, "db-write");
  await writeFixture(dir, "db-read");
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runWithDatastore(
  datastore: string,
  prefix?: readonly string[],
  module = "db-write.wasm",
): Promise<NxResult> {
  return runNx(["run", module, "--datastore-path", datastore], {
    cwd: dir,
    timeoutMs: EXIT_WITHIN_MS,
    prefix,
  });
}

function assertUsageLine(result: NxResult, expected: string | RegExp): void {
  assert.equal(result.code, EXIT_USAGE, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`);
  if (typeof expected === "string") assert.equal(lines[0], `nx: error: ${expected}`);
  else assert.match(lines[0]!, expected);
  assert.equal(result.stdout, "", "nothing ran");
}

const isRoot = process.getuid?.() === 0;
const canMount = isRoot && spawnSync("unshare", ["-m", "true"]).status === 0;
const canDropPrivileges = isRoot && spawnSync("setpriv", ["--reuid=65534", "true"]).status === 0;

/** Runs node as `nobody`: root would pass every permission check. */
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

/** Runs node with `$1` mounted read-only (a fresh tmpfs, or the directory itself bound read-only). */
function readOnly(mountPoint: string, what: "empty tmpfs" | "bind"): string[] {
  const mount =
    what === "empty tmpfs"
      ? 'mount -t tmpfs -o ro tmpfs "$1"'
      : 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"';
  return ["unshare", "-m", "sh", "-c", `${mount} && shift && exec "$@"`, "sh", mountPoint];
}

describe("nx run: a datastore path that cannot be used is one line and exit 2", () => {
  test("under /proc, where mkdir answers ENOENT: no spin", {
    skip: process.platform !== "linux",
  }, async () => {
    const result = await runWithDatastore("/proc/numax-data");
    assertUsageLine(
      result,
      "cannot create datastore /proc/numax-data: this file system does not allow creating directories (choose a directory on a disk, e.g. ./nx-data)",
    );
  });

  test("a file", async () => {
    writeFileSync(join(dir, "a-file"), "");
    const result = await runWithDatastore("a-file");
    assertUsageLine(
      result,
      `datastore path ${join(dir, "a-file")} is a file, not a directory: pass a directory (it is created when missing)`,
    );
  });

  test("below a file", async () => {
    writeFileSync(join(dir, "file-parent"), "");
    const result = await runWithDatastore("file-parent/data");
    assertUsageLine(
      result,
      `cannot open datastore ${join(dir, "file-parent/data")}: a part of the path is a file, not a directory`,
    );
  });

  test("a directory the user may not write", { skip: !canDropPrivileges }, async () => {
    mkdirSync(join(dir, "locked"), { mode: 0o755 });
    const result = await runWithDatastore("locked/data", AS_NOBODY);
    assertUsageLine(
      result,
      `cannot create datastore ${join(dir, "locked/data")}: permission denied (check the directory's owner and mode)`,
    );
  });

  test("an existing store the user may not write", { skip: !canDropPrivileges }, async () => {
    const created = await runWithDatastore("owned-by-root");
    assert.equal(created.code, EXIT_OK, created.stderr);
    const result = await runWithDatastore("owned-by-root", AS_NOBODY);
    assertUsageLine(
      result,
      `cannot open datastore ${join(dir, "owned-by-root/store")}: permission denied (the node needs to write there: check the directory's owner and mode)`,
    );
  });

  test("on a read-only mount", { skip: !canMount }, async () => {
    const mountPoint = join(dir, "ro-empty");
    mkdirSync(mountPoint);
    const result = await runWithDatastore(join(mountPoint, "data"), readOnly(mountPoint, "empty tmpfs"));
    assertUsageLine(
      result,
      `cannot create datastore ${join(mountPoint, "data")}: the file system is read-only (choose a writable directory)`,
    );
  });

  test("an existing store on a read-only mount", { skip: !canMount }, async () => {
    const mountPoint = join(dir, "ro-store");
    mkdirSync(mountPoint);
    const created = await runWithDatastore(join(mountPoint, "data"));
    assert.equal(created.code, EXIT_OK, created.stderr);
    // A module the datastore's module cache has not seen: the cache would write it there first.
    const result = await runWithDatastore(
      join(mountPoint, "data"),
      readOnly(mountPoint, "bind"),
      "db-read.wasm",
    );
    assertUsageLine(
      result,
      `cannot open datastore ${join(mountPoint, "data/store")}: the file system is read-only (choose a writable directory)`,
    );
  });
});
