/**
 * Feature negotiation and the Publish message at the codec level: the features ride where a
 * version 3 decoder of an older build ignores them (checked with that build's own decoder, taken
 * from git), a Publish that breaks the message rules is refused as NET_PUBLISH_REFUSED (the
 * connection then drops only that message), and bits of features this build does not know are
 * ignored.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { MESSAGE_PAYLOAD_MAX_BYTES, TOPIC_MAX_BYTES } from "../../src/events/topic.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createMessageCodec, payloadCodecFor } from "../../src/net/message-codec.ts";
import {
  type HelloMessage,
  MEMBER_UPDATES_PER_MESSAGE_MAX,
  MEMBERS_MAX,
  type Message,
  PEER_ADDRESSES_MAX,
  PROTOCOL_VERSION,
} from "../../src/net/messages.ts";
import { NetError } from "../../src/net/net-error.ts";
import {
  FEATURES_VECTOR_KEY,
  featureBits,
  featuresOfBits,
  MESSAGE_SIZE_VECTOR_KEY,
} from "../../src/net/wire-features.ts";
import type { WireFormat } from "../../src/net/wire-format.ts";
import { extractOlderBuild, olderBuildMissing } from "../helpers/older-build.ts";
import { type TestOp, testOpCodec } from "./helpers/test-op.ts";

const codec = createMessageCodec(testOpCodec);
const FORMATS: readonly WireFormat[] = ["msgpack", "json"];
const NODE_A = "00112233445566778899aabbccddeeff" as NodeId;
const NODE_B = "ffeeddccbbaa99887766554433221100" as NodeId;

const hello: HelloMessage = {
  type: "Hello",
  nodeId: NODE_A,
  protocolVersion: PROTOCOL_VERSION,
  formats: ["msgpack", "json"],
  preferredFormat: "msgpack",
  versionVector: new Map([[NODE_B, 7]]),
  features: ["pubsub"],
};
const helloAck: Message<TestOp> = {
  type: "HelloAck",
  chosenFormat: "msgpack",
  nodeId: NODE_B,
  versionVector: new Map([[NODE_A, 42]]),
  features: ["pubsub"],
};

describe("an older build's decoder", {
  skip: olderBuildMissing,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "nx-old-decoder-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  let extracted: Promise<{ decode(body: Uint8Array, format: WireFormat): unknown }> | undefined;
  const oldCodec = () => {
    extracted ??= loadOldCodec();
    return extracted;
  };
  async function loadOldCodec(): Promise<{ decode(body: Uint8Array, format: WireFormat): unknown }> {
    const tree = extractOlderBuild(dir);
    const module = (await import(pathToFileURL(join(tree, "src/net/message-codec.ts")).href)) as {
      createMessageCodec(opCodec: unknown): { decode(body: Uint8Array, format: WireFormat): unknown };
    };
    return module.createMessageCodec(testOpCodec);
  }

  test("accepts this build's Hello and HelloAck and ignores the features in them", async () => {
    const old = await oldCodec();
    for (const format of FORMATS) {
      const decodedHello = old.decode(codec.encode(hello, format), format) as HelloMessage;
      assert.equal(decodedHello.nodeId, NODE_A);
      assert.deepEqual(decodedHello.formats, ["msgpack", "json"]);
      // The features entry lands in the peer's announced vector, which the older build only
      // reads at its own NodeId.
      assert.deepEqual(
        [...decodedHello.versionVector],
        [
          [NODE_B, 7],
          [FEATURES_VECTOR_KEY, 1],
        ],
      );
      const decodedAck = old.decode(codec.encode(helloAck, format), format) as { nodeId: string };
      assert.equal(decodedAck.nodeId, NODE_B);
      // …and refuses a Publish: this is why Publish goes only to peers that announced `pubsub`.
      assert.throws(
        () =>
          old.decode(
            codec.encode({ type: "Publish", topic: "t", payload: new Uint8Array(1) }, format),
            format,
          ),
        /unknown message type "Publish"/,
      );
      // …and a PeerAddresses: it goes only to peers that announced `peer-exchange`.
      assert.throws(
        () =>
          old.decode(
            codec.encode(
              { type: "PeerAddresses", peers: [{ nodeId: NODE_A, address: "127.0.0.1:9000" }] },
              format,
            ),
            format,
          ),
        /unknown message type "PeerAddresses"/,
      );
      // …and every membership message: they go only to peers that announced `membership`.
      for (const message of MEMBERSHIP_SAMPLES) {
        assert.throws(
          () => old.decode(codec.encode(message, format), format),
          /unknown message type "Member/,
        );
      }
    }
  });
  test("accepts this build's Hello and HelloAck with max_message_size announced, and ignores it", async () => {
    const old = await oldCodec();
    for (const format of FORMATS) {
      const sized = { ...hello, maxMessageSizeBytes: 65_536 };
      const decodedHello = old.decode(codec.encode(sized, format), format) as HelloMessage;
      assert.equal(decodedHello.nodeId, NODE_A);
      assert.deepEqual(
        [...decodedHello.versionVector],
        [
          [NODE_B, 7],
          [FEATURES_VECTOR_KEY, 1],
          [MESSAGE_SIZE_VECTOR_KEY, 65_536],
        ],
      );
      const decodedAck = old.decode(
        codec.encode({ ...helloAck, maxMessageSizeBytes: 1024 * 1024 * 1024 }, format),
        format,
      ) as { nodeId: string };
      assert.equal(decodedAck.nodeId, NODE_B);
    }
  });
});

const MEMBERSHIP_SAMPLES: readonly Message<TestOp>[] = [
  { type: "MemberPing", seq: 1, updates: [] },
  { type: "MemberAck", seq: 1, updates: [] },
  { type: "MemberPingReq", seq: 1, target: NODE_B, updates: [] },
  { type: "MemberNack", seq: 1 },
  { type: "MemberSync", members: [] },
];

describe("features in the handshake", () => {
  test("max_message_size travels in the Hello and HelloAck, and is absent from a peer that does not announce it", () => {
    for (const format of FORMATS) {
      const decoded = codec.decode(codec.encode({ ...hello, maxMessageSizeBytes: 65_536 }, format), format);
      assert.deepEqual(decoded, { ...hello, maxMessageSizeBytes: 65_536 });
      const ack = codec.decode(codec.encode({ ...helloAck, maxMessageSizeBytes: 4096 }, format), format);
      assert.deepEqual(ack, { ...helloAck, maxMessageSizeBytes: 4096 });
      const older = codec.decode(codec.encode(hello, format), format) as HelloMessage;
      assert.equal(older.maxMessageSizeBytes, undefined);
      assert.equal("maxMessageSizeBytes" in older, false);
    }
  });

  test("a Hello without the features entry (an older peer) announces none", () => {
    for (const format of FORMATS) {
      const body = codec.encode({ ...hello, features: [] }, format);
      const decoded = codec.decode(body, format) as HelloMessage;
      assert.deepEqual(decoded.features, []);
      assert.deepEqual([...decoded.versionVector], [[NODE_B, 7]]);
    }
  });

  test("the features entry is taken out of the version vector", () => {
    for (const format of FORMATS) {
      const decoded = codec.decode(codec.encode(hello, format), format) as HelloMessage;
      assert.deepEqual(decoded.features, ["pubsub"]);
      assert.deepEqual([...decoded.versionVector], [[NODE_B, 7]]);
    }
  });

  test("bits of features this build does not know are ignored", () => {
    assert.equal(featureBits(["pubsub"]), 1);
    assert.equal(featureBits(["pubsub", "peer-exchange"]), 3);
    assert.equal(featureBits(["pubsub", "peer-exchange", "membership"]), 7);
    assert.equal(featureBits(["pubsub", "peer-exchange", "membership", "state-transfer"]), 15);
    assert.equal(featureBits(["pubsub", "peer-exchange", "membership", "state-transfer", "rga-ghosts"]), 31);
    assert.equal(featureBits(["map-batch"]), 32);
    assert.deepEqual(featuresOfBits(1 + 2 + 4 + 8 + 16 + 32 + 64 + 2 ** 40), [
      "pubsub",
      "peer-exchange",
      "membership",
      "state-transfer",
      "rga-ghosts",
      "map-batch",
    ]);
    assert.deepEqual(featuresOfBits(64), []);
    for (const format of FORMATS) {
      const wire = {
        type: "Hello",
        nodeId: NODE_A,
        protocolVersion: PROTOCOL_VERSION,
        formats: ["msgpack"],
        preferredFormat: "msgpack",
        versionVector: { [FEATURES_VECTOR_KEY]: 128 + 256 },
      };
      const decoded = codec.decode(payloadCodecFor(format).encode(wire), format) as HelloMessage;
      assert.deepEqual(decoded.features, []);
      assert.equal(decoded.versionVector.size, 0);
    }
  });
});

describe("a replacing PushState (state-transfer)", () => {
  test("carries its mark in the vector's reserved entry, which the decoder takes out", () => {
    const part = {
      type: "PushState",
      versionVector: new Map([[NODE_A, 4]]),
      objects: [{ key: "k", state: new Uint8Array([1, 2]) }],
      final: true,
      replace: true,
    } as const;
    for (const format of FORMATS) {
      const bytes = codec.encode(part as Message<TestOp>, format);
      const wire = payloadCodecFor(format).decode(bytes) as { versionVector: Record<string, number> };
      assert.equal(wire.versionVector[FEATURES_VECTOR_KEY], 1);
      const decoded = codec.decode(bytes, format) as typeof part;
      assert.equal(decoded.replace, true);
      assert.deepEqual(decoded.versionVector, part.versionVector);
      const plain = codec.decode(
        codec.encode({ ...part, replace: false } as Message<TestOp>, format),
        format,
      );
      assert.equal((plain as { replace?: boolean }).replace, undefined, "unmarked: no entry, no field");
    }
  });
});

describe("Publish decoding", () => {
  const publish = (topic: unknown, payload: unknown, format: WireFormat) =>
    codec.decode(payloadCodecFor(format).encode({ type: "Publish", topic, payload } as never), format);

  function assertRefused(topic: unknown, payload: unknown, code: string, pattern: RegExp): void {
    for (const format of FORMATS) {
      assert.throws(
        () => publish(topic, payload, format),
        (error: unknown) => {
          assert.ok(error instanceof NetError, String(error));
          assert.equal(error.code, code, error.message);
          assert.match(error.message, pattern);
          return true;
        },
        format,
      );
    }
  }

  test("the largest topic and payload pass", () => {
    for (const format of FORMATS) {
      const topic = "t".repeat(TOPIC_MAX_BYTES);
      const decoded = publish(topic, new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES).fill(7), format);
      assert.ok(decoded.type === "Publish");
      assert.equal(decoded.topic, topic);
      assert.deepEqual(Buffer.from(decoded.payload), Buffer.alloc(MESSAGE_PAYLOAD_MAX_BYTES, 7));
    }
  });

  test("an invalid topic or an oversized payload is NET_PUBLISH_REFUSED", () => {
    assertRefused("", new Uint8Array(1), "NET_PUBLISH_REFUSED", /topic "" is not a valid topic/);
    assertRefused("chat room", new Uint8Array(1), "NET_PUBLISH_REFUSED", /"chat room" is not a valid topic/);
    assertRefused(
      "t".repeat(TOPIC_MAX_BYTES + 1),
      new Uint8Array(1),
      "NET_PUBLISH_REFUSED",
      /"t{64}"… is not a valid topic/,
    );
    assertRefused(
      "chat",
      new Uint8Array(MESSAGE_PAYLOAD_MAX_BYTES + 1),
      "NET_PUBLISH_REFUSED",
      /payload of 65537 bytes on topic chat exceeds MESSAGE_PAYLOAD_MAX_BYTES \(65536 bytes\)/,
    );
  });

  test("a Publish of the wrong shape is malformed, as any message", () => {
    assertRefused("chat", "text", "NET_MESSAGE_MALFORMED", /"payload" must be bytes, got string/);
    assertRefused(7, new Uint8Array(1), "NET_MESSAGE_MALFORMED", /"topic" must be a string, got number/);
  });
});

describe("PeerAddresses decoding", () => {
  const decode = (peers: unknown, format: WireFormat) =>
    codec.decode(payloadCodecFor(format).encode({ type: "PeerAddresses", peers } as never), format);

  test("the largest list and the longest address pass", () => {
    const host = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    const peers = Array.from({ length: PEER_ADDRESSES_MAX }, () => ({
      nodeId: NODE_A,
      address: `${host}:65535`,
    }));
    for (const format of FORMATS) {
      const decoded = decode(peers, format);
      assert.ok(decoded.type === "PeerAddresses");
      assert.equal(decoded.peers.length, PEER_ADDRESSES_MAX);
    }
  });

  test("a longer list, a bad NodeId, a bad address or port 0 is malformed", () => {
    const cases: [unknown, RegExp][] = [
      [
        Array.from({ length: PEER_ADDRESSES_MAX + 1 }, () => ({ nodeId: NODE_A, address: "10.0.0.1:9000" })),
        /"peers" has 257 entries, more than 256/,
      ],
      [[{ nodeId: "node-a", address: "10.0.0.1:9000" }], /#0: "nodeId" must be a NodeId/],
      [[{ nodeId: NODE_A, address: "10.0.0.1" }], /#0: "address" must be host:port/],
      [[{ nodeId: NODE_A, address: "10.0.0.1:0" }], /#0: "address" must be host:port \(port 1 to 65535/],
      [
        [{ nodeId: NODE_A, address: "10.0.0.1:9000", extra: 1 }],
        /#0 must be a map with exactly "nodeId" and "address"/,
      ],
    ];
    for (const format of FORMATS) {
      for (const [peers, pattern] of cases) {
        assert.throws(
          () => decode(peers, format),
          (error: unknown) =>
            error instanceof NetError &&
            error.code === "NET_MESSAGE_MALFORMED" &&
            pattern.test(error.message),
          `${format}: ${pattern}`,
        );
      }
    }
  });
});

describe("membership decoding", () => {
  const update = {
    nodeId: NODE_A,
    address: "10.0.0.1:9000",
    state: "alive",
    incarnation: 2,
    by: NODE_A,
  };
  const decode = (wire: Record<string, unknown>, format: WireFormat) =>
    codec.decode(payloadCodecFor(format).encode(wire as never), format);

  test("the largest table and the most piggybacked updates pass", () => {
    for (const format of FORMATS) {
      const sync = decode({ type: "MemberSync", members: Array(MEMBERS_MAX).fill(update) }, format);
      assert.ok(sync.type === "MemberSync" && sync.members.length === MEMBERS_MAX);
      const ping = decode(
        { type: "MemberPing", seq: 3, updates: Array(MEMBER_UPDATES_PER_MESSAGE_MAX).fill(update) },
        format,
      );
      assert.ok(ping.type === "MemberPing" && ping.updates.length === MEMBER_UPDATES_PER_MESSAGE_MAX);
    }
  });

  test("too many entries, a bad state, NodeId, address or incarnation, or a stray field is malformed", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { type: "MemberSync", members: Array(MEMBERS_MAX + 1).fill(update) },
        /"members" has 1025 entries, more than 1024/,
      ],
      [
        { type: "MemberAck", seq: 1, updates: Array(MEMBER_UPDATES_PER_MESSAGE_MAX + 1).fill(update) },
        /"updates" has 9 entries, more than 8/,
      ],
      [
        { type: "MemberPing", seq: 1, updates: [{ ...update, state: "zombie" }] },
        /#0: "state" must be one of/,
      ],
      [
        { type: "MemberPing", seq: 1, updates: [{ ...update, by: "x" }] },
        /#0: "nodeId" and "by" must be NodeIds/,
      ],
      [
        { type: "MemberPing", seq: 1, updates: [{ ...update, address: "10.0.0.1:0" }] },
        /#0: "address" must be null or host:port/,
      ],
      [
        { type: "MemberPing", seq: 1, updates: [{ ...update, incarnation: -1 }] },
        /#0: "incarnation" must be a non-negative integer/,
      ],
      [{ type: "MemberPing", seq: 1, updates: [{ ...update, extra: 1 }] }, /#0 has an unknown field "extra"/],
      [{ type: "MemberPingReq", seq: 1, target: "nobody", updates: [] }, /"target" must be a NodeId/],
      [{ type: "MemberNack", seq: -1 }, /"seq" must be a non-negative integer/],
    ];
    for (const format of FORMATS) {
      for (const [wire, pattern] of cases) {
        assert.throws(
          () => decode(wire, format),
          (error: unknown) =>
            error instanceof NetError &&
            error.code === "NET_MESSAGE_MALFORMED" &&
            pattern.test(error.message),
          `${format}: ${pattern}`,
        );
      }
    }
  });
});
