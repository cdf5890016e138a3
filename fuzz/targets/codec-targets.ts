import assert from "node:assert/strict";
import { CrdtCodecError } from "../../src/crdt/field-codec.ts";
import { decodeOp, encodeOp } from "../../src/crdt/op-codec.ts";
import { decodeState, encodeState } from "../../src/crdt/state-codec.ts";
import type { Frame } from "../../src/net/frame.ts";
import { FrameDecoder } from "../../src/net/frame-decoder.ts";
import { NetError } from "../../src/net/net-error.ts";
import { WIRE_FORMATS, type WireFormat } from "../../src/net/wire-format.ts";
import { createSyncMessageCodec } from "../../src/sync/crdt-op-codec.ts";
import { dictionaryOf, type FuzzTarget } from "../fuzz-target.ts";

/** Runs `decode`; the decoder's documented refusal (`refusal`) ends the input, anything else escapes. */
function refusedOr<T>(refusal: abstract new (...args: never[]) => Error, decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof refusal) return undefined;
    throw error;
  }
}

/** The input's first byte picks the format, the rest is the body: both formats share one corpus. */
function formatAndBody(input: Uint8Array): { format: WireFormat; body: Uint8Array } {
  return { format: WIRE_FORMATS[(input[0] ?? 0) % WIRE_FORMATS.length]!, body: input.subarray(1) };
}

const MSGPACK_MARKERS = dictionaryOf(
  [0x90],
  [0x91],
  [0x92],
  [0x93],
  [0x80],
  [0x81],
  [0xc0],
  [0xc2],
  [0xc3],
  [0xc4, 0x01],
  [0xcf],
  [0xd3],
  [0xd9, 0x04],
  [0xdc, 0x00, 0x10],
  [0xde, 0x00, 0x10],
  [0xc7, 0x01, 0x00],
);
const JSON_TOKENS = dictionaryOf(
  '"type"',
  '"',
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  "null",
  "true",
  "-1",
  "1e309",
  '"\\u0000"',
);

const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * The frame decoder: the bytes a peer's socket delivers. Beyond refusing bad headers with a
 * NetError, the same bytes pushed in pieces must give the same frames as pushed at once.
 */
export const frameTarget: FuzzTarget = {
  name: "frame",
  description:
    "frame decoder (length-prefixed, format-tagged frames) fed whole and in pieces: same frames or the same NetError",
  inputBytesMax: 4096,
  dictionary: dictionaryOf([0, 0, 0, 1], [0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [1], [2], [3], [0, 1, 0, 0]),
  run(input) {
    const whole = refusedOr(NetError, () => new FrameDecoder(MAX_MESSAGE_BYTES).push(input));
    const decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
    const pieces: Frame[] = [];
    const step = 1 + ((input[input.length - 1] ?? 0) % 7);
    const split = refusedOr(NetError, () => {
      for (let offset = 0; offset < input.length; offset += step) {
        pieces.push(...decoder.push(input.subarray(offset, offset + step)));
      }
      return pieces;
    });
    assert.equal(split === undefined, whole === undefined, "whole and split input disagree on refusal");
    if (whole !== undefined) assert.deepEqual(pieces.map(copyFrame), whole.map(copyFrame));
  },
};

function copyFrame(frame: Frame): unknown {
  return { ...frame, body: Buffer.from(frame.body).toString("hex") };
}

const codec = createSyncMessageCodec();

/**
 * A decoded value with every byte array as hex: a decoder may hand out a Buffer where another
 * path gives a Uint8Array, the same bytes either way.
 */
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString("hex")}`;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [comparable(k), comparable(v)]));
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

/** Decoded, encoded again and decoded again: the same message (what a relay would forward). */
function messageRoundTrip(format: WireFormat, body: Uint8Array): void {
  const message = refusedOr(NetError, () => codec.decode(body, format));
  if (message === undefined) return;
  const again = codec.decode(codec.encode(message, format), format);
  assert.deepEqual(comparable(again), comparable(message));
}

export const messageMsgpackTarget: FuzzTarget = {
  name: "message-msgpack",
  description:
    "sync wire messages in MessagePack: refused with a NetError, or decode = decode(encode(decode))",
  inputBytesMax: 4096,
  dictionary: MSGPACK_MARKERS,
  run: (input) => messageRoundTrip("msgpack", input),
};

export const messageJsonTarget: FuzzTarget = {
  name: "message-json",
  description: "sync wire messages in JSON: refused with a NetError, or decode = decode(encode(decode))",
  inputBytesMax: 4096,
  dictionary: JSON_TOKENS,
  run: (input) => messageRoundTrip("json", input),
};

export const opTarget: FuzzTarget = {
  name: "op",
  description:
    "CRDT op codec, both formats (first byte): refused with CRDT_MALFORMED, or a stable round trip",
  inputBytesMax: 2048,
  dictionary: [...MSGPACK_MARKERS, ...JSON_TOKENS],
  run(input) {
    const { format, body } = formatAndBody(input);
    const op = refusedOr(CrdtCodecError, () => decodeOp(body, format));
    if (op !== undefined)
      assert.deepEqual(comparable(decodeOp(encodeOp(op, format), format)), comparable(op));
  },
};

export const stateTarget: FuzzTarget = {
  name: "state",
  description:
    "CRDT state codec (whole-state snapshots), both formats: refused with CRDT_MALFORMED, or a stable round trip",
  inputBytesMax: 4096,
  dictionary: [...MSGPACK_MARKERS, ...JSON_TOKENS],
  run(input) {
    const { format, body } = formatAndBody(input);
    const state = refusedOr(CrdtCodecError, () => decodeState(body, format));
    if (state !== undefined) {
      assert.deepEqual(comparable(decodeState(encodeState(state, format), format)), comparable(state));
    }
  },
};
