// The node's local key/value store (never replicated by itself). Keys and values are
// string (UTF-8), Uint8Array or ArrayBuffer. Keys under `__nx/` belong to the runtime.
//
//   db.set("visits", "3");
//   const visits = db.getString("visits");       // "3", or null when absent
//   for (const row of db.scanAll("user/")) log.info(row.keyString());

import {
  db_delete,
  db_exists,
  db_get,
  db_keys,
  db_keys_after,
  db_scan,
  db_scan_after,
  db_set,
} from "./abi";
import { fieldArg, keyArg, valueArg } from "./arg-span";
import { Entry } from "./entry";
import { ErrorCode, recordAnswer, succeeded } from "./error";
import { outputBytes, outputPtr, outputText, readOutput } from "./output-buffer";
import { OutputReader, readByteList, readTextList } from "./output-reader";

/** Rows per host call in `scanAll` / `keysAll`, and the default `limit`. */
export const PAGE_ROWS: u32 = 256;

/** The value stored under `key`, or null when absent. */
export function get<K>(key: K): Uint8Array | null {
  const n = readValue(key);
  return succeeded(n, "db.get", key) ? outputBytes(n) : null;
}

/** The value stored under `key` decoded as UTF-8, or null when absent. */
export function getString<K>(key: K): string | null {
  const n = readValue(key);
  return succeeded(n, "db.get", key) ? outputText(n) : null;
}

/**
 * Reads the value of `key` into `into` without allocating (for hot loops): returns its length,
 * ErrorCode.NotFound (-1) when absent, or ErrorCode.BufferTooSmall (-2) when it is longer than
 * `into` (this runtime then writes the length it needs as a u32 at the start of `into`).
 * Neither -1 nor -2 is treated as an error; other failures follow the error policy.
 */
export function getInto<K>(key: K, into: Uint8Array): i32 {
  keyArg.of(key);
  const n = db_get(keyArg.ptr, keyArg.len, into.dataStart, <usize>into.byteLength);
  if (n == ErrorCode.BufferTooSmall) recordAnswer(n);
  else succeeded(n, "db.getInto", key);
  return n;
}

/** Stores `value` under `key`; visible to every later read at once. */
export function set<K, V>(key: K, value: V): bool {
  keyArg.of(key);
  valueArg.of(value);
  return succeeded(db_set(keyArg.ptr, keyArg.len, valueArg.ptr, valueArg.len), "db.set", key);
}

function deleteKey<K>(key: K): bool {
  keyArg.of(key);
  return succeeded(db_delete(keyArg.ptr, keyArg.len), "db.delete", key);
}
/** Removes `key`; true also when it was absent. */
export { deleteKey as delete };

/** Whether `key` holds a value. */
export function exists<K>(key: K): bool {
  keyArg.of(key);
  const result = db_exists(keyArg.ptr, keyArg.len);
  return succeeded(result, "db.exists", key) && result == 1;
}

/** Up to `limit` rows whose key starts with `prefix`, in key order, skipping the first `cursor` rows. */
export function scan<P>(prefix: P, cursor: u64 = 0, limit: u32 = PAGE_ROWS): Entry[] {
  keyArg.of(prefix);
  scanCursor = cursor;
  scanLimit = limit;
  const n = readOutput((outPtr: usize, outCap: usize): i32 =>
    db_scan(keyArg.ptr, keyArg.len, scanCursor, scanLimit, outPtr, outCap),
  );
  return succeeded(n, "db.scan", prefix) ? readRows(n) : [];
}

/** Up to `limit` rows whose key starts with `prefix` and sorts after `after` (empty: from the first). */
export function scanAfter<P, A>(prefix: P, after: A, limit: u32 = PAGE_ROWS): Entry[] {
  keyArg.of(prefix);
  fieldArg.of(after);
  scanLimit = limit;
  const n = readOutput((outPtr: usize, outCap: usize): i32 =>
    db_scan_after(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, scanLimit, outPtr, outCap),
  );
  return succeeded(n, "db.scanAfter", prefix) ? readRows(n) : [];
}

/** Every row under `prefix`, fetched in pages of PAGE_ROWS with `scanAfter` (stable under concurrent inserts). */
export function scanAll<P>(prefix: P): Entry[] {
  const rows = new Array<Entry>(0);
  let after = new Uint8Array(0);
  let page: Entry[];
  do {
    page = scanAfter(prefix, after, PAGE_ROWS);
    for (let i = 0; i < page.length; i++) rows.push(page[i]);
    if (page.length > 0) after = page[page.length - 1].key;
  } while (<u32>page.length == PAGE_ROWS);
  return rows;
}

/** Up to `limit` keys starting with `prefix`, in key order, skipping the first `cursor`. */
export function keys<P>(prefix: P, cursor: u64 = 0, limit: u32 = PAGE_ROWS): Uint8Array[] {
  return readKeyPage(prefix, cursor, limit) ? readByteList(outputPtr(), keyPageBytes) : [];
}

/** `keys` decoded as UTF-8. */
export function keyStrings<P>(prefix: P, cursor: u64 = 0, limit: u32 = PAGE_ROWS): string[] {
  return readKeyPage(prefix, cursor, limit) ? readTextList(outputPtr(), keyPageBytes) : [];
}

/** Up to `limit` keys starting with `prefix` that sort after `after` (empty: from the first). */
export function keysAfter<P, A>(prefix: P, after: A, limit: u32 = PAGE_ROWS): Uint8Array[] {
  return readKeyPageAfter(prefix, after, limit) ? readByteList(outputPtr(), keyPageBytes) : [];
}

/** `keysAfter` decoded as UTF-8. */
export function keyStringsAfter<P, A>(prefix: P, after: A, limit: u32 = PAGE_ROWS): string[] {
  return readKeyPageAfter(prefix, after, limit) ? readTextList(outputPtr(), keyPageBytes) : [];
}

/** Every key under `prefix`, fetched in pages of PAGE_ROWS. */
export function keysAll<P>(prefix: P): Uint8Array[] {
  const all = new Array<Uint8Array>(0);
  let after = new Uint8Array(0);
  let page: Uint8Array[];
  do {
    page = keysAfter(prefix, after, PAGE_ROWS);
    for (let i = 0; i < page.length; i++) all.push(page[i]);
    if (page.length > 0) after = page[page.length - 1];
  } while (<u32>page.length == PAGE_ROWS);
  return all;
}

// Arguments the read callbacks take from module state: AssemblyScript closures cannot capture locals.
let scanCursor: u64 = 0;
let scanLimit: u32 = 0;
let keyPageBytes: i32 = 0;

function readKeyPage<P>(prefix: P, cursor: u64, limit: u32): bool {
  keyArg.of(prefix);
  scanCursor = cursor;
  scanLimit = limit;
  keyPageBytes = readOutput((outPtr: usize, outCap: usize): i32 =>
    db_keys(keyArg.ptr, keyArg.len, scanCursor, scanLimit, outPtr, outCap),
  );
  return succeeded(keyPageBytes, "db.keys", prefix);
}

function readKeyPageAfter<P, A>(prefix: P, after: A, limit: u32): bool {
  keyArg.of(prefix);
  fieldArg.of(after);
  scanLimit = limit;
  keyPageBytes = readOutput((outPtr: usize, outCap: usize): i32 =>
    db_keys_after(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, scanLimit, outPtr, outCap),
  );
  return succeeded(keyPageBytes, "db.keysAfter", prefix);
}

function readValue<K>(key: K): i32 {
  keyArg.of(key);
  return readOutput((outPtr: usize, outCap: usize): i32 => db_get(keyArg.ptr, keyArg.len, outPtr, outCap));
}

// scan output: u32 count, then per row u32 key_len, u32 value_len, key bytes, value bytes.
function readRows(length: i32): Entry[] {
  const reader = new OutputReader(outputPtr(), length);
  const count = reader.u32();
  const rows = new Array<Entry>(0);
  for (let i: u32 = 0; i < count; i++) {
    const keyLength = reader.u32();
    const valueLength = reader.u32();
    const key = reader.bytes(keyLength);
    rows.push(new Entry(key, reader.bytes(valueLength)));
  }
  return rows;
}
