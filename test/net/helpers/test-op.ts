import { NumaxError } from "../../../src/errors/numax-error.ts";
import type { OpCodec } from "../../../src/net/op-codec.ts";
import { isPlainObject } from "../../../src/net/wire-value.ts";

/**
 * A stand-in op for tests of net/ until the CRDT op codec is composed in: it uses every kind of
 * wire value an op codec may produce (string, number, bigint, bytes, nested map).
 */
export interface TestOp {
  readonly origin: string;
  readonly seq: number;
  readonly delta: bigint;
  readonly payload: Uint8Array;
  readonly meta: { readonly tag: string; readonly weight: number };
}

export const testOpCodec: OpCodec<TestOp> = {
  encode: (op) => ({
    origin: op.origin,
    seq: op.seq,
    delta: op.delta,
    payload: op.payload,
    meta: { ...op.meta },
  }),
  decode(value) {
    if (!isPlainObject(value)) throw bad("op must be a map");
    const { origin, seq, delta, payload, meta } = value;
    if (Object.keys(value).length !== 5) throw bad("op must have exactly 5 fields");
    if (typeof origin !== "string") throw bad("origin must be a string");
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) throw bad("seq must be a count");
    if (typeof delta !== "bigint") throw bad("delta must be a 64-bit integer");
    if (!(payload instanceof Uint8Array)) throw bad("payload must be bytes");
    if (!isPlainObject(meta) || typeof meta.tag !== "string" || typeof meta.weight !== "number") {
      throw bad("meta must be { tag: string, weight: number }");
    }
    return {
      origin,
      seq,
      delta,
      payload: new Uint8Array(payload),
      meta: { tag: meta.tag, weight: meta.weight },
    };
  },
  validate(op) {
    if (op.payload.byteLength > 4096) throw bad("payload larger than 4096 bytes");
  },
};

export function testOp(seq: number, overrides: Partial<TestOp> = {}): TestOp {
  return {
    origin: "a".repeat(32),
    seq,
    delta: BigInt(seq) * 1_000_000_007n,
    payload: new Uint8Array([seq & 0xff, (seq >> 8) & 0xff, 7]),
    meta: { tag: `op-${seq}`, weight: seq / 4 },
    ...overrides,
  };
}

function bad(message: string): NumaxError {
  return new NumaxError("TEST_OP_MALFORMED", message);
}
