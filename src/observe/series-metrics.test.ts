import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import fc from "fast-check";
import type PromClient from "prom-client";
import { SeriesCounter, SeriesHistogram } from "./series-metrics.ts";

const prom = createRequire(import.meta.url)("prom-client") as typeof PromClient;
const BUCKETS = [0.001, 0.01, 0.1, 1];

/** The same observations through prom-client and through a series metric render the same text. */
test("series metrics render exactly as prom-client's own counter and histogram", async () => {
  const observation = fc.record({
    module: fc.constantFrom("a", "b"),
    callback: fc.constantFrom("on_tick", "on_message"),
    value: fc.oneof(fc.constantFrom(0, 0.001, 0.01, 1, 5), fc.double({ min: 0, max: 3, noNaN: true })),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
      const reference = new prom.Registry();
      const ours = new prom.Registry();
      const promHistogram = new prom.Histogram({
        name: "h_seconds",
        help: "h",
        labelNames: ["module", "callback"],
        buckets: BUCKETS,
        registers: [reference],
      });
      const promCounter = new prom.Counter({
        name: "c_total",
        help: "c",
        labelNames: ["module", "callback"],
        registers: [reference],
      });
      const histogram = new SeriesHistogram<{ module: string; callback: string }>(
        "h_seconds",
        "h",
        ["module", "callback"],
        BUCKETS,
      );
      const counter = new SeriesCounter<{ module: string; callback: string }>("c_total", "c", [
        "module",
        "callback",
      ]);
      ours.registerMetric(histogram as unknown as PromClient.Metric);
      ours.registerMetric(counter as unknown as PromClient.Metric);
      for (const { module, callback, value } of observations) {
        promHistogram.observe({ module, callback }, value);
        promCounter.inc({ module, callback }, value);
        histogram.series({ module, callback }).observe(value);
        counter.inc({ module, callback }, value);
      }
      assert.equal(await ours.metrics(), await reference.metrics());
    }),
    { seed: 4242, numRuns: 200 },
  );
});
