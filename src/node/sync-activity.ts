import { hlcPhysicalMs } from "../crdt/hybrid-clock.ts";
import { FAMILY_OF_OP_TYPE, type Op, opOldestStamp } from "../crdt/op.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { SyncActivityObserver } from "../sync/sync-service.ts";
import { crdtFamilyName } from "./crdt-values.ts";
import { OpRing } from "./op-ring.ts";
import { ThroughputMeter } from "./throughput-meter.ts";

/** What sync did recently, kept in memory for the node's introspection (op flow, throughput). */
export interface SyncActivity {
  /** Handed to the SyncService: it reports every op and error here. */
  readonly observer: SyncActivityObserver;
  readonly ring: OpRing;
  readonly meter: ThroughputMeter;
}

/** A node's SyncActivity; `nowMs` is the wall clock (op stamps are wall-clock based). */
export function createSyncActivity(nowMs: () => number): SyncActivity {
  const ring = new OpRing();
  const meter = new ThroughputMeter();
  const record = (op: Op, direction: "in" | "out", peer: NodeId | null, at: string): void =>
    ring.record({
      at,
      direction,
      peer,
      origin: op.origin,
      key: op.key,
      family: crdtFamilyName(FAMILY_OF_OP_TYPE[op.kind.type]),
      type: op.kind.type,
    });
  return {
    ring,
    meter,
    observer: {
      localOps: (ops) => {
        const now = nowMs();
        const at = new Date(now).toISOString();
        for (const op of ops) record(op, "out", null, at);
        meter.opsOut(ops.length, now);
      },
      remoteOps: (peer, ops) => {
        const now = nowMs();
        const at = new Date(now).toISOString();
        for (const op of ops) {
          record(op, "in", peer, at);
          meter.latency(Math.max(0, now - hlcPhysicalMs(opOldestStamp(op))), now);
        }
        meter.opsIn(ops.length, now);
      },
      error: (kind) => meter.error(kind, nowMs()),
    },
  };
}
