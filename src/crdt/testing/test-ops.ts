import type { NodeId } from "../../identity/node-id.ts";
import type { HlcTimestamp } from "../hybrid-clock.ts";
import { makeOp, type Op, type OpKind } from "../op.ts";
import { makeOpId } from "../op-id.ts";

export const NODE_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" as NodeId;
export const NODE_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" as NodeId;
export const NODE_C = "cccccccccccccccccccccccccccccccc" as NodeId;

/** An op from `origin` with sequence `seq`, stamped `timestamp`, on key "k". */
export function opFrom<K extends OpKind>(origin: NodeId, seq: number, timestamp: number, kind: K): Op<K> {
  return makeOp(makeOpId(origin, seq), timestamp as HlcTimestamp, "k", kind);
}

export const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const decodeText = (value: Uint8Array): string => new TextDecoder().decode(value);
