import type { CrdtFamily } from "../crdt/op.ts";
import { crdtFamilyName } from "../node/crdt-values.ts";
import { isReservedKey, isReservedKeyAt } from "../store/reserved-keys.ts";
import { type GlobCapability, isKeyCapability } from "../wasm/abi/host-call-policy.ts";
import type { KeyNamespace } from "../wasm/abi/key-namespace.ts";
import { GlobSet } from "./glob-set.ts";
import type { ModulePolicy } from "./module-policy.ts";
import {
  absoluteGlob,
  byteString,
  compileGlob,
  type Glob,
  globCoversPrefix,
  SHARED_GLOB_MARK,
} from "./policy-glob.ts";

const utf8 = new TextEncoder();

/** Guest keys up to this many bytes get their store key in a reused array (as KeyScratch's). */
const NAMESPACE_SCRATCH_KEY_BYTES_MAX = 64;

/**
 * A module's namespace and its policy as store keys see it (docs/design/policies.md#namespaces).
 * `policy` holds absolute globs: `<id>/<glob>` for a relative glob, the glob without its `/` for
 * a shared one; the host calls check store keys against it.
 */
export interface ModuleNamespace extends KeyNamespace {
  readonly policy: ModulePolicy;
  /**
   * The key a CRDT op on store key `key` shows the module (its `on_remote_op`): the key the
   * module would name it by, or undefined when its policy does not grant it for `family`.
   */
  visibleCrdtKey(family: CrdtFamily, key: string): string | undefined;
}

/** The shared globs of `capabilities`, absolute. */
function sharedGlobs(policy: ModulePolicy, capabilities: (capability: GlobCapability) => boolean): GlobSet {
  const shared: Glob[] = [];
  for (const [capability, globs] of policy.globs) {
    if (!capabilities(capability)) continue;
    for (const glob of globs) {
      if (glob.source.startsWith(SHARED_GLOB_MARK)) shared.push(compileGlob(absoluteGlob(glob.source, "")));
    }
  }
  return new GlobSet(shared);
}

/**
 * The namespace of module `moduleId` under `policy`. A key is shared when a shared glob of its
 * kind (any `db.*` capability for store keys, any `crdt.*` family for CRDT keys) matches it, so
 * reading and writing one key always reach the same store key; the policy then decides whether
 * the call may.
 */
export function moduleNamespace(moduleId: string, policy: ModulePolicy): ModuleNamespace {
  const prefix = `${moduleId}/`;
  const prefixBytes = utf8.encode(prefix);
  const globs = new Map<GlobCapability, readonly Glob[]>();
  for (const [capability, list] of policy.globs) {
    globs.set(
      capability,
      isKeyCapability(capability) ? list.map((glob) => compileGlob(absoluteGlob(glob.source, prefix))) : list,
    );
  }
  const absolute: ModulePolicy = { ...policy, globs };
  const sharedStore = sharedGlobs(policy, (capability) => capability.startsWith("db."));
  const sharedCrdt = sharedGlobs(policy, (capability) => capability.startsWith("crdt."));
  const sharedStoreGlobs = sharedStore.globs;
  const crdtGrants = new Map<string, GlobSet>();
  for (const [capability, list] of globs) {
    if (capability.startsWith("crdt.")) crdtGrants.set(capability, new GlobSet(list));
  }

  const namespaced = (key: Uint8Array): Uint8Array => {
    const stored = new Uint8Array(prefixBytes.length + key.length);
    stored.set(prefixBytes, 0);
    stored.set(key, prefixBytes.length);
    return stored;
  };

  // Store keys of short guest keys are built in reused arrays, one per length with the prefix in
  // place: a hot db_get loop allocates nothing (KeyNamespace.storeKey may reuse its array).
  const scratch: Uint8Array[] = [];
  const scratchOf = (length: number): Uint8Array => {
    let stored = scratch[length];
    if (stored === undefined) {
      stored = new Uint8Array(prefixBytes.length + length);
      stored.set(prefixBytes, 0);
      scratch[length] = stored;
    }
    return stored;
  };
  const scratchKey = (key: Uint8Array): Uint8Array => {
    if (key.length > NAMESPACE_SCRATCH_KEY_BYTES_MAX) return namespaced(key);
    const stored = scratchOf(key.length);
    stored.set(key, prefixBytes.length);
    return stored;
  };
  // A module id is not checked against the runtime's namespace when it comes from a file name:
  // an id `__nx` would put every key of the module there.
  const prefixReserved = isReservedKey(prefixBytes);

  return {
    prefix,
    policy: absolute,
    storeKey(memory, ptr, len) {
      if (isReservedKeyAt(memory, ptr, len) || prefixReserved) return undefined;
      if (sharedStoreGlobs.length > 0) {
        const key = memory.subarray(ptr, ptr + len);
        if (sharedStore.matches(key)) return key;
      }
      if (len > NAMESPACE_SCRATCH_KEY_BYTES_MAX) return namespaced(memory.subarray(ptr, ptr + len));
      // Straight from guest memory into place behind the prefix: one copy, byte by byte (for
      // keys this short cheaper than a view and TypedArray#set).
      const stored = scratchOf(len);
      const at = prefixBytes.length;
      for (let i = 0; i < len; i++) stored[at + i] = memory[ptr + i]!;
      return stored;
    },
    storeListing(listed) {
      if (sharedStoreGlobs.length > 0) {
        const text = byteString(listed);
        if (sharedStoreGlobs.some((glob) => globCoversPrefix(glob.bytes, text))) {
          return { prefix: listed, hidden: 0 };
        }
      }
      return isReservedKey(listed)
        ? { prefix: listed, hidden: 0 }
        : { prefix: namespaced(listed), hidden: prefixBytes.length };
    },
    crdtKey(key) {
      if (sharedCrdt.globs.length > 0 && sharedCrdt.matches(key)) return key;
      return scratchKey(key);
    },
    visibleCrdtKey(family, key) {
      // Ops name families with `_` (lww_register), policies with `-` (crdt.lww-register).
      if (crdtGrants.get(`crdt.${crdtFamilyName(family)}`)?.matches(key) !== true) return undefined;
      if (sharedCrdt.globs.length > 0 && sharedCrdt.matches(key)) return key;
      return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
    },
  };
}
