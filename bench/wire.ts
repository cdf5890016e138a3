/**
 * Sync wire cost: bytes per op on the wire, and encode/decode throughput of PushOps frames,
 * in both formats, for batches of 1, 64 and 1024 GCounter increments (the ops a counter
 * workload sends) and for a mixed batch of every op kind.
 *
 *   npm run bench -- wire [--quick] [--report FILE]
 *
 * Reference measured in the same run: msgpackr packing and unpacking the same ops' positional
 * arrays with no framing, message envelope or validation (`ratio_to_raw_msgpackr`), so the
 * figure says what the protocol's framing and strict decoding cost on top of the bare encoding.
 *
 * `hostile_bigint_ext`: a hostile peer's PushOps whose batchId is one 4 MiB msgpackr BigInt
 * extension (0x42), against the same PushOps holding a 4 MiB byte string instead, decoded in the
 * same run (`ratio_to_same_size_bin`): the node now refuses the extension before reading it.
 */
import { cpus, loadavg } from "node:os";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { hlcFromPhysicalMs } from "../src/crdt/hybrid-clock.ts";
import { makeOp, type Op } from "../src/crdt/op.ts";
import { opToMsgpackValue } from "../src/crdt/op-codec.ts";
import { makeOpId } from "../src/crdt/op-id.ts";
import { opArb } from "../src/crdt/testing/op-arbitraries.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../src/net/frame.ts";
import { firstRefusedExtensionType } from "../src/net/msgpack-extension-scan.ts";
import type { WireFormat } from "../src/net/wire-format.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { pushOpsWithLargeBatchId } from "../test/helpers/hostile-push-ops.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

const ORIGIN = "3f2a9c1e5b7d40e8a6c2f1b9d8e7a605" as NodeId;
const START_MS = 1_767_225_600_000;

function counterOps(count: number): Op[] {
  return Array.from({ length: count }, (_, i) =>
    makeOp(makeOpId(ORIGIN, 100_000 + i), hlcFromPhysicalMs(START_MS + i), "page/visits", {
      type: "gcounter_inc",
      slot: BigInt(100_000 + i),
    }),
  );
}

function opsPerSec(ops: number, run: () => void, budgetMs: number): number {
  let rounds = 0;
  const start = performance.now();
  while (performance.now() - start < budgetMs) {
    run();
    rounds++;
  }
  return Math.round((rounds * ops) / ((performance.now() - start) / 1000));
}

const HOSTILE_EXT_BYTES = 4 * 1024 * 1024;

/** `{ type: "PushOps", batchId: <4 MiB of ext 32 of `extType`, or a bin 32 when null>, ops: [] }`. */
function bigPushOps(extType: number | null): Uint8Array {
  return pushOpsWithLargeBatchId(extType, HOSTILE_EXT_BYTES);
}

/** Median time to decode (or refuse) each frame; both are refused, by the codec or the schema. */
function hostileBigIntDecode(codec: ReturnType<typeof createSyncMessageCodec>, rounds: number) {
  const timeMs = (body: Uint8Array): number => {
    const times = Array.from({ length: rounds }, () => {
      const start = performance.now();
      try {
        codec.decode(body, "msgpack");
      } catch {}
      return performance.now() - start;
    });
    return times.sort((x, y) => x - y)[Math.floor(rounds / 2)];
  };
  const extMs = timeMs(bigPushOps(0x42));
  const binMs = timeMs(bigPushOps(null));
  return {
    frame_bytes: bigPushOps(0x42).length,
    decode_ms: Number(extMs.toFixed(2)),
    same_size_bin_decode_ms: Number(binMs.toFixed(2)),
    ratio_to_same_size_bin: Number((extMs / binMs).toFixed(2)),
  };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const budgetMs = options.quick ? 100 : 1000;
  const codec = createSyncMessageCodec();
  const packr = new Packr({ useRecords: false, int64AsType: "bigint" });
  const batches: Record<string, Op[]> = {
    gcounter_1: counterOps(1),
    gcounter_64: counterOps(64),
    gcounter_1024: counterOps(1024),
    mixed_256: fc.sample(opArb, { numRuns: 256, seed: 42 }),
  };
  const results: Record<string, unknown> = {};
  for (const [name, ops] of Object.entries(batches)) {
    const row: Record<string, unknown> = { ops: ops.length };
    for (const format of ["msgpack", "json"] as WireFormat[]) {
      const message = { type: "PushOps" as const, batchId: 7, ops };
      const body = codec.encode(message, format);
      const frame = encodeFrame({ format, body }, DEFAULT_MAX_MESSAGE_SIZE_BYTES);
      const encodePerSec = opsPerSec(ops.length, () => codec.encode(message, format), budgetMs);
      const decodePerSec = opsPerSec(ops.length, () => codec.decode(body, format), budgetMs);
      row[format] = {
        frame_bytes: frame.length,
        bytes_per_op: Number((frame.length / ops.length).toFixed(1)),
        encode_ops_per_sec: encodePerSec,
        decode_ops_per_sec: decodePerSec,
      };
    }
    const values = ops.map(opToMsgpackValue);
    const raw = packr.pack(values);
    const rawEncode = opsPerSec(ops.length, () => packr.pack(values), budgetMs);
    const rawDecode = opsPerSec(ops.length, () => packr.unpack(raw), budgetMs);
    const msgpack = row.msgpack as {
      encode_ops_per_sec: number;
      decode_ops_per_sec: number;
      frame_bytes: number;
    };
    row.raw_msgpackr = { bytes: raw.length, encode_ops_per_sec: rawEncode, decode_ops_per_sec: rawDecode };
    // The header walk that refuses extensions, a part of the msgpack decode above.
    const body = codec.encode({ type: "PushOps" as const, batchId: 7, ops }, "msgpack");
    row.extension_scan_share_of_decode = Number(
      (
        opsPerSec(ops.length, () => firstRefusedExtensionType(body), budgetMs) ** -1 *
        msgpack.decode_ops_per_sec
      ).toFixed(3),
    );
    row.ratio_to_raw_msgpackr = {
      bytes: Number((msgpack.frame_bytes / raw.length).toFixed(3)),
      encode: Number((msgpack.encode_ops_per_sec / rawEncode).toFixed(3)),
      decode: Number((msgpack.decode_ops_per_sec / rawDecode).toFixed(3)),
    };
    results[name] = row;
  }
  results.hostile_bigint_ext = hostileBigIntDecode(codec, options.quick ? 3 : 9);
  return {
    benchmark: "wire",
    quick: options.quick,
    machine: { cpus: cpus().length, loadavg_1m: Number(loadavg()[0].toFixed(2)), node: process.version },
    batches: results,
  };
}
