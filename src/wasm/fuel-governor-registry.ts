import type { FuelGovernor } from "./fuel-governor.ts";
import { REFILL_STOPPED, refillTrampoline } from "./refill-trampoline.ts";

/**
 * The fuel governors of the process's guest instances, by instance id (the instrumenter's
 * `__nx_instance` global, which a guest passes to every refill): one refill trampoline serves
 * every instance of every module. A trampoline instance per guest instance, closing over its
 * governor, was about 1 KB of each parked process.
 *
 * An id is held weakly: a governor no guest can reach any more (its instance dropped) is
 * collected, and its id is given out again only after that. A guest whose governor is gone
 * cannot be running (whatever resumes a guest reaches its governor), and a refill under an id
 * with no governor answers {@link REFILL_STOPPED}: the guest traps.
 *
 * @example
 * const id = registerGovernor(governor);
 * (instance.exports[INSTANCE_ID_EXPORT] as WebAssembly.Global).value = id;
 * (instance.exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(0, sharedRefillTrampoline());
 */

/** Governors by id; id 0 is never given out (an instance whose id was never set refills nothing). */
const governors: (WeakRef<FuelGovernor> | undefined)[] = [undefined];
const freeIds: number[] = [];
const collected = new FinalizationRegistry<number>((id) => {
  governors[id] = undefined;
  freeIds.push(id);
});

/** Gives `governor` an id, held until the governor is collected. */
export function registerGovernor(governor: FuelGovernor): number {
  const id = freeIds.pop() ?? governors.length;
  governors[id] = new WeakRef(governor);
  collected.register(governor, id);
  return id;
}

function refill(id: number): number | Promise<number> {
  const governor = governors[id]?.deref();
  return governor === undefined ? REFILL_STOPPED : governor.refill();
}

let trampoline: WebAssembly.ExportValue | undefined;

/** The process's one refill trampoline, over {@link registerGovernor}'s governors. */
export function sharedRefillTrampoline(): WebAssembly.ExportValue {
  trampoline ??= refillTrampoline(refill);
  return trampoline;
}
