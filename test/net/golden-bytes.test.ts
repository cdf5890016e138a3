import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import { FrameDecoder } from "../../src/net/frame-decoder.ts";
import { createMessageCodec } from "../../src/net/message-codec.ts";
import {
  type HelloAckMessage,
  type HelloMessage,
  type MemberUpdate,
  type Message,
  PROTOCOL_VERSION,
} from "../../src/net/messages.ts";
import type { WireFormat } from "../../src/net/wire-format.ts";
import { type TestOp, testOp, testOpCodec } from "./helpers/test-op.ts";

/**
 * Golden bytes: one fixture per message and format (test/net/fixtures/<name>.<format>.bin, whole
 * frames; the name is the message type, or a variant's name). A change to the wire format makes
 * this test fail, so it can only be deliberate: bump PROTOCOL_VERSION (or, for a message of an
 * optional feature, announce the feature), then regenerate with
 * `NX_WRITE_GOLDEN=1 node --test test/net/golden-bytes.test.ts` and update
 * docs/design/wire-protocol.md. PushOps carries the test op codec's ops: these fixtures pin the
 * envelope; the CRDT op encoding has fixtures of its own. The `*-before-features` fixtures are the
 * Hello and HelloAck of the builds before features (written by commit 1fa890d, never regenerated):
 * a node without features must still send exactly those bytes, and this build must read them.
 * The `*-max-message-size` fixtures are the handshake with `max_message_size` announced.
 */
const NODE_A = "00112233445566778899aabbccddeeff" as NodeId;
const NODE_B = "ffeeddccbbaa99887766554433221100" as NodeId;

const HELLO: HelloMessage = {
  type: "Hello",
  nodeId: NODE_A,
  protocolVersion: PROTOCOL_VERSION,
  formats: ["msgpack", "json"],
  preferredFormat: "msgpack",
  versionVector: new Map([
    [NODE_A, 42],
    [NODE_B, 7],
  ]),
  features: ["pubsub"],
};
const HELLO_ACK: HelloAckMessage = {
  type: "HelloAck",
  chosenFormat: "msgpack",
  nodeId: NODE_B,
  versionVector: new Map([[NODE_B, 9]]),
  features: ["pubsub"],
};

const MEMBER_ALIVE: MemberUpdate = {
  nodeId: NODE_A,
  address: "10.0.0.1:9000",
  state: "alive",
  incarnation: 3,
  by: NODE_A,
};
const MEMBER_SUSPECT: MemberUpdate = {
  nodeId: NODE_B,
  address: "[::1]:9001",
  state: "suspect",
  incarnation: 0,
  by: NODE_A,
};

const GOLDEN: ReadonlyArray<Message<TestOp>> = [
  HELLO,
  HELLO_ACK,
  { type: "PushOps", batchId: 17, ops: [testOp(1), testOp(300)] },
  { type: "PushOpsAck", batchId: 17, applied: 2 },
  {
    type: "PushState",
    versionVector: new Map([[NODE_A, 40]]),
    objects: [{ key: "visits", state: new Uint8Array([1, 2, 3, 250]) }],
    final: true,
  },
  { type: "PullSince", versionVector: new Map([[NODE_A, 40]]), limit: 1000 },
  { type: "Ping", nonce: 123456 },
  { type: "Pong", nonce: 123456 },
  { type: "Publish", topic: "chat/room-1", payload: new Uint8Array([104, 105, 0, 255]) },
  {
    type: "PeerAddresses",
    peers: [
      { nodeId: NODE_A, address: "0.0.0.0:9000" },
      { nodeId: NODE_B, address: "[::1]:9001" },
    ],
  },
  { type: "MemberPing", seq: 41, updates: [MEMBER_ALIVE] },
  { type: "MemberAck", seq: 41, updates: [MEMBER_SUSPECT] },
  { type: "MemberPingReq", seq: 42, target: NODE_B, updates: [] },
  { type: "MemberNack", seq: 42 },
  {
    type: "MemberSync",
    members: [MEMBER_ALIVE, MEMBER_SUSPECT, { ...MEMBER_SUSPECT, state: "left", address: null, by: NODE_B }],
  },
  { type: "Error", code: "protocol_mismatch", message: "peer speaks version 9", retryable: false },
];

/** The same handshake from a build before features: what an older peer sends, and what it expects back. */
const BEFORE_FEATURES: ReadonlyArray<[name: string, message: Message<TestOp>]> = [
  ["Hello-before-features", { ...HELLO, features: [] }],
  ["HelloAck-before-features", { ...HELLO_ACK, features: [] }],
];

/** The handshake with the sender's `max_message_size` announced (MESSAGE_SIZE_VECTOR_KEY). */
const WITH_MESSAGE_SIZE: ReadonlyArray<[name: string, message: Message<TestOp>]> = [
  ["Hello-max-message-size", { ...HELLO, maxMessageSizeBytes: 16 * 1024 * 1024 }],
  ["HelloAck-max-message-size", { ...HELLO_ACK, maxMessageSizeBytes: 64 * 1024 }],
];

const codec = createMessageCodec(testOpCodec);
const fixture = (name: string, format: WireFormat) =>
  new URL(`./fixtures/${name}.${format}.bin`, import.meta.url);

describe("golden bytes", () => {
  for (const format of ["msgpack", "json"] as const) {
    for (const [name, message] of [
      ...GOLDEN.map((m): [string, Message<TestOp>] => [m.type, m]),
      ...BEFORE_FEATURES,
      ...WITH_MESSAGE_SIZE,
    ]) {
      test(`${name} in ${format}`, () => {
        const encoded = encodeFrame(
          { format, body: codec.encode(message, format) },
          DEFAULT_MAX_MESSAGE_SIZE_BYTES,
        );
        if (process.env.NX_WRITE_GOLDEN === "1" && !name.endsWith("-before-features"))
          writeFileSync(fixture(name, format), encoded);
        const golden = new Uint8Array(readFileSync(fixture(name, format)));
        const frames = new FrameDecoder(DEFAULT_MAX_MESSAGE_SIZE_BYTES).push(golden);
        assert.equal(frames.length, 1);
        assert.equal(frames[0].format, format);
        const decoded = codec.decode(frames[0].body, format);
        assert.deepEqual(plain(decoded), plain(message));
        assert.deepEqual(
          Buffer.from(encoded).toString("hex"),
          Buffer.from(golden).toString("hex"),
          "the encoder's output changed: a wire format change needs a protocol version bump",
        );
      });
    }
  }
});

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
