import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { NumaxError } from "../errors/numax-error.ts";
import { loadOrCreateToken, MANAGEMENT_TOKEN_FILE_MAX_BYTES } from "./token-files.ts";

const dir = mkdtempSync(join(tmpdir(), "nx-token-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const random = (count: number) => new Uint8Array(count).fill(7);

async function refusal(path: string): Promise<NumaxError> {
  const error = await loadOrCreateToken(path, random).then(
    () => assert.fail("the file was accepted"),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof NumaxError);
  return error;
}

describe("loadOrCreateToken", () => {
  test("a missing file is created with mode 0600 and one base64url line; the next start reads it back", async () => {
    const path = join(dir, "new.token");
    const created = await loadOrCreateToken(path, random);
    assert.equal(created.created, true);
    assert.equal(created.token, Buffer.alloc(32, 7).toString("base64url"));
    assert.equal(readFileSync(path, "utf8"), `${created.token}\n`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateToken(path, () => new Uint8Array(32)), {
      token: created.token,
      created: false,
    });
  });

  test("a file group or others may access is refused with a chmod 600 hint", async () => {
    for (const mode of [0o640, 0o604, 0o620, 0o644]) {
      const path = join(dir, `open-${mode.toString(8)}.token`);
      writeFileSync(path, "secret\n");
      chmodSync(path, mode);
      const error = await refusal(path);
      assert.equal(error.code, "MANAGEMENT_TOKEN_FILE_UNSAFE");
      assert.match(error.message, new RegExp(`mode 0${mode.toString(8)}: .*run chmod 600 ${path}$`));
    }
  });

  test("an empty file, several words or an oversized file is refused", async () => {
    for (const [name, text] of [
      ["empty", "\n"],
      ["words", "two words\n"],
      ["big", "x".repeat(MANAGEMENT_TOKEN_FILE_MAX_BYTES + 1)],
    ] as const) {
      const path = join(dir, `${name}.token`);
      writeFileSync(path, text, { mode: 0o600 });
      assert.equal((await refusal(path)).code, "MANAGEMENT_TOKEN_FILE_INVALID", name);
    }
  });

  test("a file in a missing directory is one line naming the file", async () => {
    const path = join(dir, "missing", "x.token");
    const error = await refusal(path);
    assert.equal(error.code, "MANAGEMENT_TOKEN_FILE_INVALID");
    assert.equal(error.message, `cannot use management token file ${path}: ENOENT`);
  });
});
