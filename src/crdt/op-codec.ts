import {
  bytesCodec,
  CrdtCodecError,
  isPlainObject,
  type JsonValue,
  listCodec,
  malformed,
  nodeIdCodec,
  opIdCodec,
  optionalCodec,
  safeUintCodec,
  textCodec,
  timestampCodec,
  u64Codec,
  unionCodec,
} from "./field-codec.ts";
import { assertBatchStamped, lwwMapEntriesCodec } from "./lww-map-entries-codec.ts";
import { crdtPackr } from "./msgpack.ts";
import { makeOp, type Op, type OpKind } from "./op.ts";
import { makeOpId } from "./op-id.ts";

/** Same bounds as the guest ABI: keys 1 KiB of UTF-8, values, fields and elements 1 MiB. */
export const MAX_KEY_BYTES = 1024;
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Tags one ORSet remove may cover (the message-size limit usually binds first). */
export const MAX_REMOVE_TAGS = 1 << 20;

/** Version of the op encoding; the first element of every msgpack op, `v` in JSON. */
export const OP_FORMAT_VERSION = 1;

export type WireFormat = "msgpack" | "json";

const bytes = bytesCodec(MAX_VALUE_BYTES);
const keyCodec = textCodec(MAX_KEY_BYTES);
const seqCodec = safeUintCodec(1);

/** The kind code of `lww_map_batch` (the op-log page writer packs its entries by hand). */
export const LWW_MAP_BATCH_CODE = 11;

/** msgpack codes are part of the wire format: never renumber, only add. */
export const opKindCodec = unionCodec<OpKind>("op kind", {
  gcounter_inc: { code: 1, fields: { slot: u64Codec } },
  pncounter_inc: { code: 2, fields: { slot: u64Codec } },
  pncounter_dec: { code: 3, fields: { slot: u64Codec } },
  lww_set: { code: 4, fields: { value: bytes } },
  lww_map_set: { code: 5, fields: { field: bytes, value: bytes } },
  lww_map_remove: { code: 6, fields: { field: bytes } },
  orset_add: { code: 7, fields: { element: bytes } },
  orset_remove: { code: 8, fields: { element: bytes, tags: listCodec(opIdCodec, MAX_REMOVE_TAGS) } },
  rga_insert: { code: 9, fields: { parent: optionalCodec(opIdCodec), value: bytes } },
  rga_delete: { code: 10, fields: { target: opIdCodec } },
  lww_map_batch: { code: LWW_MAP_BATCH_CODE, fields: { entries: lwwMapEntriesCodec(bytes) } },
});

/** `[version, origin, seq, timestamp, key]`: what every op's msgpack value starts with. */
export function opHeadToMsgpackValue(op: Op): unknown[] {
  return [OP_FORMAT_VERSION, nodeIdCodec.toMsgpack(op.origin), op.id.seq, op.timestamp, op.key];
}

/** `[version, origin, seq, timestamp, key, kindCode, ...kindFields]`: for embedding in larger messages. */
export function opToMsgpackValue(op: Op): unknown[] {
  const out = opHeadToMsgpackValue(op);
  opKindCodec.writeFields(op.kind, out);
  return out;
}

/** Where in an op each field is, for error messages. */
interface OpFieldPaths {
  readonly version: string;
  readonly origin: string;
  readonly seq: string;
  readonly timestamp: string;
  readonly key: string;
  readonly kind: string;
}

function opFieldPaths(path: string): OpFieldPaths {
  return {
    version: `${path}.version`,
    origin: `${path}.origin`,
    seq: `${path}.seq`,
    timestamp: `${path}.timestamp`,
    key: `${path}.key`,
    kind: `${path}.kind`,
  };
}

/** The default path's, built once: built per op, they were most of a decoded op's garbage. */
const OP_FIELD_PATHS = opFieldPaths("op");

export function opFromMsgpackValue(raw: unknown, path = "op"): Op {
  if (!Array.isArray(raw) || raw.length < 6) {
    return malformed(path, "an op [version, origin, seq, timestamp, key, kind...]", raw);
  }
  const paths = path === "op" ? OP_FIELD_PATHS : opFieldPaths(path);
  if (raw[0] !== OP_FORMAT_VERSION) return malformed(paths.version, `op format ${OP_FORMAT_VERSION}`, raw[0]);
  const origin = nodeIdCodec.fromMsgpack(raw[1], paths.origin);
  const seq = seqCodec.fromMsgpack(raw[2], paths.seq);
  const timestamp = timestampCodec.fromMsgpack(raw[3], paths.timestamp);
  const key = keyCodec.fromMsgpack(raw[4], paths.key);
  const kind = opKindCodec.readFields(raw, 5, paths.kind);
  assertBatchStamped(kind, timestamp, paths.kind);
  return makeOp(makeOpId(origin, seq), timestamp, key, kind);
}

/** `{ v, id: { origin, seq }, origin, timestamp, key, kind: { type, ... } }`. */
export function opToJsonValue(op: Op): JsonValue {
  return {
    v: OP_FORMAT_VERSION,
    id: opIdCodec.toJson(op.id),
    origin: op.origin,
    timestamp: op.timestamp,
    key: op.key,
    kind: opKindCodec.toJson(op.kind),
  };
}

const JSON_OP_FIELDS = ["v", "id", "origin", "timestamp", "key", "kind"];

export function opFromJsonValue(raw: unknown, path = "op"): Op {
  if (!isPlainObject(raw)) return malformed(path, "an op object", raw);
  for (const name of Object.keys(raw)) {
    if (!JSON_OP_FIELDS.includes(name)) throw new CrdtCodecError(`${path}: unknown field "${name}"`);
  }
  if (raw.v !== OP_FORMAT_VERSION) return malformed(`${path}.v`, `op format ${OP_FORMAT_VERSION}`, raw.v);
  const id = opIdCodec.fromJson(raw.id, `${path}.id`);
  const origin = nodeIdCodec.fromJson(raw.origin, `${path}.origin`);
  if (origin !== id.origin) throw new CrdtCodecError(`${path}.origin: differs from id.origin`);
  const timestamp = timestampCodec.fromJson(raw.timestamp, `${path}.timestamp`);
  const key = keyCodec.fromJson(raw.key, `${path}.key`);
  const kind = opKindCodec.fromJson(raw.kind, `${path}.kind`);
  assertBatchStamped(kind, timestamp, `${path}.kind`);
  return makeOp(id, timestamp, key, kind);
}

export function encodeOp(op: Op, format: WireFormat = "msgpack"): Uint8Array {
  if (format === "json") return Buffer.from(JSON.stringify(opToJsonValue(op)));
  return crdtPackr.pack(opToMsgpackValue(op));
}

/** Decodes and validates one op; any malformed input throws CrdtCodecError (code CRDT_MALFORMED). */
export function decodeOp(encoded: Uint8Array, format: WireFormat = "msgpack"): Op {
  return guardDecode("op", () =>
    format === "json" ? opFromJsonValue(parseJson(encoded)) : opFromMsgpackValue(unpackMsgpack(encoded)),
  );
}

/** Runs a decoder so that nothing but CrdtCodecError escapes it. */
export function guardDecode<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CrdtCodecError) throw error;
    throw new CrdtCodecError(`malformed ${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

export function unpackMsgpack(encoded: Uint8Array): unknown {
  try {
    return crdtPackr.unpack(encoded);
  } catch (error) {
    throw new CrdtCodecError(`not valid MessagePack (${encoded.length} bytes)`, { cause: error });
  }
}

export function parseJson(encoded: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length).toString("utf8"));
  } catch (error) {
    throw new CrdtCodecError(`not valid JSON (${encoded.length} bytes)`, { cause: error });
  }
}
