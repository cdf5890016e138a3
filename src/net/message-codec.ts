import { isValidTopic, MESSAGE_PAYLOAD_MAX_BYTES, TOPIC_MAX_BYTES } from "../events/topic.ts";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import { parseHostPort } from "./host-port.ts";
import { jsonPayloadCodec } from "./json-payload-codec.ts";
import {
  ERROR_CODES,
  ERROR_MESSAGE_MAX_LENGTH,
  type ErrorCode,
  MEMBER_STATES,
  MEMBER_UPDATES_PER_MESSAGE_MAX,
  MEMBERS_MAX,
  type MemberState,
  type MemberUpdate,
  type Message,
  type MessageType,
  PEER_ADDRESS_LENGTH_MAX,
  PEER_ADDRESSES_MAX,
  PROTOCOL_VERSION,
  PUSH_OPS_OPS_MAX,
  type VersionVector,
} from "./messages.ts";
import { refusedExtensionDetail } from "./msgpack-extension-scan.ts";
import { msgpackPayloadCodec } from "./msgpack-payload-codec.ts";
import { msgpackArrayLengthAt } from "./msgpack-peek.ts";
import { asNetError, NetError } from "./net-error.ts";
import type { OpCodec } from "./op-codec.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import { PushOpsPacker } from "./push-ops-packer.ts";
import {
  FEATURES_VECTOR_KEY,
  featureBits,
  featuresOfBits,
  MESSAGE_SIZE_VECTOR_KEY,
  REPLACE_STATE_VECTOR_KEY,
  type WireFeature,
} from "./wire-features.ts";
import { isWireFormat, type WireFormat } from "./wire-format.ts";
import { describeWireType, isPlainObject, type WireValue } from "./wire-value.ts";

/**
 * Messages ⇄ frame bodies, in either format. Decoding is strict: every field is type-checked,
 * unknown and missing fields are refused, and every failure is a NetError — NET_MESSAGE_MALFORMED,
 * or NET_PROTOCOL_MISMATCH for a Hello of another protocol version (checked before the rest of the
 * Hello, whose shape may differ in that version), or NET_PUBLISH_REFUSED for a well-formed Publish
 * whose topic or payload breaks the message rules (the connection drops just that message).
 *
 * @example
 * const codec = createMessageCodec(crdtOpCodec);
 * const body = codec.encode({ type: "Ping", nonce: 7 }, "msgpack");
 * codec.decode(body, "msgpack"); // { type: "Ping", nonce: 7 }
 */
export interface MessageCodec<Op> {
  encode(message: Message<Op>, format: WireFormat): Uint8Array;
  decode(body: Uint8Array, format: WireFormat): Message<Op>;
}

const PAYLOAD_CODECS: Readonly<Record<WireFormat, PayloadCodec>> = {
  msgpack: msgpackPayloadCodec,
  json: jsonPayloadCodec,
};

export function payloadCodecFor(format: WireFormat): PayloadCodec {
  return PAYLOAD_CODECS[format];
}

export function createMessageCodec<Op>(opCodec: OpCodec<Op>): MessageCodec<Op> {
  // One per codec, and a node has one codec for all its connections: a batch of the same ops to
  // each peer packs them once (push-ops-packer.ts).
  const pushOps = new PushOpsPacker(opCodec);
  return {
    encode(message, format) {
      if (format === "msgpack" && message.type === "PushOps") return pushOps.encode(message);
      let wire: WireValue;
      try {
        wire = messageToWire(message, opCodec, format);
      } catch (error) {
        throw asNetError(error, "NET_ENCODE_FAILED", `cannot encode ${message.type} message`);
      }
      return PAYLOAD_CODECS[format].encode(wire);
    },
    decode(body, format) {
      // Refused from the headers alone: decoding a huge batch first would stall the receiver.
      if (format === "msgpack") checkBatchSize(msgpackArrayLengthAt(body, "ops"));
      return messageFromWire(PAYLOAD_CODECS[format].decode(body), opCodec, format);
    },
  };
}

/** The plain wire shape of a message; field order is fixed (golden bytes depend on it). */
function messageToWire<Op>(message: Message<Op>, opCodec: OpCodec<Op>, format: WireFormat): WireValue {
  switch (message.type) {
    case "Hello":
      return {
        type: message.type,
        nodeId: message.nodeId,
        protocolVersion: message.protocolVersion,
        formats: [...message.formats],
        preferredFormat: message.preferredFormat,
        versionVector: versionVectorToWire(
          message.versionVector,
          message.features,
          message.maxMessageSizeBytes,
        ),
      };
    case "HelloAck":
      return {
        type: message.type,
        chosenFormat: message.chosenFormat,
        nodeId: message.nodeId,
        versionVector: versionVectorToWire(
          message.versionVector,
          message.features,
          message.maxMessageSizeBytes,
        ),
      };
    case "PushOps":
      return {
        type: message.type,
        batchId: message.batchId,
        ops: message.ops.map((op) => opCodec.encode(op, format)),
      };
    case "PushOpsAck":
      return { type: message.type, batchId: message.batchId, applied: message.applied };
    case "PushState":
      return {
        type: message.type,
        versionVector: stateVectorToWire(message.versionVector, message.replace === true),
        objects: message.objects.map((o) => ({ key: o.key, state: o.state })),
        final: message.final,
      };
    case "PullSince":
      return {
        type: message.type,
        versionVector: versionVectorToWire(message.versionVector),
        limit: message.limit,
      };
    case "Ping":
    case "Pong":
      return { type: message.type, nonce: message.nonce };
    case "Publish":
      return { type: message.type, topic: message.topic, payload: message.payload };
    case "PeerAddresses":
      return {
        type: message.type,
        peers: message.peers.map((p) => ({ nodeId: p.nodeId, address: p.address })),
      };
    case "MemberPing":
    case "MemberAck":
      return { type: message.type, seq: message.seq, updates: message.updates.map(memberUpdateToWire) };
    case "MemberPingReq":
      return {
        type: message.type,
        seq: message.seq,
        target: message.target,
        updates: message.updates.map(memberUpdateToWire),
      };
    case "MemberNack":
      return { type: message.type, seq: message.seq };
    case "MemberSync":
      return { type: message.type, members: message.members.map(memberUpdateToWire) };
    case "Error":
      return {
        type: message.type,
        code: message.code,
        message: message.message,
        retryable: message.retryable,
      };
  }
}

function memberUpdateToWire(update: MemberUpdate): WireValue {
  return {
    nodeId: update.nodeId,
    address: update.address,
    state: update.state,
    incarnation: update.incarnation,
    by: update.by,
  };
}

/**
 * A handshake's vector carries the sender's features too, under FEATURES_VECTOR_KEY (none: no
 * entry), then its `max_message_size` under MESSAGE_SIZE_VECTOR_KEY (undefined: no entry).
 */
function versionVectorToWire(
  vector: VersionVector,
  features: readonly WireFeature[] = [],
  maxMessageSizeBytes?: number,
): Record<string, number> {
  const wire: Record<string, number> = {};
  for (const [nodeId, sequence] of vector)
    if (nodeId !== FEATURES_VECTOR_KEY && nodeId !== MESSAGE_SIZE_VECTOR_KEY) wire[nodeId] = sequence;
  if (features.length > 0) wire[FEATURES_VECTOR_KEY] = featureBits(features);
  if (maxMessageSizeBytes !== undefined) wire[MESSAGE_SIZE_VECTOR_KEY] = maxMessageSizeBytes;
  return wire;
}

/** A PushState's vector, with the REPLACE_STATE_VECTOR_KEY entry when the snapshot replaces. */
function stateVectorToWire(vector: VersionVector, replace: boolean): Record<string, number> {
  const wire = versionVectorToWire(vector);
  if (replace) wire[REPLACE_STATE_VECTOR_KEY] = 1;
  return wire;
}

const MEMBER_UPDATE_FIELDS: readonly string[] = ["nodeId", "address", "state", "incarnation", "by"];

/** CRDT keys are at most 1024 UTF-8 bytes, so at most 1024 UTF-16 code units. */
const STATE_KEY_LENGTH_MAX = 1024;

const FIELDS: Readonly<Record<MessageType, readonly string[]>> = {
  Hello: ["type", "nodeId", "protocolVersion", "formats", "preferredFormat", "versionVector"],
  HelloAck: ["type", "chosenFormat", "nodeId", "versionVector"],
  PushOps: ["type", "batchId", "ops"],
  PushOpsAck: ["type", "batchId", "applied"],
  PushState: ["type", "versionVector", "objects", "final"],
  PullSince: ["type", "versionVector", "limit"],
  Ping: ["type", "nonce"],
  Pong: ["type", "nonce"],
  Publish: ["type", "topic", "payload"],
  PeerAddresses: ["type", "peers"],
  MemberPing: ["type", "seq", "updates"],
  MemberAck: ["type", "seq", "updates"],
  MemberPingReq: ["type", "seq", "target", "updates"],
  MemberNack: ["type", "seq"],
  MemberSync: ["type", "members"],
  Error: ["type", "code", "message", "retryable"],
};

/** Checks an untrusted decoded payload and builds the message; throws NetError. */
function messageFromWire<Op>(value: unknown, opCodec: OpCodec<Op>, format: WireFormat): Message<Op> {
  if (!isPlainObject(value)) throw malformed("message", `expected a map, got ${describeWireType(value)}`);
  const type = value.type;
  if (typeof type !== "string" || !Object.hasOwn(FIELDS, type)) {
    throw malformed(
      "message",
      `unknown message type ${typeof type === "string" ? JSON.stringify(type.slice(0, 40)) : describeWireType(type)}`,
    );
  }
  const messageType = type as MessageType;
  if (messageType === "Hello") checkProtocolVersion(value);
  checkFieldSet(messageType, value);
  const fields = new FieldReader(messageType, value);
  switch (messageType) {
    case "Hello": {
      const formats = fields.formats("formats");
      const preferredFormat = fields.format("preferredFormat");
      if (!formats.includes(preferredFormat)) {
        throw malformed(messageType, `"preferredFormat" ${preferredFormat} is not one of "formats"`);
      }
      return {
        type: messageType,
        nodeId: fields.nodeId("nodeId"),
        protocolVersion: PROTOCOL_VERSION,
        formats,
        preferredFormat,
        ...fields.handshakeVector("versionVector"),
      };
    }
    case "HelloAck":
      return {
        type: messageType,
        chosenFormat: fields.format("chosenFormat"),
        nodeId: fields.nodeId("nodeId"),
        ...fields.handshakeVector("versionVector"),
      };
    case "PushOps":
      return { type: messageType, batchId: fields.count("batchId"), ops: fields.ops("ops", opCodec, format) };
    case "PushOpsAck":
      return { type: messageType, batchId: fields.count("batchId"), applied: fields.count("applied") };
    case "PushState": {
      const vector = fields.versionVector("versionVector") as Map<NodeId, number>;
      const replace = vector.delete(REPLACE_STATE_VECTOR_KEY);
      return {
        type: messageType,
        versionVector: vector,
        objects: fields.stateObjects("objects"),
        final: fields.boolean("final"),
        ...(replace ? { replace } : {}),
      };
    }
    case "PullSince": {
      const limit = fields.count("limit");
      if (limit < 1) throw malformed(messageType, `"limit" must be at least 1`);
      return { type: messageType, versionVector: fields.versionVector("versionVector"), limit };
    }
    case "Ping":
    case "Pong":
      return { type: messageType, nonce: fields.count("nonce") };
    case "Publish":
      return { type: messageType, ...fields.publication() };
    case "PeerAddresses":
      return { type: messageType, peers: fields.peerAddresses("peers") };
    case "MemberPing":
    case "MemberAck":
      return {
        type: messageType,
        seq: fields.count("seq"),
        updates: fields.memberUpdates("updates", MEMBER_UPDATES_PER_MESSAGE_MAX),
      };
    case "MemberPingReq":
      return {
        type: messageType,
        seq: fields.count("seq"),
        target: fields.nodeId("target"),
        updates: fields.memberUpdates("updates", MEMBER_UPDATES_PER_MESSAGE_MAX),
      };
    case "MemberNack":
      return { type: messageType, seq: fields.count("seq") };
    case "MemberSync":
      return { type: messageType, members: fields.memberUpdates("members", MEMBERS_MAX) };
    case "Error":
      return {
        type: messageType,
        code: fields.errorCode("code"),
        message: fields.string("message", ERROR_MESSAGE_MAX_LENGTH),
        retryable: fields.boolean("retryable"),
      };
  }
}

function checkProtocolVersion(value: Record<string, unknown>): void {
  const version = value.protocolVersion;
  if (!isCount(version))
    throw malformed(
      "Hello",
      `"protocolVersion" must be a non-negative integer, got ${describeWireType(version)}`,
    );
  if (version !== PROTOCOL_VERSION) {
    const who = typeof value.nodeId === "string" && isNodeId(value.nodeId) ? `peer ${value.nodeId}` : "peer";
    throw new NetError(
      "NET_PROTOCOL_MISMATCH",
      `${who} speaks wire protocol version ${version}, this node speaks version ${PROTOCOL_VERSION}: run the same Numax protocol version on both nodes`,
      { wireCode: "protocol_mismatch" },
    );
  }
}

function checkFieldSet(type: MessageType, value: Record<string, unknown>): void {
  const expected = FIELDS[type];
  for (const key of Object.keys(value)) {
    if (!expected.includes(key)) throw malformed(type, `unknown field ${JSON.stringify(key.slice(0, 40))}`);
  }
  for (const key of expected) {
    if (!Object.hasOwn(value, key)) throw malformed(type, `missing field "${key}"`);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

class FieldReader {
  readonly #type: MessageType;
  readonly #value: Record<string, unknown>;

  constructor(type: MessageType, value: Record<string, unknown>) {
    this.#type = type;
    this.#value = value;
  }

  count(key: string): number {
    const value = this.#value[key];
    if (!isCount(value)) throw this.#wrong(key, "a non-negative integer", value);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.#value[key];
    if (typeof value !== "boolean") throw this.#wrong(key, "a boolean", value);
    return value;
  }

  string(key: string, maxLength: number): string {
    const value = this.#value[key];
    if (typeof value !== "string") throw this.#wrong(key, "a string", value);
    if (value.length > maxLength)
      throw malformed(this.#type, `"${key}" is longer than ${maxLength} characters`);
    return value;
  }

  nodeId(key: string): NodeId {
    const value = this.#value[key];
    if (typeof value !== "string" || !isNodeId(value))
      throw this.#wrong(key, "a NodeId (32 lowercase hex characters)", value);
    return value;
  }

  format(key: string): WireFormat {
    const value = this.#value[key];
    if (!isWireFormat(value)) throw this.#wrong(key, `a format ("msgpack" or "json")`, value);
    return value;
  }

  formats(key: string): WireFormat[] {
    const value = this.#value[key];
    if (!Array.isArray(value) || value.length === 0)
      throw this.#wrong(key, "a non-empty array of formats", value);
    const formats: WireFormat[] = [];
    for (const item of value) {
      if (!isWireFormat(item)) throw this.#wrong(key, `an array of formats ("msgpack" or "json")`, item);
      if (formats.includes(item)) throw malformed(this.#type, `"${key}" lists ${item} twice`);
      formats.push(item);
    }
    return formats;
  }

  errorCode(key: string): ErrorCode {
    const value = this.#value[key];
    if (typeof value !== "string" || !(ERROR_CODES as readonly string[]).includes(value)) {
      throw this.#wrong(key, `one of ${ERROR_CODES.join(", ")}`, value);
    }
    return value as ErrorCode;
  }

  versionVector(key: string): VersionVector {
    const value = this.#value[key];
    if (!isPlainObject(value)) throw this.#wrong(key, "a map of NodeId to sequence number", value);
    const vector = new Map<NodeId, number>();
    for (const [origin, sequence] of Object.entries(value)) {
      if (!isNodeId(origin))
        throw malformed(
          this.#type,
          `"${key}" has a key that is not a NodeId: ${JSON.stringify(origin.slice(0, 40))}`,
        );
      if (!isCount(sequence))
        throw malformed(
          this.#type,
          `"${key}" maps ${origin} to ${describeWireType(sequence)}, expected a non-negative integer`,
        );
      vector.set(origin, sequence);
    }
    return vector;
  }

  /** A Hello/HelloAck vector: the version vector, and the features and message size limit announced in it. */
  handshakeVector(key: string): {
    versionVector: VersionVector;
    features: WireFeature[];
    maxMessageSizeBytes?: number;
  } {
    const vector = this.versionVector(key) as Map<NodeId, number>;
    const bits = vector.get(FEATURES_VECTOR_KEY);
    const maxMessageSizeBytes = vector.get(MESSAGE_SIZE_VECTOR_KEY);
    vector.delete(FEATURES_VECTOR_KEY);
    vector.delete(MESSAGE_SIZE_VECTOR_KEY);
    return {
      versionVector: vector,
      features: bits === undefined ? [] : featuresOfBits(bits),
      ...(maxMessageSizeBytes === undefined ? {} : { maxMessageSizeBytes }),
    };
  }

  /** The topic and payload of a Publish; a well-formed one that breaks the message rules is NET_PUBLISH_REFUSED. */
  publication(): { topic: string; payload: Uint8Array } {
    const payload = this.#value.payload;
    if (!(payload instanceof Uint8Array)) throw this.#wrong("payload", "bytes", payload);
    const topic = this.#value.topic;
    if (typeof topic !== "string") throw this.#wrong("topic", "a string", topic);
    if (!isValidTopic(topic)) {
      throw new NetError(
        "NET_PUBLISH_REFUSED",
        `topic ${JSON.stringify(topic.slice(0, 64))}${topic.length > 64 ? "…" : ""} is not a valid topic (1 to ${TOPIC_MAX_BYTES} ASCII letters, digits and _ - . : /)`,
      );
    }
    if (payload.byteLength > MESSAGE_PAYLOAD_MAX_BYTES) {
      throw new NetError(
        "NET_PUBLISH_REFUSED",
        `payload of ${payload.byteLength} bytes on topic ${topic} exceeds MESSAGE_PAYLOAD_MAX_BYTES (${MESSAGE_PAYLOAD_MAX_BYTES} bytes)`,
      );
    }
    return { topic, payload };
  }

  peerAddresses(key: string): { nodeId: NodeId; address: string }[] {
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.#wrong(key, "an array of {nodeId, address} maps", value);
    if (value.length > PEER_ADDRESSES_MAX)
      throw malformed(this.#type, `"${key}" has ${value.length} entries, more than ${PEER_ADDRESSES_MAX}`);
    return value.map((item, i) => {
      if (
        !isPlainObject(item) ||
        Object.keys(item).length !== 2 ||
        !("nodeId" in item) ||
        !("address" in item)
      ) {
        throw malformed(this.#type, `"${key}" #${i} must be a map with exactly "nodeId" and "address"`);
      }
      if (typeof item.nodeId !== "string" || !isNodeId(item.nodeId)) {
        throw malformed(
          this.#type,
          `"${key}" #${i}: "nodeId" must be a NodeId (32 lowercase hex characters)`,
        );
      }
      if (typeof item.address !== "string" || !isDialAddress(item.address)) {
        throw malformed(
          this.#type,
          `"${key}" #${i}: "address" must be host:port (port 1 to 65535, at most ${PEER_ADDRESS_LENGTH_MAX} characters)`,
        );
      }
      return { nodeId: item.nodeId, address: item.address };
    });
  }

  memberUpdates(key: string, max: number): MemberUpdate[] {
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.#wrong(key, "an array of member updates", value);
    if (value.length > max)
      throw malformed(this.#type, `"${key}" has ${value.length} entries, more than ${max}`);
    return value.map((item, i) => {
      const where = `"${key}" #${i}`;
      if (!isPlainObject(item)) throw malformed(this.#type, `${where} must be a map`);
      for (const field of Object.keys(item)) {
        if (!MEMBER_UPDATE_FIELDS.includes(field))
          throw malformed(this.#type, `${where} has an unknown field ${JSON.stringify(field.slice(0, 40))}`);
      }
      for (const field of MEMBER_UPDATE_FIELDS) {
        if (!Object.hasOwn(item, field)) throw malformed(this.#type, `${where} misses field "${field}"`);
      }
      const { nodeId, address, state, incarnation, by } = item;
      if (typeof nodeId !== "string" || !isNodeId(nodeId) || typeof by !== "string" || !isNodeId(by)) {
        throw malformed(
          this.#type,
          `${where}: "nodeId" and "by" must be NodeIds (32 lowercase hex characters)`,
        );
      }
      if (address !== null && (typeof address !== "string" || !isDialAddress(address))) {
        throw malformed(
          this.#type,
          `${where}: "address" must be null or host:port (port 1 to 65535, at most ${PEER_ADDRESS_LENGTH_MAX} characters)`,
        );
      }
      if (typeof state !== "string" || !(MEMBER_STATES as readonly string[]).includes(state)) {
        throw malformed(this.#type, `${where}: "state" must be one of ${MEMBER_STATES.join(", ")}`);
      }
      if (!isCount(incarnation))
        throw malformed(this.#type, `${where}: "incarnation" must be a non-negative integer`);
      return { nodeId, address, state: state as MemberState, incarnation, by };
    });
  }

  stateObjects(key: string): { key: string; state: Uint8Array }[] {
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.#wrong(key, "an array of {key, state} objects", value);
    return value.map((item, i) => {
      if (!isPlainObject(item) || Object.keys(item).length !== 2) {
        throw malformed(this.#type, `"${key}" #${i} must be a map with exactly "key" and "state"`);
      }
      if (typeof item.key !== "string" || item.key.length > STATE_KEY_LENGTH_MAX) {
        throw malformed(
          this.#type,
          `"${key}" #${i}: "key" must be a string of at most ${STATE_KEY_LENGTH_MAX} characters`,
        );
      }
      if (!(item.state instanceof Uint8Array))
        throw malformed(this.#type, `"${key}" #${i}: "state" must be bytes`);
      // A state is MessagePack the sync layer decodes with the store's msgpackr, every extension
      // on (src/crdt/state-codec.ts): walked here like a frame, or a peer could put in a state the
      // extensions the frame's walk refuses.
      const refused = refusedExtensionDetail(item.state);
      if (refused !== undefined) throw malformed(this.#type, `"${key}" #${i}: "state": ${refused}`);
      return { key: item.key, state: item.state };
    });
  }

  ops<Op>(key: string, opCodec: OpCodec<Op>, format: WireFormat): Op[] {
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.#wrong(key, "an array of ops", value);
    checkBatchSize(value.length);
    const ops: Op[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      try {
        const op = opCodec.decode(value[i], format);
        opCodec.validate?.(op);
        ops[i] = op;
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new NetError("NET_MESSAGE_MALFORMED", `malformed ${this.#type} message: op #${i}: ${detail}`, {
          cause: error,
          wireCode: "malformed",
        });
      }
    }
    return ops;
  }

  #wrong(key: string, expected: string, got: unknown): NetError {
    return malformed(this.#type, `"${key}" must be ${expected}, got ${describeWireType(got)}`);
  }
}

/** `host:port` or `[ipv6]:port` with a port from 1 to 65535, as PeerAddresses carries. */
function isDialAddress(address: string): boolean {
  if (address.length > PEER_ADDRESS_LENGTH_MAX) return false;
  try {
    return parseHostPort(address).port > 0;
  } catch {
    return false;
  }
}

function checkBatchSize(ops: number | undefined): void {
  if (ops === undefined || ops <= PUSH_OPS_OPS_MAX) return;
  throw new NetError(
    "NET_BATCH_TOO_LARGE",
    `PushOps of ${ops} ops exceeds the ${PUSH_OPS_OPS_MAX} ops one message may carry (the sender must split its batches)`,
    { wireCode: "rejected" },
  );
}

function malformed(type: string, detail: string): NetError {
  return new NetError("NET_MESSAGE_MALFORMED", `malformed ${type} message: ${detail}`, {
    wireCode: "malformed",
  });
}
