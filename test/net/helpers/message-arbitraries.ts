import fc from "fast-check";
import { TOPIC_MAX_BYTES } from "../../../src/events/topic.ts";
import type { NodeId } from "../../../src/identity/node-id.ts";
import { ERROR_CODES, type Message, PROTOCOL_VERSION } from "../../../src/net/messages.ts";
import { FEATURES_VECTOR_KEY, WIRE_FEATURES, type WireFeature } from "../../../src/net/wire-features.ts";
import type { WireFormat } from "../../../src/net/wire-format.ts";
import type { TestOp } from "./test-op.ts";

export const nodeIdArb: fc.Arbitrary<NodeId> = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((bytes) => Buffer.from(bytes).toString("hex") as NodeId);

const countArb = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const formatArb = fc.constantFrom<WireFormat>("msgpack", "json");
// The features' reserved key is not a NodeId a vector can hold (fast-check likes all-zero bytes).
const versionVectorArb = fc
  .array(
    fc.tuple(
      nodeIdArb.filter((id) => id !== FEATURES_VECTOR_KEY),
      countArb,
    ),
    { maxLength: 5 },
  )
  .map((entries) => new Map(entries));
const featuresArb = fc.subarray<WireFeature>([...WIRE_FEATURES]);
const TOPIC_CHARS = "abcXYZ019_-.:/";
const topicArb = fc
  .array(fc.constantFrom(...TOPIC_CHARS), { minLength: 1, maxLength: TOPIC_MAX_BYTES })
  .map((chars) => chars.join(""));

export const testOpArb: fc.Arbitrary<TestOp> = fc.record({
  origin: fc.string({ maxLength: 40 }),
  seq: countArb,
  delta: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  payload: fc.uint8Array({ maxLength: 64 }),
  meta: fc.record({
    tag: fc.string({ maxLength: 20 }),
    weight: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
});

/** Every message type with arbitrary valid fields. */
export const messageArb: fc.Arbitrary<Message<TestOp>> = fc.oneof(
  fc
    .tuple(
      nodeIdArb,
      fc.shuffledSubarray<WireFormat>(["msgpack", "json"], { minLength: 1 }),
      versionVectorArb,
      fc.nat(),
      featuresArb,
    )
    .map(([nodeId, formats, versionVector, pick, features]) => ({
      type: "Hello" as const,
      nodeId,
      protocolVersion: PROTOCOL_VERSION,
      formats,
      preferredFormat: formats[pick % formats.length],
      versionVector,
      features,
    })),
  fc.record({
    type: fc.constant("HelloAck" as const),
    chosenFormat: formatArb,
    nodeId: nodeIdArb,
    versionVector: versionVectorArb,
    features: featuresArb,
  }),
  fc.record({
    type: fc.constant("PushOps" as const),
    batchId: countArb,
    ops: fc.array(testOpArb, { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant("PushOpsAck" as const), batchId: countArb, applied: countArb }),
  fc.record({
    type: fc.constant("PullSince" as const),
    versionVector: versionVectorArb,
    limit: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  }),
  fc.record({ type: fc.constant("Ping" as const), nonce: countArb }),
  fc.record({ type: fc.constant("Pong" as const), nonce: countArb }),
  fc.record({
    type: fc.constant("Publish" as const),
    topic: topicArb,
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({
    type: fc.constant("PeerAddresses" as const),
    peers: fc.array(
      fc.record({
        nodeId: nodeIdArb,
        address: fc
          .tuple(
            fc.oneof(
              fc.ipV4(),
              fc.ipV6().map((ip) => `[${ip}]`),
              fc.domain({ size: "small" }),
            ),
            fc.integer({ min: 1, max: 65535 }),
          )
          .map(([host, port]) => `${host}:${port}`),
      }),
      { maxLength: 5 },
    ),
  }),
  fc.record({
    type: fc.constant("Error" as const),
    code: fc.constantFrom(...ERROR_CODES),
    message: fc.string({ maxLength: 100 }),
    retryable: fc.boolean(),
  }),
);
