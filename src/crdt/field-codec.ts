import { ON_HEAP_BYTES_MAX } from "../bytes/bytes-key.ts";
import { NumaxError } from "../errors/numax-error.ts";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import { makeOpId, type OpId } from "./op-id.ts";
import { isU64 } from "./saturating-u64.ts";

/** Malformed op or state bytes: names the field that was wrong. Never thrown for well-formed input. */
export class CrdtCodecError extends NumaxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CRDT_MALFORMED", message, options);
  }
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Converts one typed value to and from its MessagePack value (as msgpackr packs and unpacks it)
 * and its JSON value, validating on the way in. Both forms carry the same meaning: bytes are
 * msgpack bin / JSON base64, u64 are msgpack integers / JSON decimal strings.
 */
export interface ValueCodec<T> {
  readonly expected: string;
  toMsgpack(value: T): unknown;
  fromMsgpack(raw: unknown, path: string): T;
  toJson(value: T): JsonValue;
  fromJson(raw: unknown, path: string): T;
}

export function malformed(path: string, expected: string, raw: unknown): never {
  throw new CrdtCodecError(`${path}: expected ${expected}, got ${describeRaw(raw)}`);
}

function describeRaw(raw: unknown): string {
  if (raw === null) return "null";
  if (raw === undefined) return "nothing";
  if (raw instanceof Uint8Array) return `${raw.length} bytes`;
  if (Array.isArray(raw)) return `an array of ${raw.length}`;
  if (typeof raw === "string") return raw.length > 40 ? "a long string" : JSON.stringify(raw);
  if (typeof raw === "object") return "an object";
  return `${typeof raw} ${String(raw)}`;
}

/**
 * `raw`, a byte string msgpackr copied out of its source (every Packr here has `copyBuffers`), as
 * a plain Uint8Array. Unpacked from a plain array (the wire's frames, msgpack-payload-codec.ts;
 * the store's records, through `recordPayload`) it is one already, and this op's own: kept as it
 * is, so nothing but `copyBuffers` keeps it from sharing a buffer the store or the socket reuses
 * (crdt-op-codec.test.ts and op-log-page-record.test.ts zero the source after decoding). Unpacked
 * from a Buffer (an `nx oplog export` file, read by `nx replay`) it is a Buffer: a small one is
 * copied once more, into a new on-heap array, since taking a view of it asks for its `.buffer`,
 * which makes V8 move it off-heap into an ArrayBuffer of its own (`npm run bench --
 * replica-apply`'s decode column: 0.98-1.26 µs per op against 1.25-1.67 with views,
 * docs/design/sync.md); a large one is viewed, not copied again.
 */
function plainBytes(raw: Uint8Array): Uint8Array {
  if (raw.constructor === Uint8Array) return raw;
  return raw.length <= ON_HEAP_BYTES_MAX
    ? new Uint8Array(raw)
    : new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

export function bytesCodec(maxBytes: number): ValueCodec<Uint8Array> {
  const expected = `bytes (at most ${maxBytes})`;
  return {
    expected,
    toMsgpack: (value) => value,
    fromMsgpack(raw, path) {
      if (!(raw instanceof Uint8Array) || raw.length > maxBytes) return malformed(path, expected, raw);
      return plainBytes(raw);
    },
    toJson: (value) => Buffer.from(value.buffer, value.byteOffset, value.length).toString("base64"),
    fromJson(raw, path) {
      if (typeof raw !== "string" || raw.length > Math.ceil(maxBytes / 3) * 4 || !BASE64.test(raw)) {
        return malformed(path, `base64 ${expected}`, raw);
      }
      const bytes = Buffer.from(raw, "base64");
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    },
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Unsigned 64-bit integer (counter slots). */
export const u64Codec: ValueCodec<bigint> = {
  expected: "an unsigned 64-bit integer",
  toMsgpack: (value) => (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value),
  fromMsgpack(raw, path) {
    // msgpackr hands back integers up to 2^53 (exact in a double) as numbers, larger ones as bigint.
    if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0 && raw <= 2 ** 53) return BigInt(raw);
    if (typeof raw === "bigint" && isU64(raw)) return raw;
    return malformed(path, this.expected, raw);
  },
  toJson: (value) => value.toString(),
  fromJson(raw, path) {
    if (typeof raw !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(raw) || !isU64(BigInt(raw))) {
      return malformed(path, "an unsigned 64-bit integer as a decimal string", raw);
    }
    return BigInt(raw);
  },
};

/** Non-negative safe integer (sequences, timestamps); `min` excludes 0 where it has no meaning. */
export function safeUintCodec<T extends number = number>(min: number): ValueCodec<T> {
  const expected = `an integer from ${min} to 2^53-1`;
  const check = (raw: unknown, path: string): T =>
    typeof raw === "number" && Number.isSafeInteger(raw) && raw >= min
      ? (raw as T)
      : malformed(path, expected, raw);
  return { expected, toMsgpack: (v) => v, fromMsgpack: check, toJson: (v) => v, fromJson: check };
}

export const timestampCodec: ValueCodec<HlcTimestamp> = safeUintCodec<HlcTimestamp>(0);

/** UTF-8 text of at most `maxBytes` encoded bytes (CRDT keys). */
export function textCodec(maxBytes: number): ValueCodec<string> {
  const expected = `text of at most ${maxBytes} UTF-8 bytes`;
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes: a short key (every op carries one) is not counted.
  const check = (raw: unknown, path: string): string =>
    typeof raw === "string" &&
    raw.length <= maxBytes &&
    (raw.length * 3 <= maxBytes || Buffer.byteLength(raw) <= maxBytes)
      ? raw
      : malformed(path, expected, raw);
  return { expected, toMsgpack: (v) => v, fromMsgpack: check, toJson: (v) => v, fromJson: check };
}

/** NodeIds a replica meets are few (its peers): their bytes are kept rather than re-encoded per op. */
const nodeIdBytesCache = new Map<NodeId, Uint8Array>();
const NODE_ID_BYTES_CACHE_MAX = 4096;

function nodeIdBytes(value: NodeId): Uint8Array {
  let bytes = nodeIdBytesCache.get(value);
  if (bytes === undefined) {
    if (nodeIdBytesCache.size >= NODE_ID_BYTES_CACHE_MAX) nodeIdBytesCache.clear();
    bytes = new Uint8Array(Buffer.from(value, "hex"));
    nodeIdBytesCache.set(value, bytes);
  }
  return bytes;
}

/** Decoding meets the same few origins over and over (hydration, op batches): the last one is kept. */
const lastDecoded = { bytes: new Uint8Array(16), id: "" as NodeId };

function nodeIdOfBytes(raw: Uint8Array): NodeId {
  const last = lastDecoded.bytes;
  let same = lastDecoded.id !== "";
  for (let i = 0; same && i < 16; i++) same = raw[i] === last[i];
  if (same) return lastDecoded.id;
  last.set(raw);
  lastDecoded.id = Buffer.from(raw.buffer, raw.byteOffset, 16).toString("hex") as NodeId;
  return lastDecoded.id;
}

/** NodeId: 16 bytes in msgpack, 32 lowercase hex characters in JSON. */
export const nodeIdCodec: ValueCodec<NodeId> = {
  expected: "a NodeId",
  toMsgpack: nodeIdBytes,
  fromMsgpack(raw, path) {
    if (!(raw instanceof Uint8Array) || raw.length !== 16) return malformed(path, "a NodeId (16 bytes)", raw);
    return nodeIdOfBytes(raw);
  },
  toJson: (value) => value,
  fromJson(raw, path) {
    if (typeof raw !== "string" || !isNodeId(raw)) return malformed(path, "a NodeId (32 lowercase hex)", raw);
    return raw;
  },
};

const seqCodec = safeUintCodec(1);

/** OpId: `[origin, seq]` in msgpack, `{ origin, seq }` in JSON. */
export const opIdCodec: ValueCodec<OpId> = {
  expected: "an OpId",
  toMsgpack: (value) => [nodeIdCodec.toMsgpack(value.origin), value.seq],
  fromMsgpack(raw, path) {
    if (!Array.isArray(raw) || raw.length !== 2) return malformed(path, "an OpId [origin, seq]", raw);
    return makeOpId(
      nodeIdCodec.fromMsgpack(raw[0], `${path}.origin`),
      seqCodec.fromMsgpack(raw[1], `${path}.seq`),
    );
  },
  toJson: (value) => ({ origin: value.origin, seq: value.seq }),
  fromJson(raw, path) {
    if (!isPlainObject(raw)) return malformed(path, "an OpId { origin, seq }", raw);
    rejectUnknownFields(raw, ["origin", "seq"], path);
    return makeOpId(
      nodeIdCodec.fromJson(raw.origin, `${path}.origin`),
      seqCodec.fromJson(raw.seq, `${path}.seq`),
    );
  },
};

export const booleanCodec: ValueCodec<boolean> = {
  expected: "a boolean",
  toMsgpack: (v) => v,
  fromMsgpack: (raw, path) => (typeof raw === "boolean" ? raw : malformed(path, "a boolean", raw)),
  toJson: (v) => v,
  fromJson: (raw, path) => (typeof raw === "boolean" ? raw : malformed(path, "a boolean", raw)),
};

/** undefined is msgpack nil / JSON null. */
export function optionalCodec<T>(inner: ValueCodec<T>): ValueCodec<T | undefined> {
  const expected = `${inner.expected} or null`;
  return {
    expected,
    toMsgpack: (value) => (value === undefined ? null : inner.toMsgpack(value)),
    fromMsgpack: (raw, path) =>
      raw === null || raw === undefined ? undefined : inner.fromMsgpack(raw, path),
    toJson: (value) => (value === undefined ? null : inner.toJson(value)),
    fromJson: (raw, path) => (raw === null ? undefined : inner.fromJson(raw, path)),
  };
}

export function listCodec<T>(inner: ValueCodec<T>, maxItems: number): ValueCodec<readonly T[]> {
  const expected = `a list of at most ${maxItems} × ${inner.expected}`;
  return {
    expected,
    toMsgpack: (values) => values.map((v) => inner.toMsgpack(v)),
    fromMsgpack(raw, path) {
      if (!Array.isArray(raw) || raw.length > maxItems) return malformed(path, expected, raw);
      return raw.map((item, i) => inner.fromMsgpack(item, `${path}[${i}]`));
    },
    toJson: (values) => values.map((v) => inner.toJson(v)),
    fromJson(raw, path) {
      if (!Array.isArray(raw) || raw.length > maxItems) return malformed(path, expected, raw);
      return raw.map((item, i) => inner.fromJson(item, `${path}[${i}]`));
    },
  };
}

export type FieldCodecs<T> = { readonly [K in keyof T]-?: ValueCodec<T[K]> };

/**
 * A record: a positional array in msgpack (compact), an object with named fields in JSON.
 * Field order is the order of `fields`.
 */
export interface RecordCodec<T> extends ValueCodec<T> {
  /** Appends the fields' msgpack values to `out`. */
  writeFields(value: T, out: unknown[]): void;
  /**
   * Reads the fields from `raw` starting at `offset`; `raw.length` must be exactly offset + field
   * count. They are set on `into` (a new object by default), which is returned.
   */
  readFields(raw: readonly unknown[], offset: number, path: string, into?: object): T;
  readonly fieldCount: number;
}

export function recordCodec<T>(name: string, fields: FieldCodecs<T>): RecordCodec<T> {
  const entries = Object.entries(fields) as [keyof T & string, ValueCodec<unknown>][];
  const names = entries.map(([key]) => key);
  const expected = `${name} [${names.join(", ")}]`;
  // The fields' paths under the last path read (decoding reads every op's kind under one path).
  let lastPath: string | undefined;
  let fieldPaths: string[] = [];
  const codec: RecordCodec<T> = {
    expected,
    fieldCount: entries.length,
    writeFields(value, out) {
      for (const [key, field] of entries) out.push(field.toMsgpack(value[key]));
    },
    readFields(raw, offset, path, into = {}) {
      if (raw.length !== offset + entries.length) return malformed(path, expected, raw.slice(offset));
      const value = into as Record<string, unknown>;
      if (path !== lastPath) {
        fieldPaths = names.map((key) => `${path}.${key}`);
        lastPath = path;
      }
      for (let i = 0; i < entries.length; i++) {
        const [key, field] = entries[i];
        value[key] = field.fromMsgpack(raw[offset + i], fieldPaths[i]);
      }
      return value as T;
    },
    toMsgpack(value) {
      const out: unknown[] = [];
      codec.writeFields(value, out);
      return out;
    },
    fromMsgpack(raw, path) {
      if (!Array.isArray(raw)) return malformed(path, expected, raw);
      return codec.readFields(raw, 0, path);
    },
    toJson(value) {
      const out: { [key: string]: JsonValue } = {};
      for (const [key, field] of entries) out[key] = field.toJson(value[key]);
      return out;
    },
    fromJson(raw, path) {
      if (!isPlainObject(raw)) return malformed(path, `${name} object`, raw);
      rejectUnknownFields(raw, names, path);
      const value = {} as Record<string, unknown>;
      for (const [key, field] of entries) {
        if (!(key in raw)) throw new CrdtCodecError(`${path}.${key}: missing (${field.expected})`);
        value[key] = field.fromJson(raw[key], `${path}.${key}`);
      }
      return value as T;
    },
  };
  return codec;
}

/** A union's msgpack form written into, and read from, a larger array (no array of its own). */
export interface UnionCodec<U> extends ValueCodec<U> {
  /** Appends `[code, ...fields]` to `out`. */
  writeFields(value: U, out: unknown[]): void;
  /** Reads `[code, ...fields]` from `raw` starting at `offset`, to its end. */
  readFields(raw: readonly unknown[], offset: number, path: string): U;
}

/**
 * A union discriminated on `type`: msgpack `[code, ...fields]` with a small integer code per
 * variant, JSON `{ type, ...fields }`.
 */
export function unionCodec<U extends { readonly type: string }>(
  name: string,
  variants: {
    readonly [T in U["type"]]: {
      readonly code: number;
      readonly fields: FieldCodecs<Omit<Extract<U, { type: T }>, "type">>;
    };
  },
): UnionCodec<U> {
  const byName = new Map<string, { code: number; record: RecordCodec<object> }>();
  const byCode = new Map<number, { type: string; record: RecordCodec<object> }>();
  for (const [type, variant] of Object.entries(variants) as [
    string,
    { code: number; fields: FieldCodecs<object> },
  ][]) {
    const record = recordCodec<object>(type, variant.fields);
    byName.set(type, { code: variant.code, record });
    byCode.set(variant.code, { type, record });
  }
  const typeNames = [...byName.keys()].join(" | ");
  const codec: UnionCodec<U> = {
    expected: name,
    writeFields(value, out) {
      const variant = byName.get(value.type)!;
      out.push(variant.code);
      variant.record.writeFields(value, out);
    },
    readFields(raw, offset, path) {
      if (raw.length <= offset) return malformed(path, `${name} [code, ...fields]`, raw.slice(offset));
      const variant = byCode.get(raw[offset] as number);
      if (variant === undefined) return malformed(`${path}.type`, `a ${name} code`, raw[offset]);
      return variant.record.readFields(raw, offset + 1, path, { type: variant.type }) as unknown as U;
    },
    toMsgpack(value) {
      const out: unknown[] = [];
      codec.writeFields(value, out);
      return out;
    },
    fromMsgpack(raw, path) {
      if (!Array.isArray(raw)) return malformed(path, `${name} [code, ...fields]`, raw);
      return codec.readFields(raw, 0, path);
    },
    toJson(value) {
      const variant = byName.get(value.type)!;
      return { type: value.type, ...(variant.record.toJson(value) as { [key: string]: JsonValue }) };
    },
    fromJson(raw, path) {
      if (!isPlainObject(raw)) return malformed(path, `${name} object`, raw);
      const variant = typeof raw.type === "string" ? byName.get(raw.type) : undefined;
      if (variant === undefined) return malformed(`${path}.type`, `one of ${typeNames}`, raw.type);
      const { type, ...fields } = raw;
      return { type, ...variant.record.fromJson(fields, path) } as unknown as U;
    },
  };
  return codec;
}

export function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw) && !(raw instanceof Uint8Array);
}

function rejectUnknownFields(raw: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw new CrdtCodecError(`${path}: unknown field "${key}"`);
  }
}
