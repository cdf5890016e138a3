import type { NodeId } from "../identity/node-id.ts";

declare const opIdBrand: unique symbol;

/**
 * The identity of one operation: the node that made it and that node's sequence number for it.
 * Sequences start at 1 and have no gaps on their origin, which is what lets a version vector
 * (origin → highest contiguous sequence) summarise everything a replica has applied.
 *
 * @example
 * const id = makeOpId(nodeId, 42);
 */
export interface OpId {
  readonly origin: NodeId;
  readonly seq: number;
  readonly [opIdBrand]: true;
}

/** Bytes of an OpId as guests see RGA element ids: 16 bytes of origin, then the sequence as u64 big-endian. */
export const OP_ID_BYTES = 24;

export function makeOpId(origin: NodeId, seq: number): OpId {
  return { origin, seq } as OpId;
}

export function sameOpId(a: OpId, b: OpId): boolean {
  return a.seq === b.seq && a.origin === b.origin;
}

/** Total order: origin (bytewise, which is the hex string order), then sequence. */
export function compareOpIds(a: OpId, b: OpId): number {
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.seq - b.seq;
}

/** A string naming the OpId, for maps and messages: `<origin>:<seq>`. */
export function formatOpId(id: OpId): string {
  return `${id.origin}:${id.seq}`;
}

export function opIdToBytes(id: OpId): Uint8Array {
  const bytes = Buffer.allocUnsafe(OP_ID_BYTES);
  bytes.write(id.origin, 0, 16, "hex");
  bytes.writeBigUInt64BE(BigInt(id.seq), 16);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, OP_ID_BYTES);
}

/** undefined when `bytes` is not the 24-byte form of an OpId with a valid sequence. */
export function opIdFromBytes(bytes: Uint8Array): OpId | undefined {
  if (bytes.length !== OP_ID_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const seq = view.readBigUInt64BE(16);
  if (seq < 1n || seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return makeOpId(view.toString("hex", 0, 16) as NodeId, Number(seq));
}
