import { byteString, type Glob, globMatches } from "./policy-glob.ts";

/** How a literal set compares its subjects: JavaScript strings, or store keys as bytes. */
interface Alphabet<T extends { readonly length: number }> {
  /** `a` against `b`'s units from `from` on. */
  compare(a: T, b: T, from: number): number;
  /** Whether `subject`'s units from `from` on start with `prefix`. */
  startsWith(subject: T, prefix: T, from: number): boolean;
  /** `entry` without its first `count` units (at construction). */
  drop(entry: T, count: number): T;
  /**
   * Where comparing entries that start alike is slow (strings: a namespace's globs all start
   * with `<id>/`), the set drops their common prefix once and checks it once per subject.
   */
  readonly common?: {
    /** The longest prefix of every entry (of none: empty) and its length. */
    of(entries: readonly T[]): { readonly prefix: T; readonly length: number };
  };
}

const TEXT: Alphabet<string> = {
  compare(a, b, from) {
    const subject = from === 0 ? b : b.slice(from);
    return a < subject ? -1 : a > subject ? 1 : 0;
  },
  startsWith: (subject, prefix, from) => subject.startsWith(prefix, from),
  drop: (entry, count) => entry.slice(count),
  common: {
    of(entries) {
      let prefix = entries[0] ?? "";
      for (const entry of entries) {
        let length = 0;
        while (length < prefix.length && length < entry.length && prefix[length] === entry[length]) length++;
        prefix = prefix.slice(0, length);
      }
      return { prefix, length: prefix.length };
    },
  },
};

const BYTES: Alphabet<Uint8Array> = {
  compare(a, b, from) {
    const length = Math.min(a.length, b.length - from);
    for (let i = 0; i < length; i++) {
      const difference = a[i]! - b[from + i]!;
      if (difference !== 0) return difference;
    }
    return a.length - (b.length - from);
  },
  startsWith(subject, prefix, from) {
    if (subject.length - from < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) if (subject[from + i] !== prefix[i]) return false;
    return true;
  },
  drop: (entry, count) => entry.subarray(count),
};

/** The last index of `sorted` whose element is <= `subject` from `from` on, or -1. */
function floorIndex<T extends { readonly length: number }>(
  sorted: readonly T[],
  subject: T,
  from: number,
  alphabet: Alphabet<T>,
): number {
  let low = 0;
  let high = sorted.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (alphabet.compare(sorted[middle]!, subject, from) <= 0) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/**
 * Exact and prefix globs (`visits`, `kv/*`: the usual shapes) in one alphabet, answered in
 * O(log n) comparisons however many there are. The prefixes are kept prefix-free (`kv/*` makes
 * `kv/users/*` redundant): then the only prefix that can start a subject is the greatest one
 * not above it, since the subjects starting with a prefix form one interval of the order.
 */
class LiteralSet<T extends { readonly length: number }> {
  readonly #alphabet: Alphabet<T>;
  /** What every entry starts with, dropped from them; undefined: nothing is dropped. */
  readonly #common: { readonly prefix: T; readonly length: number } | undefined;
  /**
   * The namespace's prefix every entry started with, dropped from them: a subject the caller
   * vouches is in the namespace is compared from after it, without checking it again.
   */
  readonly #namespace: T | undefined;
  readonly #exact: T[];
  readonly #prefixes: T[];
  /**
   * The prefix that matched last, tried first: a guest's calls in a loop mostly name keys under
   * one glob, and one prefix test costs less than the search. Only ever a prefix of the set.
   */
  #lastPrefix: T | undefined;

  constructor(alphabet: Alphabet<T>, exact: T[], prefixes: T[], namespace?: T) {
    this.#alphabet = alphabet;
    const all = [...exact, ...prefixes];
    if (
      namespace !== undefined &&
      all.length > 0 &&
      all.every((entry) => alphabet.startsWith(entry, namespace, 0))
    ) {
      this.#namespace = namespace;
      exact = exact.map((entry) => alphabet.drop(entry, namespace.length));
      prefixes = prefixes.map((entry) => alphabet.drop(entry, namespace.length));
    }
    const common = alphabet.common;
    const shared = common?.of([...exact, ...prefixes]);
    if (common !== undefined && shared !== undefined && shared.length > 0) {
      this.#common = shared;
      exact = exact.map((entry) => alphabet.drop(entry, shared.length));
      prefixes = prefixes.map((entry) => alphabet.drop(entry, shared.length));
    }
    const byOrder = (a: T, b: T) => alphabet.compare(a, b, 0);
    this.#exact = exact.sort(byOrder);
    // In order, a prefix that starts with another starts with the last one kept.
    this.#prefixes = [];
    for (const prefix of prefixes.sort(byOrder)) {
      const last = this.#prefixes.at(-1);
      if (last === undefined || !alphabet.startsWith(prefix, last, 0)) this.#prefixes.push(prefix);
    }
  }

  /** Whether `whole` is an entry or starts with one; `inNamespace`: it starts with the namespace's prefix. */
  has(whole: T, inNamespace: boolean): boolean {
    const alphabet = this.#alphabet;
    let subject = whole;
    let from = 0;
    const namespace = this.#namespace;
    if (namespace !== undefined) {
      if (!inNamespace && !alphabet.startsWith(whole, namespace, 0)) return false;
      from = namespace.length;
    }
    const common = this.#common;
    if (common !== undefined) {
      if (!alphabet.startsWith(subject, common.prefix, from)) return false;
      subject = alphabet.drop(subject, from + common.length);
      from = 0;
    }
    if (this.#prefixes.length > 0) {
      const last = this.#lastPrefix;
      if (last !== undefined && alphabet.startsWith(subject, last, from)) return true;
      const index = floorIndex(this.#prefixes, subject, from, alphabet);
      if (index >= 0 && alphabet.startsWith(subject, this.#prefixes[index]!, from)) {
        this.#lastPrefix = this.#prefixes[index];
        return true;
      }
    }
    if (this.#exact.length === 0) return false;
    const exact = floorIndex(this.#exact, subject, from, alphabet);
    return exact >= 0 && alphabet.compare(this.#exact[exact]!, subject, from) === 0;
  }
}

const NO_TEXT = new LiteralSet(TEXT, [], []);
const NO_BYTES = new LiteralSet(BYTES, [], []);

/**
 * The globs of one capability, compiled for the host calls' checks: exact and prefix globs in
 * {@link LiteralSet}s (for text and for store-key bytes), the other globs matched one by one.
 * With the UTF-8 bytes of a namespace's prefix (`<id>/`), a store key the caller vouches is in
 * the namespace is checked from after the prefix when every literal glob starts with it.
 */
export class GlobSet {
  readonly globs: readonly Glob[];
  readonly #text: LiteralSet<string>;
  readonly #bytes: LiteralSet<Uint8Array>;
  readonly #patterns: readonly Glob[];

  constructor(globs: readonly Glob[], namespace?: Uint8Array) {
    this.globs = globs;
    if (globs.length === 0) {
      // Most capabilities of most policies have no glob: one pair of empty sets for all of them
      // (an empty set keeps no state), not two sets and their arrays per capability at every start.
      this.#text = NO_TEXT;
      this.#bytes = NO_BYTES;
      this.#patterns = globs;
      return;
    }
    const literal = (kind: "exact" | "prefix") => globs.filter((glob) => glob.literal?.kind === kind);
    const exact = literal("exact");
    const prefixes = literal("prefix");
    this.#text = new LiteralSet(
      TEXT,
      exact.map((glob) => glob.text[0]!),
      prefixes.map((glob) => glob.text[0]!),
    );
    this.#bytes = new LiteralSet(
      BYTES,
      exact.map((glob) => glob.literal!.bytes),
      prefixes.map((glob) => glob.literal!.bytes),
      namespace,
    );
    this.#patterns = globs.filter((glob) => glob.literal === undefined);
  }

  /**
   * Whether one glob matches `subject` (text, or a store key's bytes). `inNamespace`: the bytes
   * start with the namespace's prefix given at construction (the caller built them so).
   */
  matches(subject: string | Uint8Array, inNamespace = false): boolean {
    if (typeof subject === "string") {
      if (this.#text.has(subject, false)) return true;
      for (const glob of this.#patterns) if (globMatches(glob.text, subject)) return true;
      return false;
    }
    if (this.#bytes.has(subject, inNamespace)) return true;
    if (this.#patterns.length === 0) return false;
    const text = byteString(subject);
    for (const glob of this.#patterns) if (globMatches(glob.bytes, text)) return true;
    return false;
  }
}
