import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesKey } from "../bytes/bytes-key.ts";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import {
  newPack,
  PACK_HEADER_BYTES,
  packedWriteBytes,
  putPackedWrite,
  unpackWrites,
} from "./packed-writes.ts";
import { PendingWrites } from "./pending-writes.ts";

const KEYS = ["a", "b", "c", "d"];

/** One step of the commit scheduler's life. */
type Step =
  | { kind: "write"; key: number; value: number | null }
  | { kind: "take" }
  | { kind: "commit-ends"; ok: boolean };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    key: fc.nat(KEYS.length - 1),
    value: fc.option(fc.nat(255), { nil: null }),
  }),
  fc.constant({ kind: "take" as const }),
  fc.record({ kind: fc.constant("commit-ends" as const), ok: fc.boolean() }),
);

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

interface Write {
  key: Uint8Array;
  value: Uint8Array | null;
}

function unpacked(packed: ArrayBuffer): Write[] {
  const writes: Write[] = [];
  unpackWrites(packed, (key, value) => writes.push({ key: key.slice(), value: value?.slice() ?? null }));
  return writes;
}

function pack(writes: readonly Write[]): ArrayBuffer {
  const sizes = writes.map(({ key, value }) => packedWriteBytes(key.length, value?.length ?? -1));
  const packed = newPack(
    writes.length,
    sizes.reduce((sum, size) => sum + size, 0),
  );
  let at = PACK_HEADER_BYTES;
  writes.forEach(({ key, value }, i) => {
    putPackedWrite(packed, at, key, value);
    at += sizes[i]!;
  });
  return packed.buffer;
}

describe("PendingWrites: the commit scheduler", () => {
  it("never reports a write durable before a commit holding it (or a newer write of its key) has ended", () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 80, size: "max" }), (steps) => {
        const pending = new PendingWrites();
        // The model: the disk as the ended commits left it, and every write made.
        const disk = new Map<string, number | null>();
        const writes: { key: string; value: number | null }[] = [];
        let inFlight: { id: number; writes: { key: string; value: number | null }[] } | undefined;
        for (const step of steps) {
          if (step.kind === "write") {
            const key = KEYS[step.key]!;
            const value = step.value === null ? null : Uint8Array.of(step.value);
            const seq = pending.write(bytes(key), value);
            writes.push({ key, value: step.value });
            assert.equal(seq, writes.length);
            // Read-your-writes: the pending value is the newest.
            assert.deepEqual(pending.lookup(bytes(key))?.value ?? null, value);
          } else if (step.kind === "take") {
            const group = pending.takeGroup();
            if (inFlight !== undefined || group === undefined) {
              assert.ok(inFlight !== undefined ? group === undefined : !pending.hasUnsent());
              continue;
            }
            assert.equal(group.lastSeq, writes.length);
            inFlight = {
              id: group.id,
              writes: unpacked(group.packed).map((w) => ({
                key: bytesKey(w.key),
                value: w.value === null ? null : w.value[0]!,
              })),
            };
          } else if (inFlight !== undefined) {
            const before = pending.durableSeq();
            if (step.ok) {
              for (const w of inFlight.writes) disk.set(w.key, w.value);
              pending.committed(inFlight.id);
            } else {
              pending.failed(inFlight.id);
              assert.equal(pending.durableSeq(), before, "a failed commit makes nothing durable");
            }
            inFlight = undefined;
          }
          // The law: for every write reported durable, the disk holds that write's value or a
          // newer write's value for its key; and everything not durable is still readable.
          const durable = pending.durableSeq();
          for (let seq = 1; seq <= durable; seq++) {
            const { key } = writes[seq - 1]!;
            const newestUpToDurable = writes.slice(0, durable).findLast((w) => w.key === key)!;
            const onDisk = disk.has(key) ? disk.get(key) : undefined;
            const later = writes.slice(durable).filter((w) => w.key === key);
            assert.ok(
              onDisk === newestUpToDurable.value || later.some((w) => w.value === onDisk),
              `write ${seq} of ${key} reported durable, but the disk holds ${onDisk}`,
            );
          }
          for (const key of KEYS) {
            const newest = writes.findLast((w) => w.key === key);
            if (newest === undefined) continue;
            const seen = pending.lookup(bytes(key));
            const value =
              seen !== undefined ? (seen.value === null ? null : seen.value[0]!) : (disk.get(key) ?? null);
            assert.equal(value, newest.value, `reading ${key} gives the newest write`);
          }
        }
      }),
      propertyRuns(300),
    );
  });

  it("keeps a newer write of a key pending when an older group holding the key commits", () => {
    const pending = new PendingWrites();
    pending.write(bytes("k"), Uint8Array.of(1));
    const group = pending.takeGroup()!;
    pending.write(bytes("k"), Uint8Array.of(2));
    assert.equal(pending.committed(group.id), 1);
    assert.deepEqual(pending.lookup(bytes("k"))?.value, Uint8Array.of(2));
    assert.equal(pending.takeGroup()?.count, 1);
  });

  it("lists the pending writes of a span in key order", () => {
    const pending = new PendingWrites();
    for (const key of ["b/2", "a/1", "b/1", "c/1"]) pending.write(bytes(key), Uint8Array.of(0));
    const span = { start: bytes("b/"), startExclusive: false, end: bytes("b0") };
    assert.deepEqual(
      pending.inSpan(span).map((w) => bytesKey(w.key)),
      ["b/1", "b/2"],
    );
  });
});

describe("packed writes", () => {
  it("unpack what was packed, deletes included", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
            value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
          }),
          { maxLength: 50 },
        ),
        (writes) => {
          assert.deepEqual(
            unpacked(pack(writes)),
            writes.map(({ key, value }) => ({ key, value })),
          );
        },
      ),
      propertyRuns(200),
    );
  });

  it("refuses a truncated pack", () => {
    const packed = pack([{ key: Uint8Array.of(1), value: Uint8Array.of(2, 3) }]);
    assert.throws(() => unpackWrites(packed.slice(0, packed.byteLength - 1), () => {}), RangeError);
  });
});
