import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import type { Reference } from "../gate-report.ts";

/**
 * Same-run reference of the `store` gate: raw lmdb-js, without Numax, writing what the store
 * guest writes (values of `valueBytes` under keys drawn uniformly from `keys`, "gate/k/NNNNNNN")
 * as fast as it can for `durationMs`, with a group commit (and its fsync, as the node does) every
 * `writesPerCommit` writes. The same disk, the same moment: the gate's throughput divided by
 * this figure does not move when the machine is busier or slower, only when Numax is.
 */
export interface LmdbPutReference extends Reference {
  readonly name: "lmdb_put_random";
  readonly ops_sec: number;
  readonly duration_secs: number;
  readonly writes_per_commit: number;
}

export async function measureLmdbPut(options: {
  readonly directory: string;
  readonly durationMs: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly writesPerCommit: number;
}): Promise<LmdbPutReference> {
  const path = mkdtempSync(join(options.directory, "lmdb-reference-"));
  const db = openReferenceDb(path);
  try {
    const digits = String(options.keys - 1).length;
    const encoder = new TextEncoder();
    const value = referenceValue(options.valueBytes);
    // A fixed-seed LCG: the same key sequence in every run.
    let seed = 0x2545f491;
    const started = performance.now();
    let ops = 0;
    while (performance.now() - started < options.durationMs) {
      let last: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < options.writesPerCommit; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const key = encoder.encode(`gate/k/${String(seed % options.keys).padStart(digits, "0")}`);
        last = db.put(key, value);
      }
      await last;
      ops += options.writesPerCommit;
    }
    const secs = (performance.now() - started) / 1000;
    return {
      name: "lmdb_put_random",
      ops_sec: Math.round(ops / secs),
      duration_secs: Math.round(secs * 100) / 100,
      writes_per_commit: options.writesPerCommit,
    };
  } finally {
    await db.close();
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * raw lmdb-js as the store references write: binary keys and values, commits that overlap their
 * fsync (as the node's commit thread does). Also opened by lmdb-cells-writer.ts.
 */
export function openReferenceDb(path: string): RootDatabase<Uint8Array, Uint8Array> {
  return open<Uint8Array, Uint8Array>({
    path,
    keyEncoding: "binary",
    encoding: "binary",
    overlappingSync: true,
    maxDbs: 1,
  });
}

/** A reference write's value of `bytes` bytes (fixed, not all one byte). */
export function referenceValue(bytes: number): Uint8Array {
  return new Uint8Array(bytes).map((_, i) => (i * 131) & 0xff);
}
