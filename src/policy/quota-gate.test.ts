import assert from "node:assert/strict";
import { test } from "node:test";
import type { Logger } from "../observe/logger.ts";
import { GuestUsage } from "../wasm/abi/host-call-quota.ts";
import { createQuotaGate, QUOTA_LOG_WINDOW_MS, QUOTA_WAIT_MS_MAX } from "./quota-gate.ts";

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (message) => lines.push(message),
    error: () => {},
    isLevelEnabled: () => true,
    child: () => logger,
  };
  return logger;
}

test("ops_per_sec: a burst of one second's ops at once, then each op waits its turn; every hit counted, one line per window", () => {
  let now = 0;
  const lines: string[] = [];
  const usage = new GuestUsage();
  const gate = createQuotaGate("m", { opsPerSec: 10 }, usage, recordingLogger(lines), () => now);
  const op = gate.admission("crdt_gcounter_inc")!;
  assert.equal(gate.admission("crdt_gcounter_value"), undefined, "reads are not ops");
  assert.equal(gate.admission("db_set"), undefined, "no bytes_written_per_sec: db_set runs free");
  for (let i = 0; i < 10; i++) assert.equal(op.take([]), 0);
  assert.equal(op.take([]), 100);
  assert.equal(op.take([]), 200);
  assert.equal(usage.quotaHits.get("ops_per_sec"), 2);
  assert.deepEqual(lines, ["module m reached its quota ops_per_sec: 10 ops/s; its calls wait"]);
  now = QUOTA_LOG_WINDOW_MS;
  // The debt is long paid: a full bucket again.
  for (let i = 0; i < 10; i++) assert.equal(op.take([]), 0);
  assert.equal(op.take([]), 100);
  assert.equal(
    lines[1],
    "module m reached its quota ops_per_sec: 10 ops/s; its calls wait (1 more hits of this quota not logged)",
  );
  now = 2 * QUOTA_LOG_WINDOW_MS;
  for (let i = 0; i < 11; i++) op.take([]);
  assert.equal(usage.quotaHits.get("ops_per_sec"), 4);
});

test("bytes_written_per_sec: db_set costs key and value, db_delete its key, from one bucket; a call past the longest wait answers -9", () => {
  const usage = new GuestUsage();
  const gate = createQuotaGate("m", { bytesWrittenPerSec: 1000 }, usage, recordingLogger([]), () => 0);
  const set = gate.admission("db_set")!;
  const remove = gate.admission("db_delete")!;
  // db_set(key_ptr, key_len, val_ptr, val_len)
  assert.equal(set.take([0, 100, 0, 800]), 0);
  assert.equal(remove.take([0, 100]), 0);
  assert.equal(remove.take([0, 100]), 100);
  const tooBig = 1000 * (QUOTA_WAIT_MS_MAX / 1000) + 1;
  assert.equal(set.take([0, 0, 0, tooBig]), undefined);
  assert.equal(usage.quotaHits.get("bytes_written_per_sec"), 2);
  // A call that did nothing gets its bytes back, for db_set and db_delete alike: the debt of the
  // last db_delete is paid, and the bucket never holds more than its burst.
  remove.refund([0, 100]);
  assert.equal(remove.take([0, 0]), 0, "no debt left");
  set.refund([0, 500, 0, 500]);
  set.refund([0, 0, 0, 10]);
  assert.equal(set.take([0, 0, 0, 1000]), 0, "a full bucket");
  assert.equal(set.take([0, 0, 0, 1]), 1);
});

test("requests_per_sec and connections_max: refused at once, never queued; an ended request frees its place", () => {
  let now = 0;
  const usage = new GuestUsage();
  const gate = createQuotaGate(
    "m",
    { requestsPerSec: 2, connectionsMax: 2 },
    usage,
    recordingLogger([]),
    () => now,
  );
  const first = gate.admitRequest()!;
  const second = gate.admitRequest()!;
  assert.equal(gate.admitRequest(), undefined, "two at once");
  assert.equal(usage.quotaHits.get("connections_max"), 1);
  first();
  first();
  assert.equal(gate.admitRequest(), undefined, "no token left this second");
  assert.equal(usage.quotaHits.get("requests_per_sec"), 1);
  now = 500;
  const third = gate.admitRequest();
  assert.ok(third !== undefined);
  assert.equal(gate.admitRequest(), undefined, "one place freed, taken again");
  second();
  third();
});
