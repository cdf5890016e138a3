import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { KernelError } from "./kernel-error.ts";
import { copyMessage, MESSAGE_DEPTH_MAX } from "./message-copy.ts";

const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.NX_PROPERTY_SEED ?? 7);

/** Plain data, including values the fast walk hands to structuredClone (Dates, typed arrays, Maps). */
const message = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 5 }),
    fc
      .array(fc.tuple(fc.string({ maxLength: 3 }), tie("value")), { maxLength: 3 })
      .map((entries) => new Map(entries)),
  ),
})).value;

/** Ways to nest one level: plain object, array, Map, Set, class instance (the last three go through structuredClone). */
class Box {
  readonly inner: unknown;
  constructor(inner: unknown) {
    this.inner = inner;
  }
}
const NESTINGS: ReadonlyArray<(inner: unknown) => object> = [
  (inner) => ({ next: inner }),
  (inner) => [inner],
  (inner) => new Map([["next", inner]]),
  (inner) => new Set([inner]),
  (inner) => new Box(inner),
];

/** `levels` containers nested inside one another around a string. */
function nested(levels: number, wrap: (inner: unknown) => object): object {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value as object;
}

describe("copyMessage", () => {
  it("gives the same value structuredClone gives, for plain data and the types it hands over", () => {
    fc.assert(
      fc.property(message, (value) => {
        assert.deepStrictEqual(copyMessage(value), structuredClone(value));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("shares no object with the original", () => {
    const original = { list: [1, { deep: "x" }], nested: { n: 1 } };
    const copy = copyMessage(original) as typeof original;
    assert.deepStrictEqual(copy, original);
    (original.list[1] as { deep: string }).deep = "changed";
    original.nested.n = 2;
    assert.equal((copy.list[1] as { deep: string }).deep, "x");
    assert.equal(copy.nested.n, 1);
    assert.notEqual(copy, original);
  });

  it("passes immutable primitives through as they are", () => {
    for (const value of ["s", 1, 1.5, true, null, undefined, 10n]) assert.equal(copyMessage(value), value);
  });

  it("keeps array holes, class instances as plain objects and __proto__ keys as structuredClone does", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const holey = [1, , 3];
    assert.deepStrictEqual(copyMessage(holey), structuredClone(holey));
    class Point {
      x = 1;
    }
    assert.deepStrictEqual(copyMessage(new Point()), { x: 1 });
    const tricky = JSON.parse('{"__proto__": {"polluted": true}}');
    const copy = copyMessage(tricky) as Record<string, unknown>;
    assert.deepStrictEqual(copy, structuredClone(tricky));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("copies cycles through structuredClone, keeping them cycles", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const copy = copyMessage(cyclic) as Record<string, unknown>;
    assert.equal(copy.self, copy);
    assert.notEqual(copy, cyclic);
    const ring = new Map<string, unknown>();
    ring.set("me", ring);
    const ringCopy = copyMessage(ring) as Map<string, unknown>;
    assert.equal(ringCopy.get("me"), ringCopy);
  });

  it("copies data nested exactly MESSAGE_DEPTH_MAX deep, in every shape", () => {
    for (const wrap of NESTINGS) {
      const value = nested(MESSAGE_DEPTH_MAX, wrap);
      assert.deepStrictEqual(copyMessage(value), structuredClone(value));
    }
  });

  it("refuses data nested deeper than MESSAGE_DEPTH_MAX with KERNEL_MESSAGE_TOO_DEEP, in every shape", () => {
    const cyclicAndDeep: Record<string, unknown> = { deep: nested(MESSAGE_DEPTH_MAX + 1, NESTINGS[0]) };
    cyclicAndDeep.self = cyclicAndDeep;
    for (const value of [...NESTINGS.map((wrap) => nested(MESSAGE_DEPTH_MAX + 1, wrap)), cyclicAndDeep]) {
      assert.throws(
        () => copyMessage(value),
        (error: unknown) =>
          error instanceof KernelError &&
          error.code === "KERNEL_MESSAGE_TOO_DEEP" &&
          error.message.includes(String(MESSAGE_DEPTH_MAX)) &&
          !error.message.includes("\n"),
      );
    }
  });

  it("checks the depth of shared sub-values in linear time", () => {
    // Each level holds the next twice: 2^60 paths, 60 distinct objects.
    let shared: unknown = new Map([["leaf", 1]]);
    for (let i = 0; i < 59; i++)
      shared = new Map([
        ["a", shared],
        ["b", shared],
      ]);
    assert.ok(copyMessage(shared) instanceof Map);
  });

  it("refuses functions and symbols with one clear error", () => {
    for (const bad of [() => 1, Symbol("s"), { nested: { fn: () => 1 } }, [Symbol("in array")]]) {
      assert.throws(
        () => copyMessage(bad),
        (error: unknown) =>
          error instanceof KernelError &&
          error.code === "KERNEL_MESSAGE_NOT_COPYABLE" &&
          !error.message.includes("\n"),
      );
    }
  });
});
