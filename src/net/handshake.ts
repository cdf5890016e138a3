import type { NodeId } from "../identity/node-id.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "./frame.ts";
import {
  type ErrorMessage,
  errorMessage,
  type HelloAckMessage,
  type HelloMessage,
  type Message,
  PROTOCOL_VERSION,
  type VersionVector,
} from "./messages.ts";
import { type MapBatchNeed, missingMapBatchError } from "./missing-feature.ts";
import { NetError, wireCodeFor } from "./net-error.ts";
import type { WireFeature } from "./wire-features.ts";
import type { WireFormat } from "./wire-format.ts";

/**
 * The decisions of the Hello / HelloAck exchange, as pure functions: who may connect, in which
 * format, and what to answer. The connection code only runs them and moves the frames.
 */
export interface HandshakePolicy {
  readonly localNodeId: NodeId;
  /** Formats this node reads and writes, non-empty. */
  readonly formats: readonly WireFormat[];
  /** One of `formats`: what this node asks for (JSON under `--debug-protocol`). */
  readonly preferredFormat: WireFormat;
  /** When set, only these NodeIds may connect (either direction); others get `not_authorized`. */
  readonly allowedPeers: ReadonlySet<NodeId> | undefined;
  /** Optional messages this node reads, announced in its Hello or HelloAck. */
  readonly features: readonly WireFeature[];
  /**
   * The largest frame this node reads (`max_message_size`), announced in its Hello or HelloAck so
   * that the peer sends it nothing larger; undefined: not announced (the bytes of older builds).
   */
  readonly maxMessageSizeBytes?: number;
  /**
   * Whether (and why) this node needs a peer at the version vector it announced in its Hello or
   * HelloAck to read multi-field map ops: such a peer that does not announce `map-batch` is
   * refused, either direction, before any session message flows. Its NodeId does not decide (it
   * is only claimed in insecure mode, and the node keeps no list of peers). Default: never.
   */
  readonly mapBatchNeed?: (peerVector: VersionVector) => MapBatchNeed | undefined;
}

/** The outcome of checking the other side's handshake message. */
export type HandshakeVerdict<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: NetError; readonly reply: ErrorMessage };

export interface AcceptedHello extends AcceptedHelloAck {
  readonly ack: HelloAckMessage;
}

export interface AcceptedHelloAck {
  readonly remoteNodeId: NodeId;
  readonly format: WireFormat;
  readonly remoteVersionVector: VersionVector;
  readonly remoteFeatures: readonly WireFeature[];
  /** The largest frame the peer reads, as it announced it; undefined from builds before the announcement. */
  readonly remoteMaxMessageSizeBytes: number | undefined;
}

export function createHello(policy: HandshakePolicy, versionVector: VersionVector): HelloMessage {
  return {
    type: "Hello",
    nodeId: policy.localNodeId,
    protocolVersion: PROTOCOL_VERSION,
    formats: policy.formats,
    preferredFormat: policy.preferredFormat,
    versionVector,
    features: policy.features,
    ...announcedSize(policy),
  };
}

/** The `maxMessageSizeBytes` field of this node's Hello or HelloAck (none when the policy has none). */
function announcedSize(policy: HandshakePolicy): { maxMessageSizeBytes?: number } {
  return policy.maxMessageSizeBytes === undefined ? {} : { maxMessageSizeBytes: policy.maxMessageSizeBytes };
}

/**
 * The format both sides use: the dialer's preference when the listener supports it, else the
 * listener's preference when the dialer supports it, else the first common one in the dialer's order.
 */
export function chooseFormat(
  dialer: { formats: readonly WireFormat[]; preferredFormat: WireFormat },
  listener: { formats: readonly WireFormat[]; preferredFormat: WireFormat },
): WireFormat | undefined {
  if (listener.formats.includes(dialer.preferredFormat)) return dialer.preferredFormat;
  if (dialer.formats.includes(listener.preferredFormat)) return listener.preferredFormat;
  return dialer.formats.find((format) => listener.formats.includes(format));
}

/**
 * Listener side: checks a Hello (already decoded, so its protocol version matches) against the
 * identity the channel proved (`provenNodeId`, the TLS certificate's NodeId; undefined on plain TCP).
 */
export function answerHello(
  policy: HandshakePolicy,
  hello: HelloMessage,
  provenNodeId: NodeId | undefined,
  versionVector: VersionVector,
  peerAddress: string,
): HandshakeVerdict<AcceptedHello> {
  const identity = checkPeerIdentity(policy, hello.nodeId, provenNodeId, peerAddress, "Hello");
  if (!identity.ok) return identity;
  const size = checkAnnouncedSize(hello.maxMessageSizeBytes, hello.nodeId, peerAddress, "Hello");
  if (!size.ok) return size;
  const features = checkRequiredFeatures(policy, hello, hello.nodeId, peerAddress);
  if (!features.ok) return features;
  const format = chooseFormat(hello, policy);
  if (format === undefined) {
    return refuse(
      new NetError(
        "NET_PROTOCOL_MISMATCH",
        `peer ${hello.nodeId} at ${peerAddress} offers formats ${hello.formats.join(", ")}, this node supports ${policy.formats.join(", ")}`,
      ),
    );
  }
  const ack: HelloAckMessage = {
    type: "HelloAck",
    chosenFormat: format,
    nodeId: policy.localNodeId,
    versionVector,
    features: policy.features,
    ...announcedSize(policy),
  };
  return {
    ok: true,
    value: {
      remoteNodeId: hello.nodeId,
      format,
      remoteVersionVector: hello.versionVector,
      remoteFeatures: hello.features,
      remoteMaxMessageSizeBytes: hello.maxMessageSizeBytes,
      ack,
    },
  };
}

/** Dialer side: checks the listener's first answer (a HelloAck, an Error, or something wrong). */
export function answerHelloReply<Op>(
  policy: HandshakePolicy,
  reply: Message<Op>,
  provenNodeId: NodeId | undefined,
  peerAddress: string,
): HandshakeVerdict<AcceptedHelloAck> {
  if (reply.type === "Error") return { ok: false, error: refusalFromPeer(reply, peerAddress), reply };
  if (reply.type !== "HelloAck") {
    return refuse(
      new NetError(
        "NET_UNEXPECTED_MESSAGE",
        `peer at ${peerAddress} answered Hello with ${reply.type} instead of HelloAck`,
      ),
    );
  }
  const identity = checkPeerIdentity(policy, reply.nodeId, provenNodeId, peerAddress, "HelloAck");
  if (!identity.ok) return identity;
  const size = checkAnnouncedSize(reply.maxMessageSizeBytes, reply.nodeId, peerAddress, "HelloAck");
  if (!size.ok) return size;
  const features = checkRequiredFeatures(policy, reply, reply.nodeId, peerAddress);
  if (!features.ok) return features;
  if (!policy.formats.includes(reply.chosenFormat)) {
    return refuse(
      new NetError(
        "NET_PROTOCOL_MISMATCH",
        `peer ${reply.nodeId} at ${peerAddress} chose format ${reply.chosenFormat}, which this node did not offer`,
      ),
    );
  }
  return {
    ok: true,
    value: {
      remoteNodeId: reply.nodeId,
      format: reply.chosenFormat,
      remoteVersionVector: reply.versionVector,
      remoteFeatures: reply.features,
      remoteMaxMessageSizeBytes: reply.maxMessageSizeBytes,
    },
  };
}

/** The NetError for an Error frame a peer sent us (during the handshake or after). */
export function refusalFromPeer(reply: ErrorMessage, peerAddress: string): NetError {
  const code =
    reply.code === "protocol_mismatch"
      ? "NET_PROTOCOL_MISMATCH"
      : reply.code === "not_authorized"
        ? "NET_NOT_AUTHORIZED"
        : "NET_PEER_REFUSED";
  return new NetError(
    code,
    `peer at ${peerAddress} refused the connection (${reply.code}): ${reply.message}`,
    {
      wireCode: reply.code,
      retryable: reply.retryable,
    },
  );
}

/** The Error frame that tells the peer why we end its connection. */
export function replyFor(error: NetError): ErrorMessage {
  return errorMessage(wireCodeFor(error), error.message, error.retryable);
}

function checkPeerIdentity(
  policy: HandshakePolicy,
  claimedNodeId: NodeId,
  provenNodeId: NodeId | undefined,
  peerAddress: string,
  messageType: string,
): HandshakeVerdict<undefined> {
  if (provenNodeId !== undefined && claimedNodeId !== provenNodeId) {
    return refuse(
      new NetError(
        "NET_NOT_AUTHORIZED",
        `peer at ${peerAddress} claims NodeId ${claimedNodeId} in its ${messageType} but its certificate proves ${provenNodeId}`,
      ),
    );
  }
  if (claimedNodeId === policy.localNodeId) {
    return refuse(
      new NetError(
        "NET_SELF_CONNECTION",
        `peer at ${peerAddress} has this node's own NodeId ${claimedNodeId} (a node dialing itself, or two nodes sharing one key)`,
      ),
    );
  }
  if (policy.allowedPeers !== undefined && !policy.allowedPeers.has(claimedNodeId)) {
    return refuse(
      new NetError("NET_NOT_AUTHORIZED", `peer ${claimedNodeId} at ${peerAddress} is not in allowed_peers`),
    );
  }
  return { ok: true, value: undefined };
}

/**
 * A peer announcing a `max_message_size` under MAX_MESSAGE_SIZE_MIN_BYTES (no node can be
 * configured so) is malformed: every frame to it would be refused, each time it redialed.
 */
function checkAnnouncedSize(
  announcedBytes: number | undefined,
  claimedNodeId: NodeId,
  peerAddress: string,
  messageType: string,
): HandshakeVerdict<undefined> {
  if (announcedBytes === undefined || announcedBytes >= MAX_MESSAGE_SIZE_MIN_BYTES)
    return { ok: true, value: undefined };
  return refuse(
    new NetError(
      "NET_MESSAGE_MALFORMED",
      `peer ${claimedNodeId} at ${peerAddress} announces a max_message_size of ${announcedBytes} bytes in its ${messageType}, under the minimum of ${MAX_MESSAGE_SIZE_MIN_BYTES}`,
    ),
  );
}

/** A peer that must read multi-field map ops (`policy.mapBatchNeed`) and does not announce `map-batch` is refused. */
function checkRequiredFeatures(
  policy: HandshakePolicy,
  announced: { readonly features: readonly WireFeature[]; readonly versionVector: VersionVector },
  claimedNodeId: NodeId,
  peerAddress: string,
): HandshakeVerdict<undefined> {
  const need = announced.features.includes("map-batch")
    ? undefined
    : policy.mapBatchNeed?.(announced.versionVector);
  if (need === undefined) return { ok: true, value: undefined };
  return refuse(missingMapBatchError(policy.localNodeId, claimedNodeId, peerAddress, need));
}

function refuse(error: NetError): { ok: false; error: NetError; reply: ErrorMessage } {
  return { ok: false, error, reply: replyFor(error) };
}
