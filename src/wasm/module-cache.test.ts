import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fixtureWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { silentLogger } from "../observe/logger.ts";
import { loadGuestModuleFile } from "./load-guest-module.ts";
import { type FileStamp, ModuleCache, STAMP_SETTLED_MS } from "./module-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "nx-module-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MIB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function stampOf(path: string): FileStamp {
  const stats = statSync(path, { bigint: true });
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

describe("ModuleCache stamps", () => {
  test("a stamp is recorded only once the file has been unchanged for the settling time", () => {
    const path = join(dir, "settle.wasm");
    writeFileSync(path, "x");
    const stamp = stampOf(path);
    const changedMs = Number(stamp.ctimeNs / 1_000_000n);
    let nowMs = changedMs + STAMP_SETTLED_MS - 1;
    const cache = new ModuleCache({
      directory: join(dir, "cache-settle"),
      logger: silentLogger,
      nowMs: () => nowMs,
    });
    cache.rememberStamp(stamp, "a".repeat(64));
    assert.equal(cache.sha256OfStamp(stamp), undefined);
    nowMs = changedMs + STAMP_SETTLED_MS + 1;
    cache.rememberStamp(stamp, "a".repeat(64));
    assert.equal(cache.sha256OfStamp(stamp), "a".repeat(64));
    assert.equal(cache.sha256OfStamp({ ...stamp, ctimeNs: stamp.ctimeNs + 1n }), undefined);
    assert.equal(cache.sha256OfStamp({ ...stamp, size: stamp.size + 1n }), undefined);
  });

  test("a corrupt stamp entry is ignored", () => {
    const cacheDir = join(dir, "cache-corrupt");
    const path = join(dir, "corrupt.wasm");
    writeFileSync(path, "x");
    const stamp = stampOf(path);
    const cache = new ModuleCache({
      directory: cacheDir,
      logger: silentLogger,
      nowMs: () => Date.now() + 10 * STAMP_SETTLED_MS,
    });
    cache.rememberStamp(stamp, "b".repeat(64));
    const [entry] = readdirSync(join(cacheDir, "stamps"));
    writeFileSync(join(cacheDir, "stamps", entry!), "not a digest");
    assert.equal(cache.sha256OfStamp(stamp), undefined);
  });

  test("a loaded file keeps its hash while unchanged and is hashed again once it changes", async () => {
    const cacheDir = join(dir, "cache-load");
    const path = join(dir, "guest.wasm");
    const hello = await fixtureWasm("hello");
    const other = await fixtureWasm("start-function");
    writeFileSync(path, hello);
    const options = () => ({
      memoryMaxBytes: 16 * MIB,
      // A clock well past the settling time: the stamp is recorded at once.
      cache: new ModuleCache({
        directory: cacheDir,
        logger: silentLogger,
        nowMs: () => Date.now() + 10 * STAMP_SETTLED_MS,
      }),
      logger: silentLogger,
    });
    const first = await loadGuestModuleFile(path, options());
    assert.equal(first.sha256, sha256(hello));
    assert.equal(options().cache.sha256OfStamp(stampOf(path)), sha256(hello));
    const second = await loadGuestModuleFile(path, options());
    assert.equal(second.sha256, sha256(hello));
    assert.equal(second.origin, "disk-cache");

    // Rewritten in place, even with the old modification time put back: the change time moves,
    // so the stamp no longer matches and the new bytes are what runs.
    const { mtime } = statSync(path);
    writeFileSync(path, other);
    utimesSync(path, mtime, mtime);
    const third = await loadGuestModuleFile(path, options());
    assert.equal(third.sha256, sha256(other));
    assert.equal(third.hasStart, true);
  });
});
