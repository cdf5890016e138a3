import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "../../src/net/frame.ts";
import {
  answerHello,
  answerHelloReply,
  chooseFormat,
  createHello,
  type HandshakePolicy,
} from "../../src/net/handshake.ts";
import { errorMessage } from "../../src/net/messages.ts";

const A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" as NodeId;
const B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" as NodeId;
const C = "cccccccccccccccccccccccccccccccc" as NodeId;

function policy(localNodeId: NodeId, overrides: Partial<HandshakePolicy> = {}): HandshakePolicy {
  return {
    localNodeId,
    formats: ["msgpack", "json"],
    preferredFormat: "msgpack",
    allowedPeers: undefined,
    features: ["pubsub"],
    ...overrides,
  };
}

describe("format choice", () => {
  test("the dialer's preference wins when the listener supports it", () => {
    assert.equal(chooseFormat({ formats: ["msgpack", "json"], preferredFormat: "json" }, policy(B)), "json");
  });
  test("otherwise the listener's preference if the dialer has it, else the first common one", () => {
    assert.equal(
      chooseFormat(
        { formats: ["json", "msgpack"], preferredFormat: "json" },
        policy(B, { formats: ["msgpack"] }),
      ),
      "msgpack",
    );
    assert.equal(
      chooseFormat({ formats: ["json"], preferredFormat: "json" }, policy(B, { formats: ["msgpack"] })),
      undefined,
    );
  });
});

describe("listener answering a Hello", () => {
  const hello = createHello(policy(A), new Map([[A, 3]]));

  test("accepts and acknowledges with its own NodeId, vector and the chosen format", () => {
    const verdict = answerHello(policy(B), hello, undefined, new Map([[B, 5]]), "10.0.0.1:1");
    assert.ok(verdict.ok);
    assert.equal(verdict.value.remoteNodeId, A);
    assert.deepEqual([...verdict.value.remoteVersionVector], [[A, 3]]);
    assert.deepEqual(verdict.value.ack, {
      type: "HelloAck",
      chosenFormat: "msgpack",
      nodeId: B,
      versionVector: new Map([[B, 5]]),
      features: ["pubsub"],
    });
    assert.deepEqual(verdict.value.remoteFeatures, ["pubsub"]);
  });

  test("refuses a Hello claiming another NodeId than the certificate proves", () => {
    const verdict = answerHello(policy(B), hello, C, new Map(), "10.0.0.1:1");
    assert.ok(!verdict.ok);
    assert.equal(verdict.error.code, "NET_NOT_AUTHORIZED");
    assert.match(verdict.error.message, /claims NodeId a{32} .* certificate proves c{32}/);
    assert.equal(verdict.reply.code, "not_authorized");
    assert.equal(verdict.reply.retryable, false);
  });

  test("refuses a NodeId outside the allowlist, accepts one inside", () => {
    const refused = answerHello(policy(B, { allowedPeers: new Set([C]) }), hello, A, new Map(), "x:1");
    assert.ok(!refused.ok);
    assert.equal(refused.reply.code, "not_authorized");
    assert.match(refused.error.message, /not in allowed_peers/);
    assert.ok(answerHello(policy(B, { allowedPeers: new Set([A]) }), hello, A, new Map(), "x:1").ok);
  });

  test("refuses its own NodeId and a Hello with no common format", () => {
    const self = answerHello(policy(A), hello, undefined, new Map(), "x:1");
    assert.ok(!self.ok);
    assert.equal(self.error.code, "NET_SELF_CONNECTION");
    assert.equal(self.reply.code, "rejected");
    const jsonOnly = createHello(policy(A, { formats: ["json"], preferredFormat: "json" }), new Map());
    const noCommon = answerHello(policy(B, { formats: ["msgpack"] }), jsonOnly, undefined, new Map(), "x:1");
    assert.ok(!noCommon.ok);
    assert.equal(noCommon.reply.code, "protocol_mismatch");
  });
});

describe("dialer checking the reply", () => {
  test("a peer's Error frame becomes a typed refusal saying whether to retry", () => {
    const mismatch = answerHelloReply(
      policy(A),
      errorMessage("protocol_mismatch", "v9 here", false),
      B,
      "p:1",
    );
    assert.ok(!mismatch.ok);
    assert.equal(mismatch.error.code, "NET_PROTOCOL_MISMATCH");
    assert.match(mismatch.error.message, /peer at p:1 refused the connection \(protocol_mismatch\): v9 here/);
    const limited = answerHelloReply(policy(A), errorMessage("rate_limited", "busy", true), B, "p:1");
    assert.ok(!limited.ok);
    assert.equal(limited.error.code, "NET_PEER_REFUSED");
    assert.equal(limited.error.retryable, true);
    assert.equal(limited.error.wireCode, "rate_limited");
  });

  test("refuses a HelloAck from a NodeId the certificate does not prove, or outside the allowlist", () => {
    const ack = {
      type: "HelloAck",
      chosenFormat: "msgpack",
      nodeId: B,
      versionVector: new Map(),
      features: [],
    } as const;
    assert.ok(answerHelloReply(policy(A), ack, B, "p:1").ok);
    const spoofed = answerHelloReply(policy(A), ack, C, "p:1");
    assert.ok(!spoofed.ok);
    assert.equal(spoofed.error.code, "NET_NOT_AUTHORIZED");
    const outside = answerHelloReply(policy(A, { allowedPeers: new Set([C]) }), ack, B, "p:1");
    assert.ok(!outside.ok);
    assert.equal(outside.reply.code, "not_authorized");
  });

  test("refuses anything but HelloAck or Error, and a format it did not offer", () => {
    const ping = answerHelloReply(policy(A), { type: "Ping", nonce: 1 }, undefined, "p:1");
    assert.ok(!ping.ok);
    assert.equal(ping.error.code, "NET_UNEXPECTED_MESSAGE");
    const ack = {
      type: "HelloAck",
      chosenFormat: "json",
      nodeId: B,
      versionVector: new Map(),
      features: [],
    } as const;
    const verdict = answerHelloReply(policy(A, { formats: ["msgpack"] }), ack, undefined, "p:1");
    assert.ok(!verdict.ok);
    assert.equal(verdict.error.code, "NET_PROTOCOL_MISMATCH");
  });
});

describe("a max_message_size announced under the minimum", () => {
  test("makes a Hello or a HelloAck malformed, in one line naming the peer and the value (every frame to it was refused)", () => {
    for (const announced of [0, 1, MAX_MESSAGE_SIZE_MIN_BYTES - 1]) {
      const hello = { ...createHello(policy(A), new Map()), maxMessageSizeBytes: announced };
      const refused = answerHello(policy(B), hello, undefined, new Map(), "10.0.0.1:1");
      assert.ok(!refused.ok, `Hello announcing ${announced}`);
      assert.equal(refused.error.code, "NET_MESSAGE_MALFORMED");
      assert.equal(refused.reply.code, "malformed");
      assert.equal(
        refused.error.message,
        `peer ${A} at 10.0.0.1:1 announces a max_message_size of ${announced} bytes in its Hello, under the minimum of 4096`,
      );
      const ack = {
        type: "HelloAck",
        chosenFormat: "msgpack",
        nodeId: B,
        versionVector: new Map(),
        features: [],
        maxMessageSizeBytes: announced,
      } as const;
      const reply = answerHelloReply(policy(A), ack, B, "p:1");
      assert.ok(!reply.ok, `HelloAck announcing ${announced}`);
      assert.equal(reply.error.code, "NET_MESSAGE_MALFORMED");
      assert.match(
        reply.error.message,
        new RegExp(`peer ${B} at p:1 announces a max_message_size of ${announced} bytes in its HelloAck`),
      );
    }
    const atMinimum = {
      ...createHello(policy(A), new Map()),
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_MIN_BYTES,
    };
    assert.ok(answerHello(policy(B), atMinimum, undefined, new Map(), "10.0.0.1:1").ok);
  });
});

describe("map-batch required of a peer (mapBatchNeed)", () => {
  const requiring = policy(B, { mapBatchNeed: () => "switch" });
  const olderHello = createHello(policy(A, { features: [] }), new Map());
  const currentHello = createHello(policy(A, { features: ["pubsub", "map-batch"] }), new Map());

  test("refuses a Hello or a HelloAck without it, in one line naming the peer, the fix and the switch; not retryable", () => {
    const listener = answerHello(requiring, olderHello, undefined, new Map(), "10.0.0.1:1");
    assert.ok(!listener.ok);
    assert.equal(listener.error.code, "NET_FEATURE_MISSING");
    assert.equal(listener.error.retryable, false);
    assert.match(
      listener.error.message,
      /^peer a{32} at 10\.0\.0\.1:1 runs a build that cannot read multi-field map ops .*upgrade it to a Numax build that announces map-batch; node b{32} has \[sync\] coalesce_map_writes = true/,
    );
    assert.deepEqual(listener.reply, errorMessage("rejected", listener.error.message, false));

    const olderAck = {
      type: "HelloAck" as const,
      chosenFormat: "msgpack" as const,
      nodeId: A,
      versionVector: new Map(),
      features: [],
    };
    const dialer = answerHelloReply(requiring, olderAck, undefined, "10.0.0.1:1");
    assert.ok(!dialer.ok);
    assert.equal(dialer.error.code, "NET_FEATURE_MISSING");
    assert.deepEqual(dialer.reply, errorMessage("rejected", dialer.error.message, false));
  });

  test("accepts a peer that announces it; a node that requires nothing accepts a peer without it", () => {
    assert.ok(answerHello(requiring, currentHello, undefined, new Map(), "10.0.0.1:1").ok);
    assert.ok(
      answerHelloReply(
        requiring,
        {
          type: "HelloAck",
          chosenFormat: "msgpack",
          nodeId: A,
          versionVector: new Map(),
          features: ["map-batch"],
        },
        undefined,
        "10.0.0.1:1",
      ).ok,
    );
    assert.ok(answerHello(policy(B), olderHello, undefined, new Map(), "10.0.0.1:1").ok);
    assert.ok(
      answerHello(
        policy(B, { mapBatchNeed: () => undefined }),
        olderHello,
        undefined,
        new Map(),
        "10.0.0.1:1",
      ).ok,
    );
  });

  test("a node that holds such ops refuses a peer whose announced vector lacks one, saying so, either direction", () => {
    // As the node does: a held batch op of origin C at sequence 5.
    const holding = policy(B, {
      mapBatchNeed: (vector) => ((vector.get(C) ?? 0) < 5 ? "held-op" : undefined),
    });
    const verdict = answerHello(holding, olderHello, undefined, new Map(), "10.0.0.1:1");
    assert.ok(!verdict.ok);
    assert.equal(verdict.error.code, "NET_FEATURE_MISSING");
    assert.match(
      verdict.error.message,
      /; node b{32} holds such an op .* the op stays in the op-log and goes once the peer is upgraded/,
    );
    const covered = createHello(policy(A, { features: [] }), new Map([[C, 5]]));
    assert.ok(answerHello(holding, covered, undefined, new Map(), "10.0.0.1:1").ok, "the Hello's vector");
    const ack = (versionVector: Map<NodeId, number>) => ({
      type: "HelloAck" as const,
      chosenFormat: "msgpack" as const,
      nodeId: A,
      versionVector,
      features: [],
    });
    assert.ok(!answerHelloReply(holding, ack(new Map([[C, 4]])), undefined, "10.0.0.1:1").ok);
    assert.ok(
      answerHelloReply(holding, ack(new Map([[C, 5]])), undefined, "10.0.0.1:1").ok,
      "the HelloAck's",
    );
  });
});
