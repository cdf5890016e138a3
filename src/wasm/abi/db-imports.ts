import type { GuestStore } from "../../store/guest-store.ts";
import type { KvEntry, KvRangeQuery } from "../../store/kv-backend.ts";
import { isReservedKey } from "../../store/reserved-keys.ts";
import { ReservedKeyError } from "../../store/store-error.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND, ERR_RESERVED_KEY, OK } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import { collectRecords, validOutput, writeBytes, writeRecords } from "./guest-output.ts";
import { KeyScratch } from "./key-scratch.ts";

const U64_OFFSET_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The u64 row offset of db_scan / db_keys (a BigInt from wasm, signed: reinterpret as unsigned). */
function cursorToOffset(cursor: bigint | number): number {
  if (typeof cursor === "number")
    return cursor >= 0 ? Math.min(Math.floor(cursor), Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  const unsigned = BigInt.asUintN(64, cursor);
  return unsigned > U64_OFFSET_MAX ? Number.MAX_SAFE_INTEGER : Number(unsigned);
}

/** A guest's `after` key of a listing of the store prefix `prefix` whose first `hidden` bytes it does not see. */
function listedKey(prefix: Uint8Array, hidden: number, after: Uint8Array): Uint8Array {
  if (hidden === 0) return after;
  const key = new Uint8Array(hidden + after.length);
  key.set(prefix.subarray(0, hidden), 0);
  key.set(after, hidden);
  return key;
}

/** Listed keys as the guest names them: without the namespace's `hidden` leading bytes. */
function* shownKeys(keys: Iterable<Uint8Array>, hidden: number): Iterable<Uint8Array> {
  for (const key of keys) yield key.subarray(hidden);
}

function* shownEntries(entries: Iterable<KvEntry>, hidden: number): Iterable<KvEntry> {
  for (const [key, value] of entries) yield [key.subarray(hidden), value];
}

/**
 * `db_*`: the guest's local store. Keys are 1..1024 bytes, values 0..1 MiB, prefixes and
 * `after` keys 0..1024 bytes. Without a store (the guest lacks the `db` capability) every
 * function answers -3. A guest with a namespace names its keys relative to it: every key is
 * mapped to its store key before the policy is asked, and listed keys are shown without it.
 * A key, prefix or `after` key in the runtime's namespace (`__nx/`) is -4 before the policy is
 * asked, so it is -4 whatever the policy grants and never audited.
 *
 * The store gets views of guest memory (it copies what it keeps) and its borrowed value views
 * are copied into guest memory at once.
 */
export function createDbImports(ctx: AbiContext): Record<string, (...args: never[]) => number> {
  const { env, views } = ctx;
  const scratch = new KeyScratch();
  let missingStoreLogged = false;
  /**
   * The guest key `memory[ptr, ptr + len)` as the store and the policy know it (in the module's
   * namespace, if it has one), or undefined when it is in the runtime's namespace (-4).
   */
  const storeKey = (memory: Uint8Array, ptr: number, len: number): Uint8Array | undefined => {
    const namespace = env.namespace;
    if (namespace !== undefined) return namespace.storeKey(memory, ptr, len);
    const key = scratch.key(memory, ptr, len);
    return isReservedKey(key) ? undefined : key;
  };

  function noStore(name: string): number {
    if (!missingStoreLogged) {
      missingStoreLogged = true;
      ctx.logger.warn(`guest called ${name} but has no store (capability "db" missing); db_* answer -3`, {
        module: env.moduleId,
      });
    }
    return ERR_INTERNAL;
  }

  function storeFailure(name: string, error: unknown): number {
    return error instanceof ReservedKeyError ? ERR_RESERVED_KEY : ctx.fail(name, error);
  }

  function db_get(keyPtr: number, keyLen: number, outPtr: number, outCap: number): number {
    try {
      const store = env.store;
      if (store === undefined) return noStore("db_get");
      const memory = views.bytes();
      keyPtr >>>= 0;
      keyLen >>>= 0;
      outPtr >>>= 0;
      outCap >>>= 0;
      if (keyLen === 0 || keyLen > KEY_BYTES_MAX || keyPtr + keyLen > memory.length) return ERR_INTERNAL;
      if (!validOutput(outPtr, outCap, memory.length)) return ERR_INTERNAL;
      const key = storeKey(memory, keyPtr, keyLen);
      if (key === undefined) return ERR_RESERVED_KEY;
      if (env.policy?.allowsKey("db_get", "db.read", key, key.length !== keyLen) === false)
        return ERR_INTERNAL;
      const value = store.get(key);
      if (value === undefined) return ERR_NOT_FOUND;
      return writeBytes(memory, views.data(), outPtr, outCap, value);
    } catch (error) {
      return storeFailure("db_get", error);
    }
  }

  function db_set(keyPtr: number, keyLen: number, valPtr: number, valLen: number): number {
    try {
      const store = env.store;
      if (store === undefined) return noStore("db_set");
      const memory = views.bytes();
      keyPtr >>>= 0;
      keyLen >>>= 0;
      valPtr >>>= 0;
      valLen >>>= 0;
      if (keyLen === 0 || keyLen > KEY_BYTES_MAX || keyPtr + keyLen > memory.length) return ERR_INTERNAL;
      if (valLen > VALUE_BYTES_MAX || valPtr + valLen > memory.length) return ERR_INTERNAL;
      const key = storeKey(memory, keyPtr, keyLen);
      if (key === undefined) return ERR_RESERVED_KEY;
      if (env.policy?.allowsKey("db_set", "db.write", key, key.length !== keyLen) === false)
        return ERR_INTERNAL;
      store.set(key, memory.subarray(valPtr, valPtr + valLen));
      if (env.usage !== undefined) env.usage.bytesWritten += keyLen + valLen;
      return OK;
    } catch (error) {
      return storeFailure("db_set", error);
    }
  }

  /** Runs `use` on a view of a valid key the policy grants, or answers -3. */
  function withKey(
    name: string,
    capability: "db.read" | "db.write",
    keyPtr: number,
    keyLen: number,
    use: (store: GuestStore, key: Uint8Array) => number,
  ) {
    try {
      const store = env.store;
      if (store === undefined) return noStore(name);
      const memory = views.bytes();
      keyPtr >>>= 0;
      keyLen >>>= 0;
      if (keyLen === 0 || keyLen > KEY_BYTES_MAX || keyPtr + keyLen > memory.length) return ERR_INTERNAL;
      const key = storeKey(memory, keyPtr, keyLen);
      if (key === undefined) return ERR_RESERVED_KEY;
      if (env.policy?.allowsKey(name, capability, key, key.length !== keyLen) === false) return ERR_INTERNAL;
      return use(store, key);
    } catch (error) {
      return storeFailure(name, error);
    }
  }

  function db_delete(keyPtr: number, keyLen: number): number {
    return withKey("db_delete", "db.write", keyPtr, keyLen, (store, key) => {
      store.delete(key);
      if (env.usage !== undefined) env.usage.bytesWritten += key.length;
      return OK;
    });
  }

  function db_exists(keyPtr: number, keyLen: number): number {
    return withKey("db_exists", "db.read", keyPtr, keyLen, (store, key) => (store.exists(key) ? 1 : 0));
  }

  /**
   * The four listings: validate every range, ask the store for at most `limit` rows, write them
   * all or answer -2. `after` (when given) must be a valid range of 0..1024 bytes.
   */
  function list(
    name: string,
    rows: "entries" | "keys",
    prefixPtr: number,
    prefixLen: number,
    position: { cursor: bigint | number } | { afterPtr: number; afterLen: number },
    limit: number,
    outPtr: number,
    outCap: number,
  ): number {
    try {
      const store = env.store;
      if (store === undefined) return noStore(name);
      const memory = views.bytes();
      prefixPtr >>>= 0;
      prefixLen >>>= 0;
      limit >>>= 0;
      outPtr >>>= 0;
      outCap >>>= 0;
      if (prefixLen > KEY_BYTES_MAX || prefixPtr + prefixLen > memory.length) return ERR_INTERNAL;
      if (!validOutput(outPtr, outCap, memory.length)) return ERR_INTERNAL;
      const guestPrefix = memory.subarray(prefixPtr, prefixPtr + prefixLen);
      const { prefix, hidden } = env.namespace?.storeListing(guestPrefix) ?? {
        prefix: guestPrefix,
        hidden: 0,
      };
      const query: KvRangeQuery = { prefix, limit };
      if ("cursor" in position) {
        query.offset = cursorToOffset(position.cursor);
      } else {
        const afterPtr = position.afterPtr >>> 0;
        const afterLen = position.afterLen >>> 0;
        if (afterLen > KEY_BYTES_MAX || afterPtr + afterLen > memory.length) return ERR_INTERNAL;
        if (afterLen > 0)
          query.after = listedKey(prefix, hidden, memory.subarray(afterPtr, afterPtr + afterLen));
      }
      if (isReservedKey(prefix) || (query.after !== undefined && isReservedKey(query.after)))
        return ERR_RESERVED_KEY;
      if (env.policy?.allowsPrefix(name, "db.read", prefix) === false) return ERR_INTERNAL;
      // Outside a namespace the store's rows are the guest's, as they are.
      const records =
        rows === "entries"
          ? collectRecords(hidden === 0 ? store.scan(query) : shownEntries(store.scan(query), hidden), limit)
          : collectRecords(hidden === 0 ? store.keys(query) : shownKeys(store.keys(query), hidden), limit);
      if (records === undefined) return ERR_INTERNAL;
      return writeRecords(memory, views.data(), outPtr, outCap, records, "lengths-first");
    } catch (error) {
      return storeFailure(name, error);
    }
  }

  return {
    db_get,
    db_set,
    db_delete,
    db_exists,
    db_scan: (
      prefixPtr: number,
      prefixLen: number,
      cursor: bigint,
      limit: number,
      outPtr: number,
      outCap: number,
    ) => list("db_scan", "entries", prefixPtr, prefixLen, { cursor }, limit, outPtr, outCap),
    db_scan_after: (
      prefixPtr: number,
      prefixLen: number,
      afterPtr: number,
      afterLen: number,
      limit: number,
      outPtr: number,
      outCap: number,
    ) =>
      list("db_scan_after", "entries", prefixPtr, prefixLen, { afterPtr, afterLen }, limit, outPtr, outCap),
    db_keys: (
      prefixPtr: number,
      prefixLen: number,
      cursor: bigint,
      limit: number,
      outPtr: number,
      outCap: number,
    ) => list("db_keys", "keys", prefixPtr, prefixLen, { cursor }, limit, outPtr, outCap),
    db_keys_after: (
      prefixPtr: number,
      prefixLen: number,
      afterPtr: number,
      afterLen: number,
      limit: number,
      outPtr: number,
      outCap: number,
    ) => list("db_keys_after", "keys", prefixPtr, prefixLen, { afterPtr, afterLen }, limit, outPtr, outCap),
  };
}
