import assert from "node:assert/strict";
import { test } from "node:test";
import { THROUGHPUT_RATE_SECS, THROUGHPUT_WINDOW_SECS, ThroughputMeter } from "./throughput-meter.ts";

const T0 = 1_800_000_000_000;

test("rates average the whole seconds before the current one; old seconds leave the window", () => {
  const meter = new ThroughputMeter();
  for (let second = 0; second < THROUGHPUT_RATE_SECS; second++) {
    meter.opsOut(20, T0 + second * 1000);
    meter.opsIn(5, T0 + second * 1000 + 500);
  }
  meter.opsOut(1000, T0 + THROUGHPUT_RATE_SECS * 1000); // the current, partial second
  const view = meter.view(T0 + THROUGHPUT_RATE_SECS * 1000 + 10);
  assert.equal(view.opsOutPerSecond, 20);
  assert.equal(view.opsInPerSecond, 5);
  assert.equal(view.perSecond.length, THROUGHPUT_WINDOW_SECS);
  assert.deepEqual(view.perSecond.at(-1), { opsIn: 0, opsOut: 1000, errors: 0 });
  const later = meter.view(T0 + (THROUGHPUT_WINDOW_SECS + THROUGHPUT_RATE_SECS + 1) * 1000);
  assert.equal(later.opsOutPerSecond, 0);
  assert.ok(later.perSecond.every((second) => second.opsIn === 0 && second.opsOut === 0));
});

test("latency percentiles (nearest rank) over the window's samples; errors by kind", () => {
  const meter = new ThroughputMeter();
  for (let ms = 1; ms <= 100; ms++) meter.latency(ms, T0);
  meter.latency(5000, T0 - (THROUGHPUT_WINDOW_SECS + 1) * 1000); // outside the window
  meter.error("send", T0);
  meter.error("send", T0);
  meter.error("store", T0);
  const view = meter.view(T0 + 100);
  assert.deepEqual(view.propagationMs, { samples: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  assert.deepEqual(view.errors, { send: 2, store: 1 });
  assert.equal(view.perSecond.at(-1)!.errors, 3);
  assert.deepEqual(new ThroughputMeter().view(T0).propagationMs, {
    samples: 0,
    p50: null,
    p95: null,
    p99: null,
    max: null,
  });
});
