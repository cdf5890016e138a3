import { isReservedKey } from "../store/reserved-keys.ts";
import type { GlobCapability } from "../wasm/abi/host-call-policy.ts";
import type { ModulePolicy } from "./module-policy.ts";
import { PolicyError } from "./policy-error.ts";
import { absoluteGlob, compileGlob, globCoversPrefix, globMatches, SHARED_GLOB_MARK } from "./policy-glob.ts";

const utf8 = new TextEncoder();

/** A module as the overlap check sees it: its id (its namespace is `<id>/`) and its policy, if any. */
export interface NamespacedModule {
  readonly id: string;
  /** Undefined: the module runs trusted and has no namespace (nor shared globs). */
  readonly policy: ModulePolicy | undefined;
}

/** The kinds of key a namespace holds; a shared glob of one kind reaches keys of that kind only. */
const KINDS = [
  { name: "store", of: (capability: GlobCapability) => capability.startsWith("db.") },
  { name: "CRDT", of: (capability: GlobCapability) => capability.startsWith("crdt.") },
] as const;

interface SharedGlob {
  readonly capability: GlobCapability;
  /** As written, with its leading `/`. */
  readonly source: string;
  /** The store keys it names, in the text alphabet. */
  readonly pieces: readonly string[];
}

function sharedGlobs(policy: ModulePolicy, kind: (capability: GlobCapability) => boolean): SharedGlob[] {
  const shared: SharedGlob[] = [];
  for (const [capability, globs] of policy.globs) {
    if (!kind(capability)) continue;
    for (const { source } of globs) {
      if (source.startsWith(SHARED_GLOB_MARK)) {
        shared.push({ capability, source, pieces: compileGlob(absoluteGlob(source, "")).text });
      }
    }
  }
  return shared;
}

/**
 * What of the keys under `prefix` the glob can match: undefined when none; otherwise the
 * narrowest prefix all of them start with (a glob with a star matches, under `prefix`, only
 * keys starting with the longer of `prefix` and its text before the star), or the one key for
 * a glob without a star.
 */
function reachUnder(
  pieces: readonly string[],
  prefix: string,
): { readonly key: string } | { readonly prefix: string } | undefined {
  const head = pieces[0]!;
  if (pieces.length === 1) return head.startsWith(prefix) ? { key: head } : undefined;
  if (head.startsWith(prefix)) return { prefix: head };
  return prefix.startsWith(head) ? { prefix } : undefined;
}

/**
 * Refuses a set of modules in which one module's shared glob can match a key inside another
 * module's namespace that the other module does not share itself (docs/design/key-namespaces.md):
 * without this, `/todo/*` in one policy would read or write the private keys of a module whose
 * id is `todo`. A module consents by naming those keys with a shared glob of the same kind in its
 * own policy (its `/todo/*`, or a glob covering them); modules run trusted have no namespace.
 * A module with a policy whose namespace would be the runtime's own (`__nx/`) is refused
 * (`POLICY_NAMESPACE_RESERVED`).
 * Throws a {@link PolicyError} (`POLICY_NAMESPACE_OVERLAP`) naming both modules, the glob and
 * the fix; the node refuses to start, `POST /modules` or a reload answers 422.
 *
 * @example
 * assertNamespacesApart([{ id: "todo", policy: todoPolicy }, { id: "spy", policy: spyPolicy }]);
 */
export function assertNamespacesApart(modules: readonly NamespacedModule[]): void {
  for (const { id, policy } of modules) {
    // An id from a file name is not checked for characters; `__nx.wasm` would get the runtime's
    // own namespace, where every key is refused (-4): refused here with the fix instead.
    if (policy !== undefined && isReservedKey(utf8.encode(`${id}/`))) {
      throw new PolicyError(
        "POLICY_NAMESPACE_RESERVED",
        `${policy.origin}: module ${id} would keep its keys under ${id}/, the runtime's own namespace (every key refused); rename its .wasm file or give it another id in numax.toml [[modules]] id = "..."`,
      );
    }
  }
  for (const { name, of } of KINDS) {
    for (const reaching of modules) {
      if (reaching.policy === undefined) continue;
      const globs = sharedGlobs(reaching.policy, of);
      if (globs.length === 0) continue;
      for (const owner of modules) {
        if (owner === reaching || owner.id === reaching.id || owner.policy === undefined) continue;
        const prefix = `${owner.id}/`;
        const consents = sharedGlobs(owner.policy, of);
        for (const glob of globs) {
          const reach = reachUnder(glob.pieces, prefix);
          if (reach === undefined) continue;
          const shared = consents.some((own) =>
            "key" in reach ? globMatches(own.pieces, reach.key) : globCoversPrefix(own.pieces, reach.prefix),
          );
          if (shared) continue;
          throw new PolicyError(
            "POLICY_NAMESPACE_OVERLAP",
            `${reaching.policy.origin}: ${glob.capability} "${glob.source}" of module ${reaching.id} reaches the private ${name} keys of module ${owner.id} (its namespace ${prefix}); name keys outside ${prefix}, or share them in ${owner.id}'s policy too (${owner.policy.origin}) with a shared glob such as "${SHARED_GLOB_MARK}${"key" in reach ? reach.key : `${reach.prefix}*`}"`,
          );
        }
      }
    }
  }
}
