// Replicated growable array (RGA): an ordered sequence where every element has a stable id.
// Insert after a known element (or at the head), delete by id (a tombstone: elements inserted
// after it stay visible); concurrent inserts after the same element get one deterministic order
// on every node. Needs a node with sync.
//
//   const first = rga.insert("comments", null, "hello")!;   // at the head; returns the new id
//   rga.insert("comments", first, "world");
//   rga.valueStrings("comments");                          // ["hello", "world"]

import { crdt_rga_delete, crdt_rga_insert, crdt_rga_values } from "./abi";
import { fieldArg, keyArg, valueArg } from "./arg-span";
import { succeeded } from "./error";
import { outputBytes, outputPtr, readOutput } from "./output-buffer";
import { readByteList, readTextList } from "./output-reader";

/**
 * Inserts `value` after the element `parent` (null: at the head) and returns the new element's
 * id, or null when `parent` is unknown on this node.
 */
export function insert<K, V>(key: K, parent: Uint8Array | null, value: V): Uint8Array | null {
  keyArg.of(key);
  if (parent === null) fieldArg.empty();
  else fieldArg.of(changetype<Uint8Array>(parent));
  valueArg.of(value);
  const n = readOutput((outPtr: usize, outCap: usize): i32 =>
    crdt_rga_insert(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, valueArg.ptr, valueArg.len, outPtr, outCap),
  );
  return succeeded(n, "rga.insert", key) ? outputBytes(n) : null;
}

function deleteElement<K>(key: K, id: Uint8Array): bool {
  keyArg.of(key);
  fieldArg.of(id);
  return succeeded(crdt_rga_delete(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len), "rga.delete", key);
}
/** Deletes the element `id` (false when unknown on this node). */
export { deleteElement as delete };

/** The visible values in sequence order. */
export function values<K>(key: K): Uint8Array[] {
  return readValues(key) ? readByteList(outputPtr(), valueBytes) : [];
}

/** The visible values decoded as UTF-8, in sequence order. */
export function valueStrings<K>(key: K): string[] {
  return readValues(key) ? readTextList(outputPtr(), valueBytes) : [];
}

let valueBytes: i32 = 0;

function readValues<K>(key: K): bool {
  keyArg.of(key);
  valueBytes = readOutput((outPtr: usize, outCap: usize): i32 => crdt_rga_values(keyArg.ptr, keyArg.len, outPtr, outCap));
  return succeeded(valueBytes, "rga.values", key);
}
