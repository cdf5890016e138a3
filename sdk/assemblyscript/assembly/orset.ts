// Observed-remove set, replicated: a remove covers only the adds it has seen, so an add that
// races a remove survives (add wins). Needs a node with sync.
//
//   orset.add("tags", "urgent");
//   orset.elementStrings("tags");                 // ["urgent"], sorted

import { crdt_orset_add, crdt_orset_contains, crdt_orset_elements, crdt_orset_remove } from "./abi";
import { fieldArg, keyArg } from "./arg-span";
import { succeeded } from "./error";
import { outputPtr, readOutput } from "./output-buffer";
import { readByteList, readTextList } from "./output-reader";

/** Adds `element`. */
export function add<K, E>(key: K, element: E): bool {
  keyArg.of(key);
  fieldArg.of(element);
  return succeeded(crdt_orset_add(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len), "orset.add", key);
}

/** Removes `element` as far as this node has seen it added. */
export function remove<K, E>(key: K, element: E): bool {
  keyArg.of(key);
  fieldArg.of(element);
  return succeeded(crdt_orset_remove(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len), "orset.remove", key);
}

/** Whether `element` is in the set. */
export function contains<K, E>(key: K, element: E): bool {
  keyArg.of(key);
  fieldArg.of(element);
  const result = crdt_orset_contains(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len);
  return succeeded(result, "orset.contains", key) && result == 1;
}

/** The elements, sorted bytewise. */
export function elements<K>(key: K): Uint8Array[] {
  return readElements(key) ? readByteList(outputPtr(), elementBytes) : [];
}

/** The elements decoded as UTF-8, sorted bytewise. */
export function elementStrings<K>(key: K): string[] {
  return readElements(key) ? readTextList(outputPtr(), elementBytes) : [];
}

let elementBytes: i32 = 0;

function readElements<K>(key: K): bool {
  keyArg.of(key);
  elementBytes = readOutput((outPtr: usize, outCap: usize): i32 =>
    crdt_orset_elements(keyArg.ptr, keyArg.len, outPtr, outCap),
  );
  return succeeded(elementBytes, "orset.elements", key);
}
