/**
 * The cluster gates' load guest (bench/guests/counter_load) run against stub host functions on a
 * virtual clock: what the open loop measures and what it costs the node.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { parseGuestLine } from "../../bench/gate/guest-lines.ts";
import { buildLoadGuests, guestModulePath } from "../../bench/gate/guest-modules.ts";
import {
  addGuestHistogram,
  bucketLowestValue,
  newLatencyHistogram,
} from "../../bench/gate/latency-summary.ts";

const ERR_NOT_FOUND = -1;
const ERR_SYNC_DISABLED = -5;

interface GuestRun {
  readonly lines: string[];
  readonly increments: number;
  readonly clockReads: number;
}

/**
 * Runs counter_load with `env`; every increment takes `opNs` of virtual time, and the increment
 * numbered `stallAt` (from 1) takes `stallNs` more: a node that stalled.
 */
function runCounterLoad(
  env: Record<string, string>,
  options: { opNs: number; stallAt: number; stallNs: number },
): GuestRun {
  const module = new WebAssembly.Module(readFileSync(guestModulePath("counter_load")));
  let memory: WebAssembly.Memory | undefined;
  const bytes = (): Uint8Array => new Uint8Array(memory!.buffer);
  const view = (): DataView => new DataView(memory!.buffer);
  const text = (ptr: number, len: number): string =>
    new TextDecoder().decode(bytes().subarray(ptr, ptr + len));
  let nowNs = 1_000_000_000n;
  let increments = 0;
  let clockReads = 0;
  let out = "";
  const imports = {
    nx: {
      env_get: (keyPtr: number, keyLen: number, outPtr: number, outCap: number): number => {
        const value = env[text(keyPtr, keyLen)];
        if (value === undefined) return ERR_NOT_FOUND;
        const encoded = new TextEncoder().encode(value);
        if (encoded.length <= outCap) bytes().set(encoded, outPtr);
        return encoded.length;
      },
      time_now: (): bigint => nowNs / 1_000_000n,
      abort: (ptr: number, len: number): never => {
        throw new Error(`guest aborted: ${text(ptr, len)}`);
      },
      net_peers: (): number => ERR_SYNC_DISABLED,
      crdt_gcounter_value: (_keyPtr: number, _keyLen: number, outPtr: number): number => {
        view().setBigUint64(outPtr, BigInt(increments), true);
        return 8;
      },
      crdt_gcounter_inc: (): number => {
        increments++;
        nowNs += BigInt(options.opNs + (increments === options.stallAt ? options.stallNs : 0));
        return 0;
      },
      crdt_lww_map_set: (): number => 0,
    },
    wasi_snapshot_preview1: {
      clock_time_get: (_id: number, _precision: bigint, timePtr: number): number => {
        clockReads++;
        view().setBigUint64(timePtr, nowNs, true);
        return 0;
      },
      // As the node does: a sleep is rounded up to whole milliseconds.
      poll_oneoff: (inPtr: number, _outPtr: number, _count: number, neventsPtr: number): number => {
        const ns = view().getBigUint64(inPtr + 24, true);
        nowNs += ((ns + 999_999n) / 1_000_000n) * 1_000_000n;
        view().setUint32(neventsPtr, 1, true);
        return 0;
      },
      fd_write: (_fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number => {
        let written = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view().getUint32(iovs + 8 * i, true);
          const len = view().getUint32(iovs + 8 * i + 4, true);
          out += text(ptr, len);
          written += len;
        }
        view().setUint32(nwrittenPtr, written, true);
        return 0;
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports as unknown as WebAssembly.Imports);
  memory = instance.exports.memory as WebAssembly.Memory;
  (instance.exports.run as () => void)();
  return { lines: out.split("\n").filter((line) => line !== ""), increments, clockReads };
}

describe("counter_load's open loop", () => {
  // From its sources, as the gates do: without it this file read whatever build/ held (none in a
  // fresh checkout; an older guest after bench/guests/lib changed) unless `npm test` ran first.
  before(() => buildLoadGuests());
  const rate = 100_000;
  const durationMs = 200;
  const env = {
    NX_GATE_RATE: String(rate),
    NX_GATE_DURATION_MS: String(durationMs),
    NX_GATE_REPORT_MS: "50",
  };
  const ops = (rate * durationMs) / 1000;

  test("reads the clock once per 16 back-to-back operations, not after each (a host call each)", () => {
    const run = runCounterLoad(env, { opNs: 500, stallAt: 0, stallNs: 0 });
    assert.equal(run.increments, ops);
    // One reading per 16 operations, plus the readings around each sleep (about one a millisecond).
    assert.ok(
      run.clockReads <= ops / 16 + 3 * durationMs,
      `${run.clockReads} clock readings for ${ops} operations`,
    );
  });

  test("an operation due during a stall carries the stall in its latency (no coordinated omission)", () => {
    const stallMs = 20;
    const run = runCounterLoad(env, { opNs: 500, stallAt: ops / 2, stallNs: stallMs * 1_000_000 });
    const summary = run.lines.map((line) => parseGuestLine(line)).find((line) => line?.type === "summary");
    assert.ok(summary?.type === "summary");
    assert.equal(summary.ops, ops);
    const histogram = newLatencyHistogram();
    addGuestHistogram(histogram, summary.hist, summary.hist_sub_bucket_bits);
    // The operation that stalled finished 20 ms late; those due during the stall ran right after
    // it, each late by what was left of the stall when it fell due (one per 10 µs), and those due
    // while the backlog ran (0.5 µs each) a little later: 1 000 to 1 150 of them over 10 ms.
    assert.ok(histogram.maxValue >= stallMs * 1000, `max ${histogram.maxValue} µs`);
    const over10 = summary.hist
      .filter(([index]) => bucketLowestValue(index, summary.hist_sub_bucket_bits) >= 10_000)
      .reduce((total, [, count]) => total + count, 0);
    assert.ok(over10 >= 1000 && over10 <= 1150, `${over10} operations over 10 ms, expected 1000 to 1150`);
    // Without the stall nothing waits longer than the guest's own sleep (at most a millisecond and an operation's time).
    assert.ok(histogram.getValueAtPercentile(50) <= 1_100, `p50 ${histogram.getValueAtPercentile(50)} µs`);
  });
});
