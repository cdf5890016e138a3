import { familyDefinition } from "../crdt/crdt-families.ts";
import type { ModuleEvent } from "../events/module-event.ts";
import { callbackOf, type ModuleEvents } from "../events/module-events.ts";
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
 * then `shutdown`. Each call is a run of its own (its own CPU budget); the first failure ends
 * the life with it, and the module's supervisor starts the next one.
 */
export function reactiveProgram(events: ModuleEvents, exportsRun: boolean): GuestProgram {
  return async (guest, ctx) => {
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
    let callbacksSinceYield = 0;
    for (;;) {
      if (++callbacksSinceYield > CALLBACKS_PER_YIELD) {
        callbacksSinceYield = 1;
        await ctx.yield();
      }
      const next = events.next();
      const event = next instanceof Promise ? await next : next;
      // Killed while it waited: the process is gone, nothing more runs.
      if (ctx.signal.aborted) return OK;
      if (event === undefined) break;
      events.setCurrent(event);
      const result = await call(callbackOf(event.kind), argumentsOf(event));
      events.setCurrent(undefined);
      if (!result.ok) return result;
    }
    events.setState("stopping");
    const result = events.callbacks.has("shutdown") ? await call("shutdown") : OK;
    if (result.ok) events.setState("stopped");
    return result;
  };
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
