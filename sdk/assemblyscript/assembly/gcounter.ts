// Grow-only counter, replicated: every node increments its own slot, the value is the sum.
// Needs a node with sync (ERR_SYNC_DISABLED otherwise).
//
//   gcounter.inc("visits");
//   log.info(`visits = ${gcounter.value("visits")}`);

import { crdt_gcounter_inc, crdt_gcounter_value } from "./abi";
import { keyArg } from "./arg-span";
import { succeeded } from "./error";

/** Adds `delta` (saturating at u64 max). */
export function inc<K>(key: K, delta: u64 = 1): bool {
  keyArg.of(key);
  return succeeded(crdt_gcounter_inc(keyArg.ptr, keyArg.len, delta), "gcounter.inc", key);
}

/** The counter's value as this node knows it (0 if never incremented). */
export function value<K>(key: K): u64 {
  keyArg.of(key);
  const slot = memory.data(8);
  return succeeded(crdt_gcounter_value(keyArg.ptr, keyArg.len, slot, 8), "gcounter.value", key) ? load<u64>(slot) : 0;
}
