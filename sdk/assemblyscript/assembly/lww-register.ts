// Last-writer-wins register, replicated: the write with the latest host timestamp wins (NodeId
// breaks ties); a node's own writes stay ordered. Needs a node with sync.
//
//   lwwRegister.set("status/web-1", "healthy");
//   lwwRegister.getString("status/web-1");        // "healthy", or null when never set

import { crdt_lww_get, crdt_lww_set } from "./abi";
import { keyArg, valueArg } from "./arg-span";
import { succeeded } from "./error";
import { outputBytes, outputText, readOutput } from "./output-buffer";

/** Writes `value`. */
export function set<K, V>(key: K, value: V): bool {
  keyArg.of(key);
  valueArg.of(value);
  return succeeded(crdt_lww_set(keyArg.ptr, keyArg.len, valueArg.ptr, valueArg.len), "lwwRegister.set", key);
}

/** The winning value, or null when never set. */
export function get<K>(key: K): Uint8Array | null {
  const n = readValue(key);
  return succeeded(n, "lwwRegister.get", key) ? outputBytes(n) : null;
}

/** The winning value decoded as UTF-8, or null when never set. */
export function getString<K>(key: K): string | null {
  const n = readValue(key);
  return succeeded(n, "lwwRegister.get", key) ? outputText(n) : null;
}

function readValue<K>(key: K): i32 {
  keyArg.of(key);
  return readOutput((outPtr: usize, outCap: usize): i32 => crdt_lww_get(keyArg.ptr, keyArg.len, outPtr, outCap));
}
