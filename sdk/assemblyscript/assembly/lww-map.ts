// Map of last-writer-wins fields, replicated; a removed field stays removed against older writes
// (tombstones). Needs a node with sync.
//
//   lwwMap.set("settings", "theme", "dark");
//   lwwMap.getString("settings", "theme");        // "dark"
//   for (const e of lwwMap.entries("settings")) log.info(`${e.keyString()}=${e.valueString()}`);

import {
  crdt_lww_map_contains,
  crdt_lww_map_entries,
  crdt_lww_map_get,
  crdt_lww_map_remove,
  crdt_lww_map_set,
} from "./abi";
import { fieldArg, keyArg, valueArg } from "./arg-span";
import { Entry } from "./entry";
import { succeeded } from "./error";
import { outputBytes, outputPtr, outputText, readOutput } from "./output-buffer";
import { OutputReader } from "./output-reader";

/** Writes `field` = `value`. */
export function set<K, F, V>(key: K, field: F, value: V): bool {
  keyArg.of(key);
  fieldArg.of(field);
  valueArg.of(value);
  const result = crdt_lww_map_set(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, valueArg.ptr, valueArg.len);
  return succeeded(result, "lwwMap.set", key);
}

/** Removes `field` (a tombstone: older concurrent writes do not bring it back). */
export function remove<K, F>(key: K, field: F): bool {
  keyArg.of(key);
  fieldArg.of(field);
  return succeeded(crdt_lww_map_remove(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len), "lwwMap.remove", key);
}

/** The value of `field`, or null when absent or removed. */
export function get<K, F>(key: K, field: F): Uint8Array | null {
  const n = readField(key, field);
  return succeeded(n, "lwwMap.get", key) ? outputBytes(n) : null;
}

/** The value of `field` decoded as UTF-8, or null when absent or removed. */
export function getString<K, F>(key: K, field: F): string | null {
  const n = readField(key, field);
  return succeeded(n, "lwwMap.get", key) ? outputText(n) : null;
}

/** Whether `field` is present (set and not removed). */
export function contains<K, F>(key: K, field: F): bool {
  keyArg.of(key);
  fieldArg.of(field);
  const result = crdt_lww_map_contains(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len);
  return succeeded(result, "lwwMap.contains", key) && result == 1;
}

/** The present fields with their values, in field order (`Entry.key` is the field). */
export function entries<K>(key: K): Entry[] {
  keyArg.of(key);
  const n = readOutput((outPtr: usize, outCap: usize): i32 =>
    crdt_lww_map_entries(keyArg.ptr, keyArg.len, outPtr, outCap),
  );
  const result = new Array<Entry>(0);
  if (!succeeded(n, "lwwMap.entries", key)) return result;
  // u32 count, then per entry u32 field_len, field, u32 value_len, value.
  const reader = new OutputReader(outputPtr(), n);
  const count = reader.u32();
  for (let i: u32 = 0; i < count; i++) {
    const field = reader.bytes(reader.u32());
    result.push(new Entry(field, reader.bytes(reader.u32())));
  }
  return result;
}

function readField<K, F>(key: K, field: F): i32 {
  keyArg.of(key);
  fieldArg.of(field);
  return readOutput((outPtr: usize, outCap: usize): i32 =>
    crdt_lww_map_get(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, outPtr, outCap),
  );
}
