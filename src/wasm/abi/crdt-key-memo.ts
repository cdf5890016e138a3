import type { HostCallPolicy } from "./host-call-policy.ts";
import type { KeyNamespace } from "./key-namespace.ts";

/**
 * Guest keys up to this many bytes are remembered; a longer one is resolved on every call. A
 * guest calling in a loop names a short key again and again (a counter, a map).
 */
export const CRDT_KEY_MEMO_BYTES_MAX = 64;

/**
 * The last key one `crdt_*` host function of one guest instance resolved: the guest key's bytes,
 * the store key's text it maps to, under which namespace and policy (a policy that allowed it).
 * When the guest names the same bytes again under the same namespace and policy, the answer is
 * the same: comparing a few bytes in guest memory costs less than decoding, mapping and checking
 * the key again. A denied key is never remembered (each denial is audited).
 *
 * @example
 * const key = memo.recall(memory, ptr, len, env.namespace, env.policy) ?? resolveAndRemember();
 */
export class CrdtKeyMemo {
  readonly #bytes = new Uint8Array(CRDT_KEY_MEMO_BYTES_MAX);
  /** Bytes remembered; -1: nothing. */
  #length = -1;
  #key = "";
  #namespace: KeyNamespace | undefined;
  #policy: HostCallPolicy | undefined;

  /** The store key of the guest key `memory[ptr, ptr + len)` when it is the one remembered, else undefined. */
  recall(
    memory: Uint8Array,
    ptr: number,
    len: number,
    namespace: KeyNamespace | undefined,
    policy: HostCallPolicy | undefined,
  ): string | undefined {
    ptr >>>= 0;
    len >>>= 0;
    if (len !== this.#length || ptr + len > memory.length) return undefined;
    if (namespace !== this.#namespace || policy !== this.#policy) return undefined;
    const bytes = this.#bytes;
    for (let i = 0; i < len; i++) if (memory[ptr + i] !== bytes[i]) return undefined;
    return this.#key;
  }

  /** Remembers that the guest key `memory[ptr, ptr + len)` (valid, allowed) is store key `key`. */
  remember(
    memory: Uint8Array,
    ptr: number,
    len: number,
    key: string,
    namespace: KeyNamespace | undefined,
    policy: HostCallPolicy | undefined,
  ): void {
    ptr >>>= 0;
    len >>>= 0;
    if (len > CRDT_KEY_MEMO_BYTES_MAX) {
      this.#length = -1;
      return;
    }
    for (let i = 0; i < len; i++) this.#bytes[i] = memory[ptr + i]!;
    this.#length = len;
    this.#key = key;
    this.#namespace = namespace;
    this.#policy = policy;
  }
}
