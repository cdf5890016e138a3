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
export const INSTRUMENTATION_VERSION = 8;

/**
 * A one-slot funcref table the runtime fills with the fuel-refill function (a suspending host
 * import re-exported by a trampoline module). Guest code reaches it with `call_indirect`, so the
 * instrumenter adds no import and no existing function index moves.
 */
export const FUEL_TABLE_EXPORT = "__nx_fuel_table";

/**
 * A mutable i32 global the runtime sets to the instance's id right after instantiation (never
 * reset by an instance pool): the guest passes it to the refill function, so one refill
 * trampoline serves every instance of every module (refill-trampoline.ts) and finds the
 * instance's governor by it (fuel-governor-registry.ts).
 */
export const INSTANCE_ID_EXPORT = "__nx_instance";

/**
 * A mutable i32 global the runtime sets to 1 when it stops the guest (a kill, the CPU budget;
 * FuelGovernor) and back to 0 at a new run: the instrumented guest checks it after every call
 * that may reach a host function and after every refill, and traps when it is set, so no host
 * call of a stopped guest has any effect and none of its code runs on.
 */
export const STOPPED_EXPORT = "__nx_stopped";

/**
 * Exported (the instance-id global under a second name) when a function of the module holds a
 * `try` or `try_table`: the guest may catch what a host function throws through it, so a
 * stopped guest's wait ends with a zero, on which the stop check after the call traps
 * ({@link STOPPED_EXPORT}). Without it the wait ends by throwing, which unwinds the guest as a
 * trap does, without resuming it.
 */
export const CATCHES_MARKER_EXPORT = "__nx_catches";

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
  INSTANCE_ID_EXPORT,
  STOPPED_EXPORT,
  CATCHES_MARKER_EXPORT,
  START_EXPORT,
  LAST_GROW_EXPORT,
  MEMORY_WRITTEN_EXPORT,
];

/**
 * Fuel units (loop iterations and calls) before the first refill. Small, so that the first
 * check comes early and the refill size adapts to the guest from a measurement.
 */
export const FUEL_INITIAL = 10_000;
