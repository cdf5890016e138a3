import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { inputFileFailureReason, readInputFile } from "./read-input-file.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-read-input-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function failureCode(path: string, sizeBytesMax: number): string | undefined {
  try {
    readInputFile(path, sizeBytesMax);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
  return undefined;
}

describe("readInputFile", () => {
  test("reads a regular file whole, up to and including the limit", () => {
    const path = join(dir, "exact");
    const bytes = Buffer.from("0123456789");
    writeFileSync(path, bytes);
    assert.deepEqual(readInputFile(path, 10), bytes);
    assert.equal(failureCode(path, 9), "EFBIG");
    assert.equal(
      inputFileFailureReason({ code: "EFBIG" }, 1024 * 1024),
      "is larger than 1 MiB, the most accepted",
    );
  });

  test("reads a file larger than one chunk", () => {
    const path = join(dir, "large");
    const bytes = Buffer.alloc(200_000, 7);
    writeFileSync(path, bytes);
    assert.deepEqual(readInputFile(path, 300_000), bytes);
  });

  test("a procfs file (st_size 0) is read to its end", () => {
    assert.match(readInputFile("/proc/self/status", 1024 * 1024).toString(), /^Name:/);
  });

  test("a device that never ends is refused without reading it", () => {
    assert.equal(failureCode("/dev/zero", 1024), "ENOTREG");
  });

  test("a FIFO with no writer is refused at once instead of blocking", () => {
    const path = join(dir, "fifo");
    execFileSync("mkfifo", [path]);
    assert.equal(failureCode(path, 1024), "ENOTREG");
  });

  test("a directory and a missing path keep the system's codes", () => {
    assert.equal(failureCode(dir, 1024), "EISDIR");
    assert.equal(failureCode(join(dir, "missing"), 1024), "ENOENT");
  });
});
