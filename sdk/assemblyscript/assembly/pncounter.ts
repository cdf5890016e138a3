// Counter that goes up and down, replicated (two grow-only counters: increments and decrements).
// Needs a node with sync.
//
//   pncounter.inc("stock/apples", 10);
//   pncounter.dec("stock/apples", 3);
//   pncounter.value("stock/apples");              // 7 once every node's ops arrived

import { crdt_pncounter_dec, crdt_pncounter_inc, crdt_pncounter_value } from "./abi";
import { keyArg } from "./arg-span";
import { succeeded } from "./error";

/** Adds `delta`. */
export function inc<K>(key: K, delta: u64 = 1): bool {
  keyArg.of(key);
  return succeeded(crdt_pncounter_inc(keyArg.ptr, keyArg.len, delta), "pncounter.inc", key);
}

/** Subtracts `delta`. */
export function dec<K>(key: K, delta: u64 = 1): bool {
  keyArg.of(key);
  return succeeded(crdt_pncounter_dec(keyArg.ptr, keyArg.len, delta), "pncounter.dec", key);
}

/** Increments minus decrements, as this node knows them. */
export function value<K>(key: K): i64 {
  keyArg.of(key);
  const slot = memory.data(8);
  return succeeded(crdt_pncounter_value(keyArg.ptr, keyArg.len, slot, 8), "pncounter.value", key) ? load<i64>(slot) : 0;
}
