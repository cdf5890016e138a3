import { familyDefinition } from "../crdt/crdt-families.ts";
import type { ModuleEvent } from "../events/module-event.ts";
import { callbackOf, type ModuleEvents } from "../events/module-events.ts";
import type { ProcessContext } from "../kernel/process-context.ts";
import {
  createCallbackDispatcher,
  DISPATCH_CODES,
  DISPATCH_END,
  DISPATCH_WAIT,
  type DispatchHost,
  packDispatch,
} from "../wasm/callback-dispatcher.ts";
import { WAIT_STOPPED } from "../wasm/fuel-governor.ts";
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
 * supervisor starts the next one. `code` is which code of the module the instance runs
 * (ModuleEvents.code, default the current): once the module is reloaded, a life of older code
 * ends at its next event as it does when the events close.
 */
export function reactiveProgram(events: ModuleEvents, exportsRun: boolean, code?: number): GuestProgram {
  return async (guest, ctx) => {
    // A life its supervisor starts after the module was stopped or given up does nothing.
    if (events.closed) return OK;
    events.beginLife(code);
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

/**
 * The host side of one life's dispatch loop (src/wasm/callback-dispatcher.ts): hands the guest
 * one event after another, each callback call with its own CPU budget, and parks the guest (its
 * time not counted) when none is queued. The loop ends when the events close.
 */
class EventDispatch implements DispatchHost {
  readonly loop: () => Promise<unknown>;
  readonly #guest: GuestInstance;
  readonly #events: ModuleEvents;
  readonly #ctx: ProcessContext;
  #current: ModuleEvent | undefined;
  #sinceYield = 0;
  /** What `wait` waits for: a turn of the event loop, or the next event. */
  #pending: "yield" | Promise<ModuleEvent | undefined> | undefined;
  /** The event (or the end: null) that came while the guest was parked in `wait`. */
  #arrived: ModuleEvent | null | undefined;

  constructor(guest: GuestInstance, events: ModuleEvents, ctx: ProcessContext) {
    this.#guest = guest;
    this.#events = events;
    this.#ctx = ctx;
    this.loop = createCallbackDispatcher(guest, this);
  }

  next = (): number => {
    // A process that ended (killed while it waited) runs nothing more.
    if (this.#guest.governor.stopped !== undefined || this.#ctx.signal.aborted) return DISPATCH_END;
    const arrived = this.#arrived;
    if (arrived !== undefined) {
      this.#arrived = undefined;
      this.#guest.governor.beginCall();
      return this.#start(arrived ?? undefined);
    }
    // The call that just returned is finished by the next one's start: one clock read for both.
    const usedMs = this.#guest.governor.beginCall();
    this.#finish(usedMs);
    if (++this.#sinceYield > CALLBACKS_PER_YIELD) {
      this.#sinceYield = 0;
      this.#pending = "yield";
      this.#guest.governor.pause();
      return DISPATCH_WAIT;
    }
    const next = this.#events.next(this.#ctx.signal);
    if (!(next instanceof Promise)) return this.#start(next);
    this.#pending = next;
    this.#guest.governor.pause();
    return DISPATCH_WAIT;
  };

  wait = (): number | Promise<number> => {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === "yield") {
      const turn = this.#ctx.yield();
      return turn instanceof Promise
        ? this.#guest.governor.suspend(turn).then(() => this.#resume(undefined))
        : this.#resume(undefined);
    }
    if (pending === undefined) return 0;
    return this.#guest.governor.suspend(pending).then((event) => this.#resume(event ?? null));
  };

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
   * Back from a wait (`event`: what came, null for the end; undefined after a yield), which the
   * governor settles at once with WAIT_STOPPED when the process is killed meanwhile: `next` then
   * ends the loop. Parked until the wait settled, a killed process's loop, guest instance and
   * memory were kept for the node's lifetime (V8 never collects a suspended stack).
   */
  #resume(event: ModuleEvent | null | undefined | typeof WAIT_STOPPED): number {
    if (event !== WAIT_STOPPED) this.#arrived = event;
    return 0;
  }

  /** Starts `event`'s callback (the governor's call has just begun). */
  #start(event: ModuleEvent | undefined): number {
    if (event === undefined) return DISPATCH_END;
    this.#current = event;
    this.#events.setCurrent(event);
    return packedCall(event);
  }

  /** The running callback returned after `usedMs` of guest time. */
  #finish(usedMs: number): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    this.#events.called(callbackOf(current.kind), usedMs / 1000, true);
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

/** Bytes of `text` in UTF-8, counted without encoding it (Buffer.byteLength: no allocation). */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * The callback of `event` with its i32 arguments, packed for the dispatch loop: lengths of what
 * `event_*` hands over, and the family code. Lengths are counted, not encoded: the bytes are made
 * only when the guest asks for them (ModuleEvents.current), and most handlers of a busy topic
 * never do.
 */
function packedCall(event: ModuleEvent): number {
  switch (event.kind) {
    case "tick":
      return packDispatch(DISPATCH_CODES.on_tick);
    case "remote_op":
      return packDispatch(
        DISPATCH_CODES.on_remote_op,
        utf8Length(event.key),
        familyDefinition(event.family).code,
      );
    case "peer_connected":
    case "peer_disconnected":
      return packDispatch(DISPATCH_CODES[`on_${event.kind}`], utf8Length(event.nodeId));
    case "message":
      // Topics are ASCII (src/events/topic.ts): one byte per character.
      return packDispatch(DISPATCH_CODES.on_message, event.topic.length, event.payload.length);
  }
}
