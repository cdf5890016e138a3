import type { NodeId } from "../identity/node-id.ts";
import type { RemoteChange, SyncEventSink } from "../sync/sync-events.ts";
import {
  type EventObserver,
  type MessagePublisher,
  ModuleEvents,
  type ModuleEventsOptions,
} from "./module-events.ts";
import { type TopicPattern, topicMatches } from "./topic.ts";

/** A client's subscription (an SSE stream's `sse_forward`): messages go to `deliver`, not a module. */
interface ClientSubscription {
  readonly pattern: TopicPattern;
  readonly deliver: (topic: string, payload: Uint8Array) => void;
}

/** How module messages leave the node: the sync service's `publish` (peers that speak pub/sub). */
export interface PeerPublisher {
  publish(topic: string, payload: Uint8Array): number;
}

/**
 * The node's event fan-out (docs/design/event-model.md): what sync reports (a peer's changes,
 * peers coming and going, a peer's messages) and what modules publish reaches every module's
 * {@link ModuleEvents} that has the callback (and, for messages, a matching subscription).
 * It is the sync service's event sink; without sync, messages stay on this node.
 */
export class NodeEventBus implements MessagePublisher, SyncEventSink {
  readonly #modules: ModuleEvents[] = [];
  readonly #clients = new Set<ClientSubscription>();
  readonly #observer: EventObserver | undefined;
  #nodeId: NodeId | undefined;
  #peers: PeerPublisher | undefined;

  /** `observer` counts every module's events (the node's metrics). */
  constructor(observer?: EventObserver) {
    this.#observer = observer;
  }

  /** Publishing now also reaches the peers, as messages from `nodeId`. */
  connect(nodeId: NodeId, peers: PeerPublisher): void {
    this.#nodeId = nodeId;
    this.#peers = peers;
  }

  /** The events of one more module, publishing through this bus. */
  addModule(options: Omit<ModuleEventsOptions, "publisher" | "observer">): ModuleEvents {
    const module = new ModuleEvents({ ...options, publisher: this, observer: this.#observer });
    this.#modules.push(module);
    return module;
  }

  /** `module` gets no more events (its module was removed); the caller closes it. */
  removeModule(module: ModuleEvents): void {
    const index = this.#modules.indexOf(module);
    if (index >= 0) this.#modules.splice(index, 1);
  }

  modules(): readonly ModuleEvents[] {
    return this.#modules;
  }

  /**
   * Messages on topics `pattern` matches (published here or by a peer) also go to `deliver`,
   * until the returned function is called: how an SSE stream forwards a topic to its client.
   */
  subscribeClient(pattern: TopicPattern, deliver: (topic: string, payload: Uint8Array) => void): () => void {
    const subscription: ClientSubscription = { pattern, deliver };
    this.#clients.add(subscription);
    return () => this.#clients.delete(subscription);
  }

  /** Client subscriptions held now (tests: none outlives its stream). */
  get clientSubscriptions(): number {
    return this.#clients.size;
  }

  /** A module's `msg_publish`: this node's subscribers (the publisher included), then the peers. */
  publish(topic: string, payload: Uint8Array): void {
    this.#deliverMessage(topic, payload, this.#nodeId);
    this.#peers?.publish(topic, payload);
  }

  /** A message for this node's modules only (`--stdin-topic` lines). */
  publishLocal(topic: string, payload: Uint8Array): void {
    this.#deliverMessage(topic, payload, this.#nodeId);
  }

  // ---- the sync service's event sink ----------------------------------------------------------

  remoteChanges(changes: readonly RemoteChange[]): void {
    for (const module of this.#modules) {
      if (!module.callbacks.has("on_remote_op")) continue;
      for (const { key, family, origin } of changes) {
        const shown = module.remoteKey(family, key);
        if (shown !== undefined) module.deliver({ kind: "remote_op", key: shown, family, origin });
      }
    }
  }

  peer(event: "connected" | "disconnected", nodeId: NodeId): void {
    const kind = event === "connected" ? "peer_connected" : "peer_disconnected";
    for (const module of this.#modules) module.deliver({ kind, nodeId });
  }

  message(from: NodeId, topic: string, payload: Uint8Array): void {
    this.#deliverMessage(topic, payload, from);
  }

  /** Every module's events end (the node is shutting down). */
  closeAll(): void {
    for (const module of this.#modules) module.close();
  }

  #deliverMessage(topic: string, payload: Uint8Array, origin: NodeId | undefined): void {
    for (const module of this.#modules) {
      if (module.subscribedTo(topic)) module.deliver({ kind: "message", topic, payload, origin });
    }
    for (const client of this.#clients) {
      if (topicMatches(client.pattern, topic)) client.deliver(topic, payload);
    }
  }
}
