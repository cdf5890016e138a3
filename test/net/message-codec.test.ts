import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import fc from "fast-check";
import { createMessageCodec, payloadCodecFor } from "../../src/net/message-codec.ts";
import { type Message, PROTOCOL_VERSION, PUSH_OPS_OPS_MAX } from "../../src/net/messages.ts";
import { msgpackArrayLengthAt } from "../../src/net/msgpack-peek.ts";
import { NetError } from "../../src/net/net-error.ts";
import type { WireFormat } from "../../src/net/wire-format.ts";
import { fuzzSettings } from "./helpers/fuzz-settings.ts";
import { messageArb } from "./helpers/message-arbitraries.ts";
import { type TestOp, testOp, testOpCodec } from "./helpers/test-op.ts";

const codec = createMessageCodec(testOpCodec);
const FORMATS: readonly WireFormat[] = ["msgpack", "json"];
const NODE_A = "0123456789abcdef0123456789abcdef";

/** Encodes a raw wire object (bypassing the message encoder) in `format`. */
function raw(value: unknown, format: WireFormat): Uint8Array {
  return payloadCodecFor(format).encode(value as never);
}

function assertMalformed(value: unknown, pattern: RegExp): void {
  for (const format of FORMATS) {
    assert.throws(
      () => codec.decode(raw(value, format), format),
      (error: unknown) => {
        assert.ok(error instanceof NetError, String(error));
        assert.equal(error.code, "NET_MESSAGE_MALFORMED", error.message);
        assert.match(error.message, pattern);
        assert.equal(error.wireCode, "malformed");
        return true;
      },
      `${format}: ${inspect(value)}`,
    );
  }
}

describe("message codec round trips", () => {
  test("every message type, both formats (property)", () => {
    fc.assert(
      fc.property(messageArb, fc.constantFrom(...FORMATS), (message, format) => {
        const decoded = codec.decode(codec.encode(message, format), format);
        assert.deepEqual(normalize(decoded), normalize(message));
      }),
      fuzzSettings(400),
    );
  });

  test("bigint, bytes and fractional numbers keep their types in both formats", () => {
    const op = testOp(3, {
      delta: 2n ** 64n - 1n,
      payload: new Uint8Array([0, 255]),
      meta: { tag: "x", weight: 0.1 },
    });
    for (const format of FORMATS) {
      const decoded = codec.decode(codec.encode({ type: "PushOps", batchId: 1, ops: [op] }, format), format);
      assert.equal(decoded.type, "PushOps");
      const [back] = (decoded as { ops: readonly TestOp[] }).ops;
      assert.equal(back.delta, 2n ** 64n - 1n);
      assert.deepEqual([...back.payload], [0, 255]);
      assert.equal(back.meta.weight, 0.1);
    }
  });
});

describe("strict decoding", () => {
  const hello = {
    type: "Hello",
    nodeId: NODE_A,
    protocolVersion: PROTOCOL_VERSION,
    formats: ["msgpack", "json"],
    preferredFormat: "msgpack",
    versionVector: { [NODE_A]: 4 },
  };

  test("not a map, no type, unknown type", () => {
    assertMalformed([1, 2], /expected a map, got array/);
    assertMalformed("Hello", /expected a map, got string/);
    assertMalformed({ nonce: 1 }, /unknown message type/);
    assertMalformed({ type: "Gossip" }, /unknown message type "Gossip"/);
  });

  test("missing and unknown fields", () => {
    assertMalformed({ type: "Ping" }, /Ping message: missing field "nonce"/);
    assertMalformed({ type: "Ping", nonce: 1, extra: true }, /unknown field "extra"/);
  });

  test("every field is type-checked", () => {
    assertMalformed({ type: "Ping", nonce: -1 }, /"nonce" must be a non-negative integer, got number/);
    assertMalformed({ type: "Pong", nonce: 1.5 }, /"nonce" must be a non-negative integer/);
    assertMalformed({ type: "Pong", nonce: "1" }, /got string/);
    assertMalformed({ type: "PushOpsAck", batchId: 1, applied: null }, /"applied" .* got null/);
    assertMalformed({ type: "PushOps", batchId: 1, ops: {} }, /"ops" must be an array of ops, got object/);
    assertMalformed({ type: "PullSince", versionVector: {}, limit: 0 }, /"limit" must be at least 1/);
    assertMalformed({ type: "PullSince", versionVector: [], limit: 5 }, /"versionVector" must be a map/);
    assertMalformed({ type: "PullSince", versionVector: { zz: 1 }, limit: 5 }, /key that is not a NodeId/);
    assertMalformed({ type: "PullSince", versionVector: { [NODE_A]: -2 }, limit: 5 }, /maps .* to number/);
    assertMalformed({ ...hello, nodeId: "ABC" }, /"nodeId" must be a NodeId/);
    assertMalformed({ ...hello, formats: [] }, /"formats" must be a non-empty array/);
    assertMalformed({ ...hello, formats: ["msgpack", "msgpack"] }, /lists msgpack twice/);
    assertMalformed({ ...hello, formats: ["bincode"] }, /"formats" must be an array of formats/);
    assertMalformed({ ...hello, formats: ["json"], preferredFormat: "msgpack" }, /not one of "formats"/);
    assertMalformed(
      { type: "HelloAck", chosenFormat: "xml", nodeId: NODE_A, versionVector: {} },
      /"chosenFormat"/,
    );
    assertMalformed(
      { type: "Error", code: "teapot", message: "", retryable: false },
      /"code" must be one of/,
    );
    assertMalformed(
      { type: "Error", code: "internal", message: "x".repeat(1025), retryable: false },
      /longer than 1024/,
    );
    assertMalformed(
      { type: "Error", code: "internal", message: "", retryable: 1 },
      /"retryable" must be a boolean/,
    );
  });

  test("a PushState's state holding a MessagePack extension is refused: the sync layer decodes it with every extension on", () => {
    const bigint = new Uint8Array([0x93, 0x01, 0x02, 0xd4, 0x42, 0x05]); // [1, 2, BigInt ext]
    const state = (bytes: Uint8Array) => ({
      type: "PushState",
      versionVector: {},
      objects: [
        { key: "k", state: new Uint8Array([0x01]) },
        { key: "k2", state: bytes },
      ],
      final: true,
    });
    assertMalformed(
      state(bigint),
      /"objects" #1: "state": extension type 0x42 is not part of the wire protocol/,
    );
    // undefined as msgpackr writes it (fixext 1 of type 0) is let through, as in a frame.
    const withUndefined = new Uint8Array([0x92, 0x01, 0xd4, 0x00, 0x00]);
    for (const format of FORMATS) {
      const decoded = codec.decode(raw(state(withUndefined), format), format);
      assert.ok(decoded.type === "PushState");
      assert.deepEqual([...decoded.objects[1]!.state], [...withUndefined]);
    }
  });

  test("a bad op is reported with its index and the op codec's reason", () => {
    const wire = {
      type: "PushOps",
      batchId: 1,
      ops: [testOpCodec.encode(testOp(1), "msgpack"), { origin: 5 }],
    };
    assertMalformed(wire, /PushOps message: op #1: op must have exactly 5 fields/);
    // The op codec's optional validate() runs too.
    const oversized = {
      type: "PushOps",
      batchId: 2,
      ops: [testOp(2, { payload: new Uint8Array(5000) })],
    } as const;
    assert.throws(
      () => codec.decode(codec.encode(oversized, "msgpack"), "msgpack"),
      /op #0: payload larger than 4096/,
    );
  });

  test("a Hello of another protocol version is a protocol mismatch, whatever else it holds", () => {
    for (const format of FORMATS) {
      for (const value of [
        { ...hello, protocolVersion: PROTOCOL_VERSION + 1 },
        { type: "Hello", protocolVersion: 2, nodeId: NODE_A, somethingNew: [1] },
      ]) {
        assert.throws(
          () => codec.decode(raw(value, format), format),
          (error: unknown) =>
            error instanceof NetError &&
            error.code === "NET_PROTOCOL_MISMATCH" &&
            error.message.includes(`this node speaks version ${PROTOCOL_VERSION}`) &&
            error.message.includes(NODE_A),
        );
      }
    }
  });

  test("format-level garbage: bad JSON, bad UTF-8, reserved keys, truncated and trailing MessagePack", () => {
    const json = (text: string | Uint8Array) => () =>
      codec.decode(typeof text === "string" ? new TextEncoder().encode(text) : text, "json");
    assert.throws(json("{"), { code: "NET_MESSAGE_MALFORMED" });
    assert.throws(json(new Uint8Array([0x22, 0xff, 0x22])), { code: "NET_MESSAGE_MALFORMED" });
    assert.throws(json('{"type":"Ping","nonce":{"$bigint":"1x"}}'), /must hold a decimal integer/);
    assert.throws(json('{"type":"Ping","$nonce":1}'), /reserved/);
    assert.throws(json(`${"[".repeat(100)}${"]".repeat(100)}`), /nested deeper than 64/);
    const ping = codec.encode({ type: "Ping", nonce: 1 }, "msgpack");
    assert.throws(() => codec.decode(ping.subarray(0, ping.length - 1), "msgpack"), {
      code: "NET_MESSAGE_MALFORMED",
    });
    assert.throws(() => codec.decode(new Uint8Array([...ping, 0xc0]), "msgpack"), {
      code: "NET_MESSAGE_MALFORMED",
    });
    assert.throws(() => codec.decode(new Uint8Array(200_000).fill(0x91), "msgpack"), {
      code: "NET_MESSAGE_MALFORMED",
    });
  });

  test("encoding refuses what the wire cannot carry, as NET_ENCODE_FAILED", () => {
    const badOp = testOp(1, { meta: { tag: "x", weight: Number.NaN } });
    assert.throws(() => codec.encode({ type: "PushOps", batchId: 1, ops: [badOp] }, "json"), {
      code: "NET_ENCODE_FAILED",
    });
    const throwing = createMessageCodec<TestOp>({
      ...testOpCodec,
      encode: () => {
        throw new Error("boom");
      },
    });
    assert.throws(() => throwing.encode({ type: "PushOps", batchId: 1, ops: [testOp(1)] }, "msgpack"), {
      code: "NET_ENCODE_FAILED",
      message: /cannot encode PushOps message: boom/,
    });
  });
});

describe("batch size", () => {
  const batch = (ops: number) =>
    ({ type: "PushOps", batchId: 1, ops: Array.from({ length: ops }, (_, i) => testOp(i + 1)) }) as const;

  test(`a PushOps of more than PUSH_OPS_OPS_MAX (${PUSH_OPS_OPS_MAX}) ops is refused as NET_BATCH_TOO_LARGE, in both formats`, () => {
    for (const format of FORMATS) {
      const full = codec.decode(codec.encode(batch(PUSH_OPS_OPS_MAX), format), format);
      assert.ok(full.type === "PushOps" && full.ops.length === PUSH_OPS_OPS_MAX, "a full batch is taken");
      assert.throws(
        () => codec.decode(codec.encode(batch(PUSH_OPS_OPS_MAX + 1), format), format),
        (error: unknown) =>
          error instanceof NetError &&
          error.code === "NET_BATCH_TOO_LARGE" &&
          error.wireCode === "rejected" &&
          error.message.includes(`${PUSH_OPS_OPS_MAX + 1} ops`),
        format,
      );
    }
  });

  test("the MessagePack op count is read from the headers alone, whatever the field order (property)", () => {
    fc.assert(
      fc.property(fc.nat(70_000), fc.boolean(), fc.string({ maxLength: 300 }), (count, opsFirst, filler) => {
        const ops = new Array<number>(count).fill(7);
        const wire = opsFirst
          ? { ops, type: "PushOps", batchId: 1, filler }
          : { type: "PushOps", batchId: 1, filler, ops };
        assert.equal(msgpackArrayLengthAt(raw(wire, "msgpack"), "ops"), count);
      }),
      fuzzSettings(50),
    );
    assert.equal(msgpackArrayLengthAt(raw({ type: "Ping", nonce: 1 }, "msgpack"), "ops"), undefined);
    assert.equal(msgpackArrayLengthAt(raw([1, 2, 3], "msgpack"), "ops"), undefined);
    assert.equal(
      msgpackArrayLengthAt(new Uint8Array([0x81, 0xa3, 0x6f, 0x70]), "ops"),
      undefined,
      "truncated",
    );
    const deep = { nested: Array.from({ length: 100 }, (_, i) => i), ops: [1, 2] };
    assert.equal(
      msgpackArrayLengthAt(raw(deep, "msgpack"), "ops"),
      undefined,
      "past the peek budget: the full decode decides",
    );
  });
});

describe("message decoder fuzz", () => {
  function decodeOrTypedError(body: Uint8Array, format: WireFormat): Message<TestOp> | undefined {
    try {
      return codec.decode(body, format);
    } catch (error) {
      assert.ok(error instanceof NetError, `not a NetError: ${String(error)}`);
      assert.ok(
        ["NET_MESSAGE_MALFORMED", "NET_PROTOCOL_MISMATCH", "NET_PUBLISH_REFUSED"].includes(error.code),
        error.code,
      );
      return undefined;
    }
  }

  test("random bytes decode to a typed error or a valid message, in both formats", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...FORMATS), (bytes, format) => {
        const message = decodeOrTypedError(bytes, format);
        if (message)
          assert.deepEqual(
            normalize(codec.decode(codec.encode(message, format), format)),
            normalize(message),
          );
      }),
      fuzzSettings(1000),
    );
  });

  test("mutated valid messages decode to a typed error or a valid message", () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(
        messageArb,
        fc.constantFrom(...FORMATS),
        mutation,
        fc.nat(),
        (message, format, flips, cut) => {
          const body = new Uint8Array(codec.encode(message, format));
          for (const [position, value] of flips) body[position % body.length] = value;
          const truncated = cut % 3 === 0 ? body.subarray(0, cut % (body.length + 1)) : body;
          const decoded = decodeOrTypedError(truncated, format);
          if (decoded)
            assert.deepEqual(
              normalize(codec.decode(codec.encode(decoded, format), format)),
              normalize(decoded),
            );
        },
      ),
      fuzzSettings(1000),
    );
  });
});

/** Buffers and Uint8Arrays compare equal; Maps compare by entries. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (value instanceof Map) return { map: [...value.entries()].map(([k, v]) => [k, normalize(v)]) };
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}
