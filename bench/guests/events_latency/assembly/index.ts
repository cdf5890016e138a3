// Latency guest of `npm run bench -- events` (bench/events.ts): how long from a local op on one
// node to `on_remote_op` entering on another.
//
// Every tick (10 ms) it writes LWW registers `lat/<its node id>/<n>` (n cycles over
// KEYS_PER_NODE keys) at NX_BENCH_RATE writes per second, open-loop (a late tick writes what
// came due meanwhile); each register's value is the time of its write (u64 nanoseconds since
// the Unix epoch, little-endian). Its `on_remote_op` reads the clock first, then the register
// the event names, and records the difference. Writes start when the wall clock reaches
// NX_BENCH_START_AT_MS, so the nodes of a run start together.
//
// Clocks: the nodes run on one machine and read the same system clock, but the node's wall
// clock (`time_now`) counts whole milliseconds, too coarse for latencies of a millisecond or two,
// and WASI's monotonic clock counts nanoseconds from each node's own start. So `init` calibrates:
// it spins until `time_now` moves to the next millisecond and reads the monotonic clock at that
// edge, which gives the offset from this node's monotonic clock to the shared wall clock to within
// a microsecond or two (the narrowest bracket of CALIBRATION_ROUNDS edges: on a loaded machine a
// read taken on one side of a preemption only would put this node's clock ahead of the others',
// which showed as ops received before they were written).
//
// Reports, one stdout line per second (see bench/events.ts):
//   @bench {"type":"latency","t_ms":..,"sent":..,"received":..,"negative":..,"hist":[[bucket,count],..]}
// with the interval's latencies in microseconds (latency-histogram.ts layout).

import { abi, net, system, utf8 } from "../../../../sdk/assemblyscript/assembly";
import { envPositive, envU64 } from "../../lib/gate-env";
import { JsonLine } from "../../lib/json-line";
import { LatencyHistogram } from "../../lib/latency-histogram";
import { monotonicNs } from "../../lib/wasi";

export { init, on_remote_op, on_tick };

const TICK_MS: u32 = 10;
/** Registers per node: a key is written again after KEYS_PER_NODE writes (1 s at 1k/s). */
const KEYS_PER_NODE: u64 = 1000;
/** Writes one late tick may catch up on: a stalled node does not burst without bound. */
const CATCH_UP_MAX: u64 = 200;
const CALIBRATION_ROUNDS = 9;
const REPORT_NS: u64 = 1_000_000_000;
const FAMILY_LWW_REGISTER: i32 = 3;
const KEY_CAP: usize = 256;

const line = new JsonLine("@bench");
const histogram = new LatencyHistogram();
const keyBuffer = memory.data(<i32>KEY_CAP);
const valueSlot = memory.data(8);
const readSlot = memory.data(16);

let rate: u64 = 0;
let startAtMs: u64 = 0;
let offsetNs: i64 = 0;
let keyPrefix = new Uint8Array(0);
let sent: u64 = 0;
let startedNs: u64 = 0;
let lastReportNs: u64 = 0;
let intervalSent: u64 = 0;
let negative: u64 = 0;

/** Nanoseconds since the Unix epoch on the machine's clock (see the calibration above). */
function wallNs(): u64 {
  return <u64>(<i64>monotonicNs() + offsetNs);
}

/** The width of the last edgeOffset's bracket, in ns (how far the edge may be off). */
let edgeWidthNs: u64 = 0;

/**
 * monotonic → wall offset at one millisecond edge of `time_now`. The edge lies between a monotonic
 * read taken before the last call that still answered the old millisecond and one taken after the
 * call that answered the new one; the offset is taken at the bracket's middle. A preemption inside
 * the bracket widens it (it does not bias a one-sided read), and calibrate keeps the narrowest.
 */
function edgeOffset(): i64 {
  let lower = monotonicNs();
  const before = abi.time_now();
  let now: u64;
  do {
    const mono = monotonicNs();
    now = abi.time_now();
    if (now == before) lower = mono;
  } while (now == before);
  const upper = monotonicNs();
  edgeWidthNs = upper - lower;
  return <i64>(now * 1_000_000) - <i64>(lower + edgeWidthNs / 2);
}

function calibrate(): i64 {
  let best: i64 = edgeOffset();
  let bestWidth = edgeWidthNs;
  for (let i = 1; i < CALIBRATION_ROUNDS; i++) {
    const offset = edgeOffset();
    if (edgeWidthNs < bestWidth) {
      best = offset;
      bestWidth = edgeWidthNs;
    }
  }
  return best;
}

/** Writes `lat/<node id>/<n % KEYS_PER_NODE>` = the time now. */
function write(n: u64): void {
  const prefixLen = <usize>keyPrefix.length;
  memory.copy(keyBuffer, keyPrefix.dataStart, prefixLen);
  // The decimal digits of the slot, written in place (the guest allocates nothing per write).
  const slot = n % KEYS_PER_NODE;
  let digits: usize = 1;
  for (let rest = slot / 10; rest > 0; rest /= 10) digits++;
  let at = keyBuffer + prefixLen + digits;
  let rest = slot;
  do {
    store<u8>(--at, <u8>(0x30 + <u32>(rest % 10)));
    rest /= 10;
  } while (rest > 0);
  store<u64>(valueSlot, wallNs());
  const result = abi.crdt_lww_set(keyBuffer, prefixLen + digits, valueSlot, 8);
  if (result != 0) system.abort(`events_latency: crdt_lww_set returned ${result}`);
}

function report(nowNs: u64): void {
  line
    .begin("latency")
    .u64("t_ms", abi.time_now())
    .u64("sent", intervalSent)
    .u64("received", histogram.total)
    .u64("negative", negative)
    .beginPairs("hist");
  for (let i = histogram.lowIndex; i <= histogram.highIndex; i++) {
    const count = unchecked(histogram.counts[i]);
    if (count > 0) line.pair(<u64>i, count);
  }
  line.endArray().emit();
  histogram.reset();
  intervalSent = 0;
  negative = 0;
  lastReportNs = nowNs;
}

function init(): void {
  rate = envPositive("NX_BENCH_RATE", 1000);
  startAtMs = envU64("NX_BENCH_START_AT_MS", 0);
  keyPrefix = utf8(`lat/${net.nodeId()}/`);
  offsetNs = calibrate();
  lastReportNs = monotonicNs();
  abi.tick_every(TICK_MS);
}

function on_tick(): void {
  const nowNs = monotonicNs();
  if (abi.time_now() >= startAtMs) {
    if (startedNs == 0) startedNs = nowNs;
    const due = ((nowNs - startedNs) * rate) / 1_000_000_000 + 1;
    let writes = due - sent;
    if (writes > CATCH_UP_MAX) {
      sent = due - CATCH_UP_MAX;
      writes = CATCH_UP_MAX;
    }
    for (let i: u64 = 0; i < writes; i++) write(sent++);
    intervalSent += writes;
  }
  if (nowNs - lastReportNs >= REPORT_NS) report(nowNs);
}

function on_remote_op(keyLen: i32, family: i32): void {
  const receivedNs = wallNs();
  if (family != FAMILY_LWW_REGISTER || keyLen > <i32>KEY_CAP) return;
  const n = abi.event_subject(keyBuffer, KEY_CAP);
  if (n < 0) return;
  if (abi.crdt_lww_get(keyBuffer, n, readSlot, 16) != 8) return;
  const sentNs = load<u64>(readSlot);
  if (sentNs > receivedNs) {
    negative++;
    histogram.record(0);
  } else histogram.record((receivedNs - sentNs) / 1000);
}
