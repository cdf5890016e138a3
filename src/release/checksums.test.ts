import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatChecksums, parseChecksums, sha256OfFile } from "./checksums.ts";
import { ReleaseError } from "./release-error.ts";

const HEX = "a".repeat(64);

function refusal(text: string): string {
  try {
    parseChecksums(text);
  } catch (error) {
    assert.ok(error instanceof ReleaseError);
    assert.equal(error.code, "RELEASE_CHECKSUMS_INVALID");
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

describe("SHA256SUMS", () => {
  test("what formatChecksums writes, sha256sum -c checks and parseChecksums reads back", () => {
    const dir = mkdtempSync(join(tmpdir(), "nx-checksums-"));
    try {
      writeFileSync(join(dir, "b.tgz"), "package");
      writeFileSync(join(dir, "a-linux-x64"), Buffer.alloc(3 * 1024 * 1024 + 7, 1));
      const checksums = ["b.tgz", "a-linux-x64"].map((name) => ({
        name,
        sha256: sha256OfFile(join(dir, name)),
      }));
      const text = formatChecksums(checksums);
      writeFileSync(join(dir, "SHA256SUMS"), text);
      const check = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
      assert.equal(check.status, 0, check.stderr);
      assert.equal(check.stdout, "a-linux-x64: OK\nb.tgz: OK\n");
      assert.deepEqual(parseChecksums(text), [checksums[1], checksums[0]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("binary mode lines are read; paths, bad digests and empty files are refused in one line", () => {
    assert.deepEqual(parseChecksums(`${HEX} *x.tgz\n`), [{ name: "x.tgz", sha256: HEX }]);
    assert.match(refusal(""), /^SHA256SUMS line 1 is not/);
    assert.match(refusal(`${HEX}  ../etc/passwd\n`), /line 1/);
    assert.match(refusal(`${HEX}  x.tgz\n${HEX}  dir/x\n`), /line 2/);
    assert.match(refusal(`${HEX.slice(1)}  x.tgz\n`), /line 1/);
    assert.match(refusal(`${HEX.toUpperCase()}  x.tgz\n`), /line 1/);
    assert.match(refusal(`${HEX}  ..\n`), /line 1/);
  });
});
