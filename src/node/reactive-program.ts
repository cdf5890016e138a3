import { familyDefinition } from "../crdt/crdt-families.ts";
import type { ModuleEvent } from "../events/module-event.ts";
import { callbackOf, type ModuleEvents } from "../events/module-events.ts";
import type { ProcessContext } from "../kernel/process-context.ts";
import {
  createCallbackDispatcher,
  DISPATCH_CODES,
  DISPATCH_END,
  type DispatchedCallback,
  type DispatchHost,
} from "../wasm/callback-dispatcher.ts";
import type { CallbackExport } from "../wasm/guest-exports.ts";
import type { GuestInstance, GuestRunResult } from "../wasm/guest-instance.ts";
import type { GuestProgram } from "../wasm/process/index.ts";

const OK: GuestRunResult = { ok: true };

/**
 * Callbacks a module runs back to back before the node's event loop gets a turn. Taking a queued
 * event and calling the guest only chain promises, so a module whose queue never empties (one
 * that publishes to itself, a flood of remote ops) would otherwise hold the event loop: no
 * sync, no /metrics, no signal handling, no timers, for as long as the flood lasts.
 */
export const CALLBACKS_PER_YIELD = 64;

/**
 * The life of a reactive module's process (docs/design/event-model.md): `run` and `init` when
 * exported, then one callback per event from `events`, one at a time, until the events close;
 * then `shutdown`. The callbacks run inside one dispatch loop (src/wasm/callback-dispatcher.ts),
 * each call with its own CPU budget; the first failure ends the life with it, and the module's
 * supervisor starts the next one.
 */
export function reactiveProgram(events: ModuleEvents, exportsRun: boolean): GuestProgram {
  return async (guest, ctx) => {
    // A life its supervisor starts after the module was stopped or given up does nothing.
    if (events.closed) return OK;
    events.beginLife();
    const call = (name: CallbackExport | "run", args?: readonly number[]) =>
      timedCall(guest, events, name, args);
    if (exportsRun) {
      const result = await call("run");
      if (!result.ok) return result;
    }
    if (events.callbacks.has("init")) {
      const result = await call("init");
      if (!result.ok) return result;
    }
    if (!events.closed) events.setState("running");
    const dispatch = new EventDispatch(guest, events, ctx);
    const dispatched = await guest.runWith(dispatch.loop);
    if (!dispatched.ok) {
      dispatch.failed();
      return dispatched;
    }
    // Killed while it waited: the process is gone, nothing more runs.
    if (ctx.signal.aborted) return OK;
    events.setState("stopping");
    const result = events.callbacks.has("shutdown") ? await call("shutdown") : OK;
    if (result.ok) events.setState("stopped");
    return result;
  };
}

const NEVER: Promise<never> = new Promise(() => {});

/**
 * The host side of one life's dispatch loop (src/wasm/callback-dispatcher.ts): hands the guest
 * one event after another, each callback call with its own CPU budget, and waits (the guest's
 * stack parked, its time not counted) when none is queued. The loop ends when the events close.
 */
class EventDispatch implements DispatchHost {
  readonly loop: () => Promise<unknown>;
  readonly #guest: GuestInstance;
  readonly #events: ModuleEvents;
  readonly #ctx: ProcessContext;
  #current: ModuleEvent | undefined;
  #args: readonly number[] = NO_ARGUMENTS;
  #sinceYield = 0;

  constructor(guest: GuestInstance, events: ModuleEvents, ctx: ProcessContext) {
    this.#guest = guest;
    this.#events = events;
    this.#ctx = ctx;
    this.loop = createCallbackDispatcher(guest, this);
  }

  next = (): number | Promise<number> => {
    this.#finish(true);
    if (++this.#sinceYield > CALLBACKS_PER_YIELD) {
      this.#sinceYield = 0;
      const turn = this.#ctx.yield();
      if (turn instanceof Promise) {
        this.#guest.governor.pause();
        return turn.then(() => this.#afterWait(undefined));
      }
    }
    const next = this.#events.next(this.#ctx.signal);
    if (!(next instanceof Promise)) return this.#start(next);
    this.#guest.governor.pause();
    return next.then((event) => this.#afterWait(event ?? null));
  };

  arg0 = (): number => this.#args[0] ?? 0;
  arg1 = (): number => this.#args[1] ?? 0;

  /** The callback that was running ended the loop with a failure. */
  failed(): void {
    const current = this.#current;
    if (current === undefined) return;
    const callback = callbackOf(current.kind);
    this.#current = undefined;
    this.#events.failedIn = callback;
    this.#events.called(callback, this.#guest.governor.usedMs / 1000, false);
    this.#events.setCurrent(undefined);
  }

  /**
   * Back from a wait: `event` is what came (null: the events closed), undefined after a yield
   * (take the next one now). A process that ended meanwhile is never resumed.
   */
  #afterWait(event: ModuleEvent | null | undefined): number | Promise<number> {
    if (this.#ctx.signal.aborted) return NEVER;
    this.#guest.governor.resume();
    if (event !== undefined) return this.#start(event ?? undefined);
    const next = this.#events.next(this.#ctx.signal);
    if (!(next instanceof Promise)) return this.#start(next);
    this.#guest.governor.pause();
    return next.then((waited) => this.#afterWait(waited ?? null));
  }

  #start(event: ModuleEvent | undefined): number {
    if (event === undefined) return DISPATCH_END;
    this.#current = event;
    this.#events.setCurrent(event);
    this.#args = argumentsOf(event);
    this.#guest.governor.beginCall();
    return DISPATCH_CODES[callbackOf(event.kind) as DispatchedCallback];
  }

  #finish(ok: boolean): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    this.#events.called(callbackOf(current.kind), this.#guest.governor.usedMs / 1000, ok);
    this.#events.setCurrent(undefined);
  }
}

async function timedCall(
  guest: GuestInstance,
  events: ModuleEvents,
  name: CallbackExport | "run",
  args: readonly number[] | undefined,
): Promise<GuestRunResult> {
  const result = await guest.run(name, args);
  // The governor has just measured the call's guest time: no clock read of our own per event.
  if (name !== "run") events.called(name, guest.governor.usedMs / 1000, result.ok);
  if (!result.ok) events.failedIn = name;
  return result;
}

const NO_ARGUMENTS: readonly number[] = [];

/** Bytes of `text` in UTF-8, counted without encoding it (Buffer.byteLength: no allocation). */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * The i32 arguments of an event's callback: lengths of what `event_*` hands over, and the family
 * code. Lengths are counted, not encoded: the bytes are made only when the guest asks for them
 * (ModuleEvents.current), and most handlers of a busy topic never do.
 */
function argumentsOf(event: ModuleEvent): readonly number[] {
  switch (event.kind) {
    case "tick":
      return NO_ARGUMENTS;
    case "remote_op":
      return [utf8Length(event.key), familyDefinition(event.family).code];
    case "peer_connected":
    case "peer_disconnected":
      return [utf8Length(event.nodeId)];
    case "message":
      return [utf8Length(event.topic), event.payload.length];
  }
}
