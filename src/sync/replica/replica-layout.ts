import { createHash } from "node:crypto";
import { RESERVE_START_SPACE } from "msgpackr";
import { FAMILY_DEFINITIONS, familyOfCode } from "../../crdt/crdt-families.ts";
import { crdtPackr } from "../../crdt/msgpack.ts";
import type { CrdtFamily } from "../../crdt/op.ts";
import type { OpId } from "../../crdt/op-id.ts";
import { NumaxError } from "../../errors/numax-error.ts";
import type { NodeId } from "../../identity/node-id.ts";

/**
 * Where replicated state lives in the store, all under the reserved `__nx/` namespace:
 *
 *   __nx/node/id                                   identity of the node that last opened the store (a TLS node's is its certificate's)
 *   __nx/clock                                     last HLC stamp issued or received
 *   __nx/compaction                                [[origin, seq]...]: removes behind collected tombstones are at most it
 *   __nx/vv/<origin:16>                            [contiguous seq, op-log floor] of one origin
 *   __nx/seen/<origin:16><seq:u64be>               a seen op above its origin's contiguous seq
 *   __nx/oplog/<page:u64be>                        ops of one group commit: msgpack array of ops (op codec form)
 *   __nx/crdt/<family:u8><keylen:u16be><key><cell> one cell of one CRDT
 *
 * `<cell>` is 0x00 + the family's cell key when that is at most CELL_KEY_INLINE_MAX bytes,
 * else 0x01 + SHA-256 of it (a long map field or set element; the record holds the full bytes).
 * Every value starts with RECORD_FORMAT_VERSION.
 */
export const RECORD_FORMAT_VERSION = 1;

export const CELL_KEY_INLINE_MAX = 512;

/**
 * Keys and values handed to the store are plain Uint8Arrays: a Buffer's `slice` is a view, not a
 * copy, and code that derives range bounds with `slice` would write into our constants.
 */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));

export const NODE_ID_KEY = text("__nx/node/id");
export const CLOCK_KEY = text("__nx/clock");
export const COMPACTION_KEY = text("__nx/compaction");
export const VV_PREFIX = text("__nx/vv/");
export const SEEN_PREFIX = text("__nx/seen/");
export const OPLOG_PREFIX = text("__nx/oplog/");
export const CRDT_PREFIX = text("__nx/crdt/");

/**
 * REPLICA_STORE_CORRUPT: a stored record is damaged or from an unknown format (the replica
 * refuses to start on it). REPLICA_STORE_WRITE_FAILED: the store refused a batch (the replica
 * stops accepting ops). REPLICA_CLOSED: used after close.
 */
export class ReplicaStoreError extends NumaxError {
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      code?: "REPLICA_STORE_CORRUPT" | "REPLICA_STORE_WRITE_FAILED" | "REPLICA_CLOSED";
    },
  ) {
    super(options?.code ?? "REPLICA_STORE_CORRUPT", message, options);
  }
}

export function originKey(prefix: Uint8Array, origin: NodeId): Uint8Array {
  const key = Buffer.allocUnsafe(prefix.length + 16);
  key.set(prefix, 0);
  key.write(origin, prefix.length, 16, "hex");
  return plain(key);
}

export function opIdKey(prefix: Uint8Array, id: OpId): Uint8Array {
  const key = Buffer.allocUnsafe(prefix.length + 24);
  key.set(prefix, 0);
  key.write(id.origin, prefix.length, 16, "hex");
  key.writeUIntBE(Math.floor(id.seq / 2 ** 32), prefix.length + 16, 4);
  key.writeUInt32BE(id.seq >>> 0, prefix.length + 20);
  return plain(key);
}

export function pageKey(prefix: Uint8Array, page: number): Uint8Array {
  const key = Buffer.allocUnsafe(prefix.length + 8);
  key.set(prefix, 0);
  key.writeUInt32BE(Math.floor(page / 2 ** 32), prefix.length);
  key.writeUInt32BE(page >>> 0, prefix.length + 4);
  return plain(key);
}

export function parsePageKey(key: Uint8Array, prefixLength: number): number {
  if (key.length !== prefixLength + 8) throw new ReplicaStoreError(`bad op-log key of ${key.length} bytes`);
  const view = Buffer.from(key.buffer, key.byteOffset, key.length);
  return view.readUInt32BE(prefixLength) * 2 ** 32 + view.readUInt32BE(prefixLength + 4);
}

/** The origin and sequence at the end of an `opIdKey` key. */
export function parseOpIdKey(key: Uint8Array, prefixLength: number): { origin: NodeId; seq: number } {
  if (key.length !== prefixLength + 24) throw new ReplicaStoreError(`bad op key of ${key.length} bytes`);
  const view = Buffer.from(key.buffer, key.byteOffset, key.length);
  const origin = view.toString("hex", prefixLength, prefixLength + 16) as NodeId;
  const seq = view.readUInt32BE(prefixLength + 16) * 2 ** 32 + view.readUInt32BE(prefixLength + 20);
  return { origin, seq };
}

export function parseOriginKey(key: Uint8Array, prefixLength: number): NodeId {
  if (key.length !== prefixLength + 16) throw new ReplicaStoreError(`bad origin key of ${key.length} bytes`);
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("hex", prefixLength) as NodeId;
}

/** The key prefix of one CRDT's cells. */
export function crdtObjectPrefix(family: CrdtFamily, key: string): Uint8Array {
  const keyLength = Buffer.byteLength(key);
  const prefix = Buffer.allocUnsafe(CRDT_PREFIX.length + 3 + keyLength);
  prefix.set(CRDT_PREFIX, 0);
  prefix[CRDT_PREFIX.length] = FAMILY_DEFINITIONS[family].code;
  prefix.writeUInt16BE(keyLength, CRDT_PREFIX.length + 1);
  prefix.write(key, CRDT_PREFIX.length + 3, "utf8");
  return plain(prefix);
}

export function cellStorageKey(objectPrefix: Uint8Array, cellKey: Uint8Array): Uint8Array {
  const inline = cellKey.length <= CELL_KEY_INLINE_MAX;
  const tail = inline ? cellKey : createHash("sha256").update(cellKey).digest();
  const key = new Uint8Array(objectPrefix.length + 1 + tail.length);
  key.set(objectPrefix, 0);
  key[objectPrefix.length] = inline ? 0 : 1;
  key.set(tail, objectPrefix.length + 1);
  return key;
}

/** The family and key of a stored cell, and the length of its object prefix. */
export function parseCellStorageKey(storageKey: Uint8Array): {
  family: CrdtFamily;
  key: string;
  prefixLength: number;
} {
  const view = Buffer.from(storageKey.buffer, storageKey.byteOffset, storageKey.length);
  const at = CRDT_PREFIX.length;
  const family = view.length >= at + 3 ? familyOfCode(view[at]) : undefined;
  if (family === undefined) throw new ReplicaStoreError(`bad CRDT cell key (family byte ${view[at]})`);
  const keyLength = view.readUInt16BE(at + 1);
  const prefixLength = at + 3 + keyLength;
  if (view.length <= prefixLength) throw new ReplicaStoreError("bad CRDT cell key (truncated)");
  return { family, key: view.toString("utf8", at + 3, prefixLength), prefixLength };
}

/**
 * `value` in MessagePack as a record value (the format version byte, then the payload), packed
 * straight after a byte msgpackr leaves free for the version: `withVersion(crdtPackr.pack(value))`
 * without its copy (a cell and a share of an op-log page per op applied). The record is a view of
 * msgpackr's output buffer, which it never writes again; the stores copy what they are given.
 */
export function packedRecord(value: unknown): Uint8Array {
  const packed = crdtPackr.pack(value, RESERVE_START_SPACE | 1);
  packed[0] = RECORD_FORMAT_VERSION;
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.length);
}

/** A record value: the format version byte, then the payload. */
export function withVersion(payload: Uint8Array): Uint8Array {
  const record = new Uint8Array(payload.length + 1);
  record[0] = RECORD_FORMAT_VERSION;
  record.set(payload, 1);
  return record;
}

/** The payload of a record, after checking its version byte. */
export function recordPayload(record: Uint8Array, what: string): Uint8Array {
  if (record.length === 0 || record[0] !== RECORD_FORMAT_VERSION) {
    throw new ReplicaStoreError(
      `${what}: record format ${record.length === 0 ? "missing" : record[0]} is not ${RECORD_FORMAT_VERSION} (written by a newer Numax?)`,
    );
  }
  return new Uint8Array(record.buffer, record.byteOffset + 1, record.length - 1);
}
