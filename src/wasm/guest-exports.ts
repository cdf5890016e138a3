/**
 * The exports the runtime relies on: the guest's own (`run`, `memory`) and those the
 * instrumenter adds. Changing an added one changes the instrumented bytes, so
 * {@link INSTRUMENTATION_VERSION} must change too.
 */

/** The export a one-shot guest runs: `run: () -> ()`. */
export const RUN_EXPORT = "run";
/**
 * The export a module declares its default routes in (docs/serving.md): `routes: () -> ()`,
 * calling `route_add`. A module that exports it may leave out `run`: it only serves.
 */
export const ROUTES_EXPORT = "routes";
/**
 * The callbacks of a reactive module and how many i32 parameters each takes (none returns a
 * value); docs/design/event-model.md. Exporting any of them makes a module reactive.
 */
export const CALLBACK_EXPORTS = {
  init: 0,
  shutdown: 0,
  on_tick: 0,
  on_remote_op: 2,
  on_peer_connected: 1,
  on_peer_disconnected: 1,
  on_message: 2,
} as const;

export type CallbackExport = keyof typeof CALLBACK_EXPORTS;

export function isCallbackExport(name: string): name is CallbackExport {
  return Object.hasOwn(CALLBACK_EXPORTS, name);
}

/** `(i32, i32) -> ()` text of a callback's signature, for messages. */
export function callbackSignature(name: CallbackExport): string {
  return `(${Array.from({ length: CALLBACK_EXPORTS[name] }, () => "i32").join(", ")}) -> ()`;
}

/** The guest's linear memory, through which host functions read and write. */
export const MEMORY_EXPORT = "memory";

/**
 * Version of the instrumented format: part of every module-cache key, so a runtime with a
 * different instrumenter never loads another's cached output.
 */
export const INSTRUMENTATION_VERSION = 5;

/**
 * A one-slot funcref table the runtime fills with the fuel-refill function (a suspending host
 * import re-exported by a trampoline module). Guest code reaches it with `call_indirect`, so the
 * instrumenter adds no import and no existing function index moves.
 */
export const FUEL_TABLE_EXPORT = "__nx_fuel_table";

/** The guest's start function, exported instead of run at instantiation (see the instrumenter). */
export const START_EXPORT = "__nx_start";

/**
 * A mutable i32 global holding the result of the guest's latest `memory.grow` on its (32-bit)
 * memory: -1 when that grow was refused, so a trap that follows is reported as the memory cap
 * even when the memory stopped below the cap (an allocator asks for more than is left).
 */
export const LAST_GROW_EXPORT = "__nx_last_grow";

/**
 * A mutable i32 global, exported by poolable modules only: 1 from instantiation and as soon as
 * the guest enters a function that can write linear memory (see the instrumenter); an instance
 * pool clears it at each reset and copies the memory image back only when it (or the host's own
 * access, GuestMemoryRef.hostAccessed) says the memory may have changed.
 */
export const MEMORY_WRITTEN_EXPORT = "__nx_memory_written";

/** Exports a guest may not define itself. */
export const RESERVED_EXPORTS: readonly string[] = [
  FUEL_TABLE_EXPORT,
  START_EXPORT,
  LAST_GROW_EXPORT,
  MEMORY_WRITTEN_EXPORT,
];

/**
 * Fuel units (loop iterations and calls) before the first refill. Small, so that the first
 * check comes early and the refill size adapts to the guest from a measurement.
 */
export const FUEL_INITIAL = 10_000;
