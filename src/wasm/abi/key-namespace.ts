/**
 * Where a module's store and CRDT keys live (docs/design/policies.md#namespaces). A module with a
 * policy has a namespace: a guest key is stored as `<module id>/<key>` unless it matches one of
 * the policy's shared globs (those written with a leading `/`), which name store keys as they
 * are. The host functions map a guest key to its store key before they ask the policy (which
 * speaks of store keys) and map listed keys back. A guest without a policy (trusted) has none:
 * its keys are the store keys.
 *
 * @example
 * namespace.crdtKey(utf8.encode("visits"));        // the bytes of "kv_counter/visits"
 * namespace.crdtKey(utf8.encode("shared/visits")); // the bytes of "shared/visits" when the policy grants "/shared/*"
 */
export interface KeyNamespace {
  /**
   * `<module id>/`: what its store keys start with, and what the names its processes register
   * (`proc_register`, `proc_whereis`, `proc_unregister`) are held under in the node's registry.
   */
  readonly prefix: string;
  /**
   * The store key of the `db_*` key `memory[ptr, ptr + len)` (bounds already checked), copied
   * from guest memory once; undefined for a key in the runtime's namespace (`__nx/`: -4, as for
   * every guest). The array may be reused by the next call, or be a view of `memory`. It is
   * longer than the guest key exactly when it is in the namespace (behind `prefix`).
   */
  storeKey(memory: Uint8Array, ptr: number, len: number): Uint8Array | undefined;
  /**
   * The store listing of a guest's `db_scan` / `db_keys` prefix: the store prefix to list, and
   * how many leading bytes of every listed key the guest does not see (its namespace's prefix).
   */
  storeListing(prefix: Uint8Array): { readonly prefix: Uint8Array; readonly hidden: number };
  /**
   * The store key of a `crdt_*` key, both as UTF-8 bytes; the array may be reused by the next
   * call, or be `key` itself: it is another array exactly when it is in the namespace. The host function decodes the store key whole: one flat string, where one concatenated
   * from prefix and key would make every later read of it slower (the policy check among them).
   */
  crdtKey(key: Uint8Array): Uint8Array;
}
