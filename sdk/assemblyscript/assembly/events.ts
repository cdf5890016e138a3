// Reactive modules (docs/design/event-model.md): the node calls a module's exported callbacks as
// events arrive, one at a time, and its memory persists between calls. A guest registers a
// handler per event and re-exports the SDK's callback for it; the callback reads the event's
// data and calls the handler:
//
//   import { events, log } from "../../../sdk/assemblyscript/assembly";
//   export { init, on_remote_op } from "../../../sdk/assemblyscript/assembly/events";
//
//   events.onInit((): void => {
//     events.subscribe("chat/*");
//   });
//   events.onRemoteOp((op: events.RemoteOp): void => {
//     log.info(`${events.familyName(op.family)} ${op.key} from ${op.origin}`);
//   });
//
// Only the callbacks a guest re-exports become exports, and the node calls only those (a module
// with none of them is one-shot). A re-exported callback without a handler ends the guest with a
// message naming both. Handlers are function references: like every AssemblyScript function they
// cannot capture locals; keep state in module-level variables.

import { event_origin, event_payload, event_subject, msg_publish, msg_subscribe, msg_unsubscribe, tick_every } from "./abi";
import { fieldArg, keyArg } from "./arg-span";
import { abortWith, ErrorCode, failed, succeeded } from "./error";
import { MESSAGE_PAYLOAD_MAX_BYTES, SUBSCRIPTIONS_PER_MODULE_MAX, TICK_INTERVAL_MIN_MS, TOPIC_MAX_BYTES } from "./limits";
import { outputBytes, outputText, readOutput } from "./output-buffer";

// --- CRDT families --------------------------------------------------------------------------

/** The CRDT family of a remote op: the numbers the store and `on_remote_op` use. */
export enum Family {
  GCounter = 1,
  PNCounter = 2,
  LwwRegister = 3,
  LwwMap = 4,
  ORSet = 5,
  Rga = 6,
}

/** The family's name as the node's `--print-*` flags spell it (`gcounter` ... `rga`); `unknown` for another code. */
export function familyName(family: i32): string {
  switch (family) {
    case Family.GCounter:
      return "gcounter";
    case Family.PNCounter:
      return "pncounter";
    case Family.LwwRegister:
      return "lww-register";
    case Family.LwwMap:
      return "lww-map";
    case Family.ORSet:
      return "orset";
    case Family.Rga:
      return "rga";
    default:
      return "unknown";
  }
}

// --- event data -------------------------------------------------------------------------------

/** A peer's op applied on this node: one per key and family per dispatch. */
export class RemoteOp {
  constructor(
    public key: string,
    /** A `Family` code. */
    public family: i32,
    /** The NodeId of the node the (last) op on this key came from. */
    public origin: string,
  ) {}
}

/** A message on a topic this module subscribed to. */
export class Message {
  constructor(
    public topic: string,
    public payload: Uint8Array,
    /** The publisher's NodeId; "" for a local message on a node without sync. */
    public origin: string,
  ) {}

  /** The payload decoded as UTF-8. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.payload.dataStart, <usize>this.payload.byteLength);
  }
}

/**
 * The subject of the event being delivered: the key (`on_remote_op`), the peer's NodeId
 * (`on_peer_*`) or the topic (`on_message`); "" outside such a callback (`lastError()` is then
 * `NotFound`).
 */
export function subject(): string {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => event_subject(outPtr, outCap));
  return succeeded(n, "events.subject", 0) ? outputText(n) : "";
}

/** The payload of the message being delivered; empty outside `on_message`. */
export function payload(): Uint8Array {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => event_payload(outPtr, outCap));
  return succeeded(n, "events.payload", 0) ? outputBytes(n) : new Uint8Array(0);
}

/** The NodeId the event came from (op origin, peer, publisher); "" when there is none. */
export function origin(): string {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => event_origin(outPtr, outCap));
  return succeeded(n, "events.origin", 0) ? outputText(n) : "";
}

// --- shaping events ---------------------------------------------------------------------------

const TOPIC_RULE = `a topic is 1..${TOPIC_MAX_BYTES} bytes of ASCII letters, digits and _ - . : /`;

/**
 * Calls `on_tick` every `ms` milliseconds from now on (0 stops ticks); overrides the module's
 * `tick` in numax.toml. Fails (error policy) below TICK_INTERVAL_MIN_MS or when the module does
 * not export `on_tick`.
 */
export function tickEvery(ms: u32): bool {
  const n = tick_every(ms);
  if (n == ErrorCode.NotFound) return failed(n, "events.tickEvery", 0, "the module exports no on_tick");
  if (n == ErrorCode.Internal) {
    return failed(n, "events.tickEvery", 0, `${ms} ms is below the minimum of ${TICK_INTERVAL_MIN_MS} ms (0 stops ticks)`);
  }
  return succeeded(n, "events.tickEvery", 0);
}

/**
 * Delivers messages on the topics `pattern` matches to `on_message`: a topic, or a prefix and a
 * trailing `*` (`chat/*`; `*` alone: every topic). Subscribing twice is not an error. Fails
 * (error policy) on an invalid pattern, past SUBSCRIPTIONS_PER_MODULE_MAX, or when the module
 * does not export `on_message`.
 */
export function subscribe(pattern: string): bool {
  keyArg.of(pattern);
  const n = msg_subscribe(keyArg.ptr, keyArg.len);
  if (n == ErrorCode.NotFound) return failed(n, "events.subscribe", pattern, "the module exports no on_message");
  if (n == ErrorCode.Internal) {
    return failed(
      n,
      "events.subscribe",
      pattern,
      `invalid pattern (${TOPIC_RULE}, optionally ending with *) or already ${SUBSCRIPTIONS_PER_MODULE_MAX} subscriptions`,
    );
  }
  return succeeded(n, "events.subscribe", pattern);
}

/** Ends the subscription to exactly `pattern`; false (`NotFound`) when there was none. */
export function unsubscribe(pattern: string): bool {
  keyArg.of(pattern);
  return succeeded(msg_unsubscribe(keyArg.ptr, keyArg.len), "events.unsubscribe", pattern);
}

/**
 * Publishes `payload` (string as UTF-8, Uint8Array or ArrayBuffer) on `topic` to every
 * subscribed module on this node and on the connected peers: at most once, in order from this
 * node. Fails (error policy) on an invalid topic or a payload over MESSAGE_PAYLOAD_MAX_BYTES.
 */
export function publish<P>(topic: string, payload: P): bool {
  keyArg.of(topic);
  fieldArg.of(payload);
  const n = msg_publish(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len);
  if (n == ErrorCode.Internal) {
    return failed(n, "events.publish", topic, `invalid topic (${TOPIC_RULE}) or payload over ${MESSAGE_PAYLOAD_MAX_BYTES >> 10} KiB`);
  }
  return succeeded(n, "events.publish", topic);
}

// --- handlers and the callbacks that call them ----------------------------------------------

let initHandler: (() => void) | null = null;
let shutdownHandler: (() => void) | null = null;
let tickHandler: (() => void) | null = null;
let remoteOpHandler: ((op: RemoteOp) => void) | null = null;
let peerConnectedHandler: ((nodeId: string) => void) | null = null;
let peerDisconnectedHandler: ((nodeId: string) => void) | null = null;
let messageHandler: ((message: Message) => void) | null = null;

/** Runs once at start and after every restart: set the tick period and subscriptions here. */
export function onInit(handler: () => void): void {
  initHandler = handler;
}

/** Runs once at graceful shutdown; its writes are durable before the node exits. */
export function onShutdown(handler: () => void): void {
  shutdownHandler = handler;
}

/** Runs every tick period (see `tickEvery`). */
export function onTick(handler: () => void): void {
  tickHandler = handler;
}

/** Runs after a peer's op is applied on this node (never for this node's own ops). */
export function onRemoteOp(handler: (op: RemoteOp) => void): void {
  remoteOpHandler = handler;
}

/** Runs when a peer's connection is established, with its NodeId. */
export function onPeerConnected(handler: (nodeId: string) => void): void {
  peerConnectedHandler = handler;
}

/** Runs when a peer's connection ended, with its NodeId. */
export function onPeerDisconnected(handler: (nodeId: string) => void): void {
  peerDisconnectedHandler = handler;
}

/** Runs for each message on a subscribed topic (see `subscribe`). */
export function onMessage(handler: (message: Message) => void): void {
  messageHandler = handler;
}

function unhandled(callback: string, register: string): void {
  abortWith(`nx SDK: the module exports ${callback} but registered no handler: call events.${register} at the top level of the module`);
}

// The exports below are the callbacks of the contract, with its exact signatures; the lengths
// they receive are not needed, since the readers size their buffer themselves.

export function init(): void {
  const handler = initHandler;
  if (handler === null) unhandled("init", "onInit");
  else handler();
}

export function shutdown(): void {
  const handler = shutdownHandler;
  if (handler === null) unhandled("shutdown", "onShutdown");
  else handler();
}

export function on_tick(): void {
  const handler = tickHandler;
  if (handler === null) unhandled("on_tick", "onTick");
  else handler();
}

export function on_remote_op(keyLen: i32, family: i32): void {
  const handler = remoteOpHandler;
  if (handler === null) unhandled("on_remote_op", "onRemoteOp");
  else handler(new RemoteOp(subject(), family, origin()));
}

export function on_peer_connected(nodeIdLen: i32): void {
  const handler = peerConnectedHandler;
  if (handler === null) unhandled("on_peer_connected", "onPeerConnected");
  else handler(subject());
}

export function on_peer_disconnected(nodeIdLen: i32): void {
  const handler = peerDisconnectedHandler;
  if (handler === null) unhandled("on_peer_disconnected", "onPeerDisconnected");
  else handler(subject());
}

export function on_message(topicLen: i32, payloadLen: i32): void {
  const handler = messageHandler;
  if (handler === null) unhandled("on_message", "onMessage");
  else handler(new Message(subject(), payload(), origin()));
}
