import type { NodeId } from "../identity/node-id.ts";
import type { WireFeature } from "./wire-features.ts";
import type { WireFormat } from "./wire-format.ts";

/**
 * The wire protocol version this build speaks. Any change to a frame, a tag or a message (a field
 * added, removed or retyped) bumps it; peers with different versions refuse each other at the
 * Hello with a `protocol_mismatch` Error. Version 2 was the Rust seed's wire (bincode/JSON); this
 * MessagePack/JSON wire is version 3. The one exception: a message of an optional feature
 * (`WireFeature`, announced in the handshake where version 3 decoders ignore it) is added without a
 * bump, because it is sent only to peers that announced that they read it. See
 * docs/design/wire-protocol.md.
 */
export const PROTOCOL_VERSION = 3;

/**
 * Per-origin sequence numbers: for every origin NodeId, the highest op sequence number this node
 * holds contiguously from 1. Sequence numbers are non-negative safe integers.
 */
export type VersionVector = ReadonlyMap<NodeId, number>;

/** Why a peer ends or refuses a connection; `retryable` in the same frame says if trying later helps. */
export type ErrorCode =
  | "protocol_mismatch"
  | "rejected"
  | "rate_limited"
  | "not_authorized"
  | "internal"
  | "malformed";

export const ERROR_CODES: readonly ErrorCode[] = [
  "protocol_mismatch",
  "rejected",
  "rate_limited",
  "not_authorized",
  "internal",
  "malformed",
];

/** The longest `Error.message` on the wire, in UTF-16 code units; senders truncate. */
export const ERROR_MESSAGE_MAX_LENGTH = 1024;

/**
 * Most ops one PushOps may carry. A receiver refuses a larger batch (NET_BATCH_TOO_LARGE, the
 * connection ends) before decoding its ops, so that one message costs it a bounded slice of its
 * event loop; senders split into batches of at most this many. Every build since wire version 3
 * sends at most 1024 ops per PushOps, so the bound changes no honest peer's traffic.
 */
export const PUSH_OPS_OPS_MAX = 1024;

/** Dialer → listener, first frame of every connection. */
export interface HelloMessage {
  readonly type: "Hello";
  readonly nodeId: NodeId;
  readonly protocolVersion: number;
  /** Formats the dialer can read and write; non-empty, no duplicates. */
  readonly formats: readonly WireFormat[];
  /** One of `formats`. */
  readonly preferredFormat: WireFormat;
  readonly versionVector: VersionVector;
  /** Optional messages the dialer reads (empty from a build older than features). */
  readonly features: readonly WireFeature[];
  /**
   * The largest frame the dialer reads (its `max_message_size`): the listener sends it nothing
   * larger. Absent from builds before it (they are sent up to the listener's own limit).
   */
  readonly maxMessageSizeBytes?: number;
}

/** Listener → dialer: the handshake succeeded; both sides send in `chosenFormat` from now on. */
export interface HelloAckMessage {
  readonly type: "HelloAck";
  readonly chosenFormat: WireFormat;
  readonly nodeId: NodeId;
  readonly versionVector: VersionVector;
  /** Optional messages the listener reads (empty from a build older than features). */
  readonly features: readonly WireFeature[];
  /** The largest frame the listener reads (its `max_message_size`); absent from builds before it. */
  readonly maxMessageSizeBytes?: number;
}

/** A batch of ops, either direction. `batchId` is chosen by the sender and echoed in the ack. */
export interface PushOpsMessage<Op> {
  readonly type: "PushOps";
  readonly batchId: number;
  readonly ops: readonly Op[];
}

/** Acknowledges a PushOps: `applied` ops of that batch were new to the receiver (the rest were duplicates). */
export interface PushOpsAckMessage {
  readonly type: "PushOpsAck";
  readonly batchId: number;
  readonly applied: number;
}

/**
 * Part of a state snapshot, sent instead of ops the sender's op-log no longer holds (it was
 * compacted at `op_log_limit`). Each object is one CRDT's whole state, opaque here (`state` is
 * encoded by the CRDT layer); merging is a state join, safe in any order and any number of times.
 * Only the `final` part carries the meaning "the receiver now holds everything up to
 * `versionVector`", so a snapshot cut short by a dropped connection is simply sent again later.
 */
export interface PushStateMessage {
  readonly type: "PushState";
  readonly versionVector: VersionVector;
  readonly objects: readonly { readonly key: string; readonly state: Uint8Array }[];
  readonly final: boolean;
  /**
   * The receiver replaces its replicated state with this snapshot instead of merging it: the
   * sender collected tombstones of removes the receiver has not seen (docs/design/compaction.md).
   * Every part of such a snapshot is marked; only peers with the `state-transfer` feature get it.
   */
  readonly replace?: boolean;
}

/** Asks for at most `limit` ops the sender of this message does not have according to `versionVector`. */
export interface PullSinceMessage {
  readonly type: "PullSince";
  readonly versionVector: VersionVector;
  readonly limit: number;
}

export interface PingMessage {
  readonly type: "Ping";
  readonly nonce: number;
}

export interface PongMessage {
  readonly type: "Pong";
  readonly nonce: number;
}

/**
 * A module message (`msg_publish`), sent only to peers that announced the `pubsub` feature.
 * At-most-once: never acknowledged nor retransmitted. `topic` passes `isValidTopic` and `payload`
 * holds at most MESSAGE_PAYLOAD_MAX_BYTES (src/events/topic.ts); a receiver drops one that does not
 * (NET_PUBLISH_REFUSED) and keeps the connection.
 */
export interface PublishMessage {
  readonly type: "Publish";
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** Most entries one PeerAddresses carries; a receiver refuses a longer list (malformed). */
export const PEER_ADDRESSES_MAX = 256;

/** Longest `address` of a PeerAddresses entry: a 253-character host name in brackets, a colon and 5 digits. */
export const PEER_ADDRESS_LENGTH_MAX = 262;

/**
 * Where the sender's peers can be dialled (peer exchange, docs/design/peer-discovery.md), sent only
 * to peers that announced the `peer-exchange` feature: the sender's own listen address first (its
 * host may be unspecified, `0.0.0.0` or `::`, for the receiver to fill in with the host the
 * connection comes from), then the listen addresses of the peers it is connected to. Each
 * `address` is `host:port` with a port from 1 to 65535. The NodeIds are the sender's word, hints
 * for whom to dial: a dial still proves identity by mTLS.
 */
export interface PeerAddressesMessage {
  readonly type: "PeerAddresses";
  readonly peers: readonly { readonly nodeId: NodeId; readonly address: string }[];
}

/** Where a member stands in SWIM membership (docs/design/peer-discovery.md#membership). */
export type MemberState = "alive" | "suspect" | "dead" | "left";

export const MEMBER_STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];

/**
 * Most entries one MemberSync carries, and most members a node keeps; a receiver refuses a longer
 * list (malformed). The same bound as `max_peers` and the learned-address book.
 */
export const MEMBERS_MAX = 1024;

/** Most membership updates piggybacked on one MemberPing, MemberAck or MemberPingReq; a receiver refuses more (malformed). */
export const MEMBER_UPDATES_PER_MESSAGE_MAX = 8;

/**
 * One member's state as the membership protocol gossips it. `incarnation` orders the claims about
 * one member (only the member itself raises it, to refute a suspicion); `by` is the node that
 * made the claim: the member itself for `alive` and `left`, its accuser for `suspect` and `dead`
 * (independent accusers confirm a suspicion). `address` is the member's listen address
 * (`host:port`, the host may be unspecified as in PeerAddresses), null for a node that does not listen.
 */
export interface MemberUpdate {
  readonly nodeId: NodeId;
  readonly address: string | null;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly by: NodeId;
}

/**
 * SWIM's direct probe (feature `membership`): the receiver answers MemberAck with the same `seq`.
 * It and the acks carry up to MEMBER_UPDATES_PER_MESSAGE_MAX piggybacked updates.
 */
export interface MemberPingMessage {
  readonly type: "MemberPing";
  readonly seq: number;
  readonly updates: readonly MemberUpdate[];
}

/** Answers a MemberPing, or (relayed by a helper) a MemberPingReq, with its `seq`. */
export interface MemberAckMessage {
  readonly type: "MemberAck";
  readonly seq: number;
  readonly updates: readonly MemberUpdate[];
}

/** SWIM's indirect probe: the receiver probes `target` and relays its ack (or a MemberNack) with `seq`. */
export interface MemberPingReqMessage {
  readonly type: "MemberPingReq";
  readonly seq: number;
  readonly target: NodeId;
  readonly updates: readonly MemberUpdate[];
}

/** Lifeguard's nack: the helper of a MemberPingReq got no ack from the target in time (it is alive itself). */
export interface MemberNackMessage {
  readonly type: "MemberNack";
  readonly seq: number;
}

/** The sender's whole member table (itself included), sent when a connection opens (join) and when it leaves. */
export interface MemberSyncMessage {
  readonly type: "MemberSync";
  readonly members: readonly MemberUpdate[];
}

/** A typed refusal or failure report; the sender usually closes the connection right after it. */
export interface ErrorMessage {
  readonly type: "Error";
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
}

export type Message<Op> =
  | HelloMessage
  | HelloAckMessage
  | PushOpsMessage<Op>
  | PushOpsAckMessage
  | PushStateMessage
  | PullSinceMessage
  | PingMessage
  | PongMessage
  | PublishMessage
  | PeerAddressesMessage
  | MemberPingMessage
  | MemberAckMessage
  | MemberPingReqMessage
  | MemberNackMessage
  | MemberSyncMessage
  | ErrorMessage;

export type MessageType = Message<unknown>["type"];

/** Messages the application exchanges once a connection is open (the handshake ones are the transport's). */
export type SessionMessage<Op> = Exclude<Message<Op>, HelloMessage | HelloAckMessage>;

/** An Error message, with `message` truncated to what the wire carries. */
export function errorMessage(code: ErrorCode, message: string, retryable: boolean): ErrorMessage {
  const text =
    message.length > ERROR_MESSAGE_MAX_LENGTH ? message.slice(0, ERROR_MESSAGE_MAX_LENGTH) : message;
  return { type: "Error", code, message: text, retryable };
}
