import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesKey } from "../bytes/bytes-key.ts";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { PACK_HEADER_BYTES, unpackWrites } from "./packed-writes.ts";
import { hashKey, SlabKeyIndex } from "./slab-key-index.ts";
import { SLAB_CHUNK_BYTES, WriteSlab } from "./write-slab.ts";

/** One step against the slab and its index: write a key (null: a delete), or free a key's slot. */
type Step = { kind: "write"; key: number; valueBytes: number | null } | { kind: "free"; key: number };

/** Value sizes: small, a page, and records that do not fit a chunk (a chunk of their own). */
const valueBytesArbitrary = fc.oneof(
  { weight: 20, arbitrary: fc.nat(300) },
  { weight: 3, arbitrary: fc.constant(SLAB_CHUNK_BYTES / 3) },
  { weight: 1, arbitrary: fc.constant(SLAB_CHUNK_BYTES + 7) },
);

/** Up to 3 000 distinct keys of 1..40 bytes: the index grows, rebuilds and has long probes. */
function keyOf(n: number): Uint8Array {
  const text = `k${n}`.padEnd(1 + (n % 40), "/");
  return new TextEncoder().encode(text);
}

/** A value whose every byte says which write made it, so a record overwritten by reuse shows. */
function valueFor(seq: number, length: number): Uint8Array {
  const value = new Uint8Array(length);
  for (let i = 0; i < length; i++) value[i] = (seq * 31 + i) & 0xff;
  return value;
}

describe("WriteSlab and SlabKeyIndex", () => {
  it("hold the newest write of each key, byte for byte, through frees, chunk reuse and rebuilds", () => {
    const step: fc.Arbitrary<Step> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("write" as const),
          key: fc.nat(2999),
          valueBytes: fc.option(valueBytesArbitrary, { nil: null, freq: 10 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), key: fc.nat(2999) }) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 1500, size: "max" }), (steps) => {
        const slab = new WriteSlab();
        const index = new SlabKeyIndex(slab);
        const model = new Map<number, { seq: number; valueBytes: number | null }>();
        let seq = 0;
        for (const s of steps) {
          const key = keyOf(s.key);
          const hash = hashKey(key);
          const held = index.find(key, hash);
          assert.equal(held !== -1, model.has(s.key));
          if (s.kind === "write") {
            seq++;
            const slot = slab.add(key, s.valueBytes === null ? null : valueFor(seq, s.valueBytes), seq, hash);
            if (held === -1) index.insert(slot);
            else {
              index.replace(held, slot);
              slab.free(held);
            }
            model.set(s.key, { seq, valueBytes: s.valueBytes });
          } else if (held !== -1) {
            index.remove(held);
            slab.free(held);
            model.delete(s.key);
          }
        }
        assert.equal(index.size, model.size);
        assert.equal(slab.live, model.size);
        for (const [n, { seq: written, valueBytes }] of model) {
          const key = keyOf(n);
          const slot = index.find(key, hashKey(key));
          assert.notEqual(slot, -1);
          assert.equal(slab.seq(slot), written);
          assert.deepEqual(slab.key(slot), key);
          assert.deepEqual(slab.value(slot), valueBytes === null ? null : valueFor(written, valueBytes));
        }
        const visited: number[] = [];
        index.forEach((slot) => {
          visited.push(slot);
        });
        assert.equal(new Set(visited).size, model.size);
      }),
      propertyRuns(20),
    );
  });

  it("copies a record in the layout of a commit pack", () => {
    const slab = new WriteSlab();
    const key = new TextEncoder().encode("gate/k/123456");
    const slots = [
      slab.add(key, Uint8Array.of(1, 2, 3), 1, hashKey(key)),
      slab.add(Uint8Array.of(9), null, 2, hashKey(Uint8Array.of(9))),
    ];
    const packed = new Uint8Array(
      PACK_HEADER_BYTES + slots.reduce((sum, slot) => sum + slab.packedBytes(slot), 0),
    );
    packed[0] = slots.length;
    const copier = slab.copier(packed, PACK_HEADER_BYTES);
    for (const slot of slots) copier.add(slot);
    assert.equal(copier.finish(), packed.length);
    const seen: string[] = [];
    unpackWrites(packed.buffer, (k, v) =>
      seen.push(`${bytesKey(k)}=${v === null ? "deleted" : v.join(",")}`),
    );
    assert.deepEqual(seen, ["gate/k/123456=1,2,3", "\t=deleted"]);
  });

  it("copies any records in any order, runs and gaps alike, as a commit pack", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(valueBytesArbitrary, { nil: null, freq: 10 }), { minLength: 1, maxLength: 60 }),
        fc.infiniteStream(fc.nat()),
        (valueSizes, picks) => {
          const slab = new WriteSlab();
          const slots = valueSizes.map((size, i) => {
            const key = keyOf(i);
            return slab.add(key, size === null ? null : valueFor(i + 1, size), i + 1, hashKey(key));
          });
          // Some of the records, in an order that keeps runs of neighbours and breaks others.
          const chosen = slots.filter(() => picks.next().value % 4 !== 0);
          for (let i = 0; i + 1 < chosen.length; i += 3) {
            if (picks.next().value % 2 === 0) [chosen[i], chosen[i + 1]] = [chosen[i + 1]!, chosen[i]!];
          }
          const size = chosen.reduce((sum, slot) => sum + slab.packedBytes(slot), PACK_HEADER_BYTES);
          const packed = new Uint8Array(size);
          new DataView(packed.buffer).setUint32(0, chosen.length, true);
          const copier = slab.copier(packed, PACK_HEADER_BYTES);
          for (const slot of chosen) copier.add(slot);
          assert.equal(copier.finish(), size);
          const seen: { key: Uint8Array; value: Uint8Array | null }[] = [];
          unpackWrites(packed.buffer, (key, value) =>
            seen.push({ key: key.slice(), value: value?.slice() ?? null }),
          );
          assert.deepEqual(
            seen,
            chosen.map((slot) => ({ key: slab.key(slot).slice(), value: slab.value(slot)?.slice() ?? null })),
          );
        },
      ),
      propertyRuns(30),
    );
  });

  it("reuses freed chunks: a steady writer allocates none once warm", () => {
    const slab = new WriteSlab();
    const value = new Uint8Array(256);
    const live: number[] = [];
    const chunks = new Set<ArrayBufferLike>();
    for (let seq = 1; seq <= 50_000; seq++) {
      const key = new TextEncoder().encode(`k${seq}`);
      const slot = slab.add(key, value, seq, hashKey(key));
      chunks.add(slab.key(slot).buffer);
      live.push(slot);
      // Writes become durable about 1 000 writes later, as with a commit every 50 ms at 20 000/s.
      if (live.length > 1_000) slab.free(live.shift()!);
    }
    assert.ok(chunks.size <= 6, `${chunks.size} chunks were allocated`);
  });
});
