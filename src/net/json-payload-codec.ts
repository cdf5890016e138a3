import { NetError } from "./net-error.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import { describeWireType, isPlainObject, type WireValue } from "./wire-value.ts";

/** Deeper nesting than this is refused: no Numax message needs it, and it bounds the walk. */
export const JSON_MAX_DEPTH = 64;

const BYTES_KEY = "$bytes";
const BIGINT_KEY = "$bigint";
const BIGINT_PATTERN = /^-?(0|[1-9][0-9]{0,19})$/;
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** JSON, for `--debug-protocol`: readable in a packet capture, slower and larger than MessagePack. */
export const jsonPayloadCodec: PayloadCodec = {
  format: "json",
  encode(value: WireValue): Uint8Array {
    return utf8Encoder.encode(JSON.stringify(toJson(value, 0)));
  },
  decode(bytes: Uint8Array): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Decoder.decode(bytes));
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new NetError("NET_MESSAGE_MALFORMED", `invalid JSON payload: ${detail}`, { cause: error });
    }
    return fromJson(parsed, 0);
  },
};

function toJson(value: WireValue, depth: number): unknown {
  if (depth > JSON_MAX_DEPTH) throw encodeError(`nested deeper than ${JSON_MAX_DEPTH}`);
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw encodeError(`non-finite number ${value}`);
      return value;
    case "bigint":
      return { [BIGINT_KEY]: value.toString() };
    case "object":
      if (value === null) return null;
      if (value instanceof Uint8Array) return { [BYTES_KEY]: Buffer.from(value).toString("base64") };
      if (Array.isArray(value)) return value.map((item) => toJson(item, depth + 1));
      if (isPlainObject(value)) {
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) {
          if (key.startsWith("$"))
            throw encodeError(`object key "${key}" is reserved (keys starting with $)`);
          out[key] = toJson(item as WireValue, depth + 1);
        }
        return out;
      }
      throw encodeError(`unsupported value of type ${describeWireType(value)}`);
    default:
      throw encodeError(`unsupported value of type ${typeof value}`);
  }
}

function fromJson(value: unknown, depth: number): unknown {
  if (depth > JSON_MAX_DEPTH) throw decodeError(`nested deeper than ${JSON_MAX_DEPTH}`);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromJson(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === BYTES_KEY) return decodeBytes(record[BYTES_KEY]);
  if (keys.length === 1 && keys[0] === BIGINT_KEY) return decodeBigint(record[BIGINT_KEY]);
  for (const key of keys) {
    if (key.startsWith("$")) throw decodeError(`object key "${key}" is reserved`);
    record[key] = fromJson(record[key], depth + 1);
  }
  return record;
}

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBytes(encoded: unknown): Uint8Array {
  if (typeof encoded !== "string" || !BASE64_PATTERN.test(encoded)) {
    throw decodeError(`"${BYTES_KEY}" must hold canonical base64`);
  }
  return new Uint8Array(Buffer.from(encoded, "base64"));
}

function decodeBigint(encoded: unknown): bigint {
  if (typeof encoded !== "string" || !BIGINT_PATTERN.test(encoded)) {
    throw decodeError(`"${BIGINT_KEY}" must hold a decimal integer`);
  }
  const value = BigInt(encoded);
  if (value < -(2n ** 63n) || value >= 2n ** 64n)
    throw decodeError(`"${BIGINT_KEY}" ${encoded} is out of 64-bit range`);
  return value;
}

function encodeError(detail: string): NetError {
  return new NetError("NET_ENCODE_FAILED", `cannot encode JSON payload: ${detail}`);
}

function decodeError(detail: string): NetError {
  return new NetError("NET_MESSAGE_MALFORMED", `invalid JSON payload: ${detail}`);
}
