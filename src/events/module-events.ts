import type { CrdtFamily } from "../crdt/op.ts";
import type { NodeId } from "../identity/node-id.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND, OK } from "../wasm/abi/abi-codes.ts";
import type { CurrentEvent, ModuleEventPort } from "../wasm/abi/module-event-port.ts";
import type { CallbackExport } from "../wasm/guest-exports.ts";
import { EVENT_QUEUE_MAX, EventQueue } from "./event-queue.ts";
import type { ModuleEvent, ModuleEventKind } from "./module-event.ts";
import { isTickPeriod } from "./tick-period.ts";
import {
  isValidTopic,
  MESSAGE_PAYLOAD_MAX_BYTES,
  parseTopicPattern,
  type TopicPattern,
  topicMatches,
} from "./topic.ts";

/** Subscriptions one module may hold at once. */
export const SUBSCRIPTIONS_PER_MODULE_MAX = 64;

/**
 * Where a module is in its life, as `/v1/node` lists it. One-shot modules go `running` →
 * `ended` or `failed`; reactive ones `starting` (run and init) → `running` (events), back to
 * `restarting` after a crash, `crashed` once their supervisor gave up, `stopping` (shutdown)
 * → `stopped`.
 */
export type ModuleState =
  | "starting"
  | "running"
  | "restarting"
  | "crashed"
  | "stopping"
  | "stopped"
  | "ended"
  | "failed";

/** Counts and timings of the modules' events, for the node's metrics. */
export interface EventObserver {
  /** The observer of one module's events, asked for once per module. */
  module(moduleId: string): ModuleEventObserver;
}

export interface ModuleEventObserver {
  delivered(kind: ModuleEventKind): void;
  dropped(kind: ModuleEventKind): void;
  /** One callback call: `seconds` of guest time (time parked in a host call does not count). */
  callback(callback: CallbackExport, seconds: number, ok: boolean): void;
  restarted(): void;
}

/** What a module's events need of the node: publishing (this node's modules and its peers). */
export interface MessagePublisher {
  publish(topic: string, payload: Uint8Array): void;
}

export interface ModuleEventsOptions {
  readonly moduleId: string;
  /** The callbacks the module exports: events with no callback are never queued. */
  readonly callbacks: ReadonlySet<CallbackExport>;
  readonly publisher: MessagePublisher;
  /** Tick period before the guest calls `tick_every` (`[modules.<id>] tick`); undefined: no ticks. */
  readonly tickMs?: number;
  readonly queueCapacity?: number;
  readonly observer?: EventObserver;
  /**
   * The key an op on CRDT `key` shows the module (docs/design/policies.md#namespaces), or
   * undefined when its policy keeps the key from it (no event). Absent: every key, as is.
   */
  readonly remoteKey?: (family: CrdtFamily, key: string) => string | undefined;
}

const CALLBACK_OF: Record<ModuleEventKind, CallbackExport> = {
  tick: "on_tick",
  remote_op: "on_remote_op",
  peer_connected: "on_peer_connected",
  peer_disconnected: "on_peer_disconnected",
  message: "on_message",
};

export function callbackOf(kind: ModuleEventKind): CallbackExport {
  return CALLBACK_OF[kind];
}

const utf8 = new TextEncoder();

/**
 * The event side of one module: its bounded queue, tick timer and subscriptions, the event
 * its callback is running, and its state. The node's event bus delivers into it; the module's
 * process takes events out one at a time (`next`), so callbacks never overlap. Subscriptions
 * and the tick period belong to one life of the module: a restart (`beginLife`) resets them,
 * and `init` sets them again. The queue outlives restarts, so events that came during one are
 * still delivered.
 */
export class ModuleEvents implements ModuleEventPort {
  readonly moduleId: string;
  #callbacks: ReadonlySet<CallbackExport>;
  readonly #options: ModuleEventsOptions;
  readonly #observer: ModuleEventObserver | undefined;
  readonly #queue: EventQueue;
  readonly #subscriptions = new Map<string, TopicPattern>();
  #callbackSeconds = 0;
  #tickTimer: NodeJS.Timeout | undefined;
  /** The event whose callback runs now, and its bytes once the guest asked for them. */
  #currentEvent: ModuleEvent | undefined;
  #currentData: CurrentEvent | undefined;
  /** The event handed to the process and not finished yet (its callback may not have begun). */
  #inFlight: ModuleEvent | undefined;
  /** Wakes the process waiting in `next`. */
  #waiter: (() => void) | undefined;
  #closed = false;
  /** The module's code (see `code`), and the code of the life that runs now. */
  #code = 0;
  #lifeCode = 0;
  /** Waiting for a life of one code to settle after `starting` (a reload waits for its new code). */
  #settleWaiters: { readonly code: number; readonly settled: (state: ModuleState) => void }[] = [];
  #state: ModuleState;
  #lives = 0;
  #failedIn: CallbackExport | "run" | undefined;

  constructor(options: ModuleEventsOptions) {
    this.moduleId = options.moduleId;
    this.#callbacks = options.callbacks;
    this.#options = options;
    this.#observer = options.observer?.module(options.moduleId);
    this.#queue = new EventQueue(options.queueCapacity ?? EVENT_QUEUE_MAX);
    this.#state = options.callbacks.size > 0 ? "starting" : "running";
  }

  /** The key a remote op on CRDT `key` shows the module, or undefined: the module does not see it. */
  remoteKey(family: CrdtFamily, key: string): string | undefined {
    return this.#options.remoteKey === undefined ? key : this.#options.remoteKey(family, key);
  }

  /** The callbacks the module's current code exports: events with no callback are never queued. */
  get callbacks(): ReadonlySet<CallbackExport> {
    return this.#callbacks;
  }

  get reactive(): boolean {
    return this.#callbacks.size > 0;
  }

  get state(): ModuleState {
    return this.#state;
  }

  setState(state: ModuleState): void {
    this.#state = state;
    if (state === "starting" || this.#settleWaiters.length === 0) return;
    const waiters = this.#settleWaiters;
    this.#settleWaiters = waiters.filter(({ code }) => code !== this.#lifeCode);
    for (const { code, settled } of waiters) if (code === this.#lifeCode) settled(state);
  }

  /**
   * The state a life of code `code` settles in after `starting`: `running` once its `init`
   * returned, or how it failed (`restarting`, `crashed`, `failed`).
   */
  settledState(code: number): Promise<ModuleState> {
    return new Promise((settled) => this.#settleWaiters.push({ code, settled }));
  }

  /** Which code the module runs: 0 for the code it started with, one more at every reload. */
  get code(): number {
    return this.#code;
  }

  /**
   * The module's code was replaced (a hot reload) by code exporting `callbacks`: waiting events
   * the new code has no callback for are dropped (counted), the others stay for its first life.
   * A life of older code ends at its next event as it would when closed (its `shutdown` runs).
   */
  changeCode(callbacks: ReadonlySet<CallbackExport>): void {
    this.#callbacks = callbacks;
    this.#code++;
    for (const dropped of this.#queue.retain((event) => callbacks.has(CALLBACK_OF[event.kind])))
      this.#observer?.dropped(dropped);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Events waiting now. */
  get queued(): number {
    return this.#queue.size;
  }

  /** True when no event waits and none is being handled (taken and its callback not finished). */
  get idle(): boolean {
    return this.#queue.size === 0 && this.#inFlight === undefined;
  }

  /** Whether `topic` reaches this module's `on_message`. */
  subscribedTo(topic: string): boolean {
    for (const pattern of this.#subscriptions.values()) if (topicMatches(pattern, topic)) return true;
    return false;
  }

  /** Queues `event` when the module has its callback (dropping by the queue's rules). */
  deliver(event: ModuleEvent): void {
    if (this.#closed || !this.callbacks.has(CALLBACK_OF[event.kind])) return;
    if (event.kind === "tick" && this.#currentEvent?.kind === "tick") {
      // The previous tick still runs: this one is skipped, not queued behind it.
      this.#observer?.dropped("tick");
      return;
    }
    for (const dropped of this.#queue.push(event)) this.#observer?.dropped(dropped);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /**
   * The next event for the module's process (`life`: its signal); undefined once the events are
   * closed. A wait only wakes the process: it takes the event itself, so a process that ended
   * while it waited takes nothing (its wait ends as at the close), and the event stays queued
   * for the next life. A wait left on a promise that never settles would keep the process's
   * dispatch loop, and with it its guest instance, for the node's lifetime.
   */
  next(life: AbortSignal): ModuleEvent | undefined | Promise<ModuleEvent | undefined> {
    // A life of replaced code ends here: its `shutdown` runs, the queue waits for the new code.
    if (this.#closed || this.#lifeCode !== this.#code) return undefined;
    const event = this.#queue.take();
    if (event !== undefined) {
      this.#inFlight = event;
      return event;
    }
    return new Promise<void>((wake) => {
      this.#waiter = wake;
    }).then(() => (life.aborted ? undefined : this.next(life)));
  }

  /**
   * A new life of the module's process begins (first start, restart, or the first life of
   * reloaded code: `code`, default the current one): subscriptions and the tick period go back
   * to the configured ones.
   */
  beginLife(code: number = this.#code): void {
    this.#lives++;
    // The first life of reloaded code is not a restart.
    if (this.#lives > 1 && code === this.#lifeCode) this.#observer?.restarted();
    this.#lifeCode = code;
    this.#subscriptions.clear();
    this.#currentEvent = undefined;
    this.#currentData = undefined;
    this.#inFlight = undefined;
    // The previous life's wait (if it died waiting) is never woken: its promise is dropped.
    this.#waiter = undefined;
    // A configured period without an on_tick to call would only fill the queue with drops.
    this.#setTick(this.callbacks.has("on_tick") ? this.#options.tickMs : undefined);
    if (!this.#closed) this.#state = "starting";
  }

  /** Marks `event` as the one whose callback runs now (undefined: between callbacks). */
  setCurrent(event: ModuleEvent | undefined): void {
    this.#currentEvent = event;
    this.#currentData = undefined;
    if (event === undefined) this.#inFlight = undefined;
    if (event !== undefined) this.#observer?.delivered(event.kind);
  }

  /** Reports one callback call. */
  called(callback: CallbackExport, seconds: number, ok: boolean): void {
    this.#callbackSeconds += seconds;
    this.#observer?.callback(callback, seconds, ok);
  }

  /** Time spent in the module's callbacks so far, in ms. */
  get callbackMs(): number {
    return this.#callbackSeconds * 1000;
  }

  /** The export whose call ended the module's latest life with a failure (for the crash line). */
  get failedIn(): CallbackExport | "run" | undefined {
    return this.#failedIn;
  }

  set failedIn(name: CallbackExport | "run" | undefined) {
    this.#failedIn = name;
  }

  /** No more events: ticks stop, waiting events are dropped, the process's `next` ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#setTick(undefined);
    this.#queue.clear();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- ModuleEventPort (the guest's host calls) ----------------------------------------------

  current(): CurrentEvent | undefined {
    const event = this.#currentEvent;
    if (event === undefined) return undefined;
    this.#currentData ??= eventData(event);
    return this.#currentData;
  }

  tickEvery(ms: number): number {
    if (!this.callbacks.has("on_tick")) return ERR_NOT_FOUND;
    if (ms !== 0 && !isTickPeriod(ms)) return ERR_INTERNAL;
    this.#setTick(ms === 0 ? undefined : ms);
    return OK;
  }

  subscribe(text: string): number {
    if (!this.callbacks.has("on_message")) return ERR_NOT_FOUND;
    if (this.#subscriptions.has(text)) return OK;
    const pattern = parseTopicPattern(text);
    if (pattern === undefined || this.#subscriptions.size >= SUBSCRIPTIONS_PER_MODULE_MAX)
      return ERR_INTERNAL;
    this.#subscriptions.set(text, pattern);
    return OK;
  }

  unsubscribe(text: string): number {
    return this.#subscriptions.delete(text) ? OK : ERR_NOT_FOUND;
  }

  publish(topic: string, payload: Uint8Array): number {
    if (!isValidTopic(topic) || payload.length > MESSAGE_PAYLOAD_MAX_BYTES) return ERR_INTERNAL;
    this.#options.publisher.publish(topic, payload);
    return OK;
  }

  #setTick(ms: number | undefined): void {
    clearInterval(this.#tickTimer);
    this.#tickTimer = undefined;
    if (ms === undefined || this.#closed) return;
    this.#tickTimer = setInterval(() => this.deliver({ kind: "tick" }), ms);
    // Ticks alone never keep the process alive: the node's run decides when it ends.
    this.#tickTimer.unref();
  }
}

function eventData(event: ModuleEvent): CurrentEvent {
  switch (event.kind) {
    case "tick":
      return { subject: undefined, payload: undefined, origin: undefined };
    case "remote_op":
      return { subject: utf8.encode(event.key), payload: undefined, origin: nodeIdBytes(event.origin) };
    case "peer_connected":
    case "peer_disconnected": {
      const id = nodeIdBytes(event.nodeId);
      return { subject: id, payload: undefined, origin: id };
    }
    case "message":
      return {
        subject: utf8.encode(event.topic),
        payload: event.payload,
        origin: event.origin === undefined ? undefined : nodeIdBytes(event.origin),
      };
  }
}

function nodeIdBytes(nodeId: NodeId): Uint8Array {
  return utf8.encode(nodeId);
}
