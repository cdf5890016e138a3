/** Reading the load guests' reports: line protocol, histogram layout, latency figures. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { GateError } from "../../bench/gate/gate-error.ts";
import { parseGuestLine } from "../../bench/gate/guest-lines.ts";
import {
  addGuestHistogram,
  bucketLowestValue,
  latencyMs,
  newLatencyHistogram,
} from "../../bench/gate/latency-summary.ts";

const SUB_BUCKET_BITS = 10;

describe("guest report lines", () => {
  test("a report line is parsed, any other line is not a report", () => {
    assert.equal(parseGuestLine("gc = 12"), undefined);
    assert.equal(parseGuestLine("21:10:02 INFO guest: @gate {}"), undefined);
    const line = parseGuestLine(
      '@gate {"type":"interval","t_us":1000000,"ops":5,"errors":0,"done":5,"p50_us":3,"p99_us":9,"max_us":12,"lag_us":0}',
    );
    assert.deepEqual(line, {
      type: "interval",
      t_us: 1_000_000,
      ops: 5,
      errors: 0,
      done: 5,
      p50_us: 3,
      p99_us: 9,
      max_us: 12,
      lag_us: 0,
    });
  });

  test("a malformed report is one GATE_GUEST_PROTOCOL error", () => {
    for (const bad of [
      '@gate {"type":"interval"',
      '@gate {"type":"start","rate":-1,"duration_ms":5}',
      '@gate {"type":"nope"}',
    ]) {
      assert.throws(
        () => parseGuestLine(bad),
        (error: unknown) =>
          error instanceof GateError && error.code === "GATE_GUEST_PROTOCOL" && !error.message.includes("\n"),
      );
    }
  });
});

describe("guest histogram layout", () => {
  test("below 2048 µs every value has its own bucket", () => {
    for (const index of [0, 1, 999, 2047]) assert.equal(bucketLowestValue(index, SUB_BUCKET_BITS), index);
    assert.equal(bucketLowestValue(2048, SUB_BUCKET_BITS), 2048);
    assert.equal(bucketLowestValue(2049, SUB_BUCKET_BITS), 2050);
    assert.equal(bucketLowestValue(3072, SUB_BUCKET_BITS), 4096);
  });

  test("buckets increase and are at most 1/1024 of their value wide", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 27 * 1024 - 2 }), (index) => {
        const low = bucketLowestValue(index, SUB_BUCKET_BITS);
        const next = bucketLowestValue(index + 1, SUB_BUCKET_BITS);
        assert.ok(next > low);
        assert.ok(next - low <= Math.max(1, low / 1024));
      }),
      { seed: 6, numRuns: 500 },
    );
  });

  test("percentiles come from the merged histograms of every node", () => {
    const histogram = newLatencyHistogram();
    addGuestHistogram(histogram, [[100, 98]], SUB_BUCKET_BITS);
    addGuestHistogram(histogram, [[3072, 2]]); // 4096 µs
    const figures = latencyMs(histogram);
    assert.equal(figures.count, 100);
    assert.equal(figures.p50, 0.1);
    assert.equal(figures.p95, 0.1);
    assert.ok(figures.p99 >= 4.09 && figures.p99 <= 4.1, String(figures.p99));
    assert.ok(figures.max >= 4.09 && figures.max <= 4.1, String(figures.max));
    assert.deepEqual(latencyMs(newLatencyHistogram()), {
      p50: 0,
      p95: 0,
      p99: 0,
      p999: 0,
      max: 0,
      mean: 0,
      count: 0,
    });
  });
});
