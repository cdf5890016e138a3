import { compareBytes, hasPrefix } from "../store/key-bytes.ts";
import { byteString, type Glob, globMatches } from "./policy-glob.ts";

/** How a literal set compares its subjects: JavaScript strings, or store keys as bytes. */
interface Alphabet<T> {
  compare(a: T, b: T): number;
  startsWith(subject: T, prefix: T): boolean;
  /**
   * Where comparing entries that start alike is slow (strings: a namespace's globs all start
   * with `<id>/`), the set drops their common prefix once and checks it once per subject.
   */
  readonly common?: {
    /** The longest prefix of every entry (of none: empty) and its length. */
    of(entries: readonly T[]): { readonly prefix: T; readonly length: number };
    /** `subject` without its first `count` units. */
    drop(subject: T, count: number): T;
  };
}

const TEXT: Alphabet<string> = {
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  startsWith: (subject, prefix) => subject.startsWith(prefix),
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
    drop: (subject, count) => subject.slice(count),
  },
};

const BYTES: Alphabet<Uint8Array> = { compare: compareBytes, startsWith: hasPrefix };

/** The last index of `sorted` whose element is <= `subject`, or -1. */
function floorIndex<T>(sorted: readonly T[], subject: T, alphabet: Alphabet<T>): number {
  let low = 0;
  let high = sorted.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (alphabet.compare(sorted[middle]!, subject) <= 0) {
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
class LiteralSet<T> {
  readonly #alphabet: Alphabet<T>;
  /** What every entry starts with, dropped from them; undefined: nothing is dropped. */
  readonly #common: { readonly prefix: T; readonly length: number } | undefined;
  readonly #exact: T[];
  readonly #prefixes: T[];
  /**
   * The prefix that matched last, tried first: a guest's calls in a loop mostly name keys under
   * one glob, and one prefix test costs less than the search. Only ever a prefix of the set.
   */
  #lastPrefix: T | undefined;

  constructor(alphabet: Alphabet<T>, exact: T[], prefixes: T[]) {
    this.#alphabet = alphabet;
    const common = alphabet.common;
    const shared = common?.of([...exact, ...prefixes]);
    if (common !== undefined && shared !== undefined && shared.length > 0) {
      this.#common = shared;
      exact = exact.map((entry) => common.drop(entry, shared.length));
      prefixes = prefixes.map((entry) => common.drop(entry, shared.length));
    }
    const byOrder = (a: T, b: T) => alphabet.compare(a, b);
    this.#exact = exact.sort(byOrder);
    // In order, a prefix that starts with another starts with the last one kept.
    this.#prefixes = [];
    for (const prefix of prefixes.sort(byOrder)) {
      const last = this.#prefixes.at(-1);
      if (last === undefined || !alphabet.startsWith(prefix, last)) this.#prefixes.push(prefix);
    }
  }

  has(whole: T): boolean {
    const alphabet = this.#alphabet;
    let subject = whole;
    const common = this.#common;
    if (common !== undefined) {
      if (!alphabet.startsWith(whole, common.prefix)) return false;
      subject = alphabet.common!.drop(whole, common.length);
    }
    if (this.#prefixes.length > 0) {
      const last = this.#lastPrefix;
      if (last !== undefined && alphabet.startsWith(subject, last)) return true;
      const index = floorIndex(this.#prefixes, subject, alphabet);
      if (index >= 0 && alphabet.startsWith(subject, this.#prefixes[index]!)) {
        this.#lastPrefix = this.#prefixes[index];
        return true;
      }
    }
    if (this.#exact.length === 0) return false;
    const exact = floorIndex(this.#exact, subject, alphabet);
    return exact >= 0 && alphabet.compare(this.#exact[exact]!, subject) === 0;
  }
}

/**
 * The globs of one capability, compiled for the host calls' checks: exact and prefix globs in
 * {@link LiteralSet}s (for text and for store-key bytes), the other globs matched one by one.
 */
export class GlobSet {
  readonly globs: readonly Glob[];
  readonly #text: LiteralSet<string>;
  readonly #bytes: LiteralSet<Uint8Array>;
  readonly #patterns: readonly Glob[];

  constructor(globs: readonly Glob[]) {
    this.globs = globs;
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
    );
    this.#patterns = globs.filter((glob) => glob.literal === undefined);
  }

  /** Whether one glob matches `subject` (text, or a store key's bytes). */
  matches(subject: string | Uint8Array): boolean {
    if (typeof subject === "string") {
      if (this.#text.has(subject)) return true;
      for (const glob of this.#patterns) if (globMatches(glob.text, subject)) return true;
      return false;
    }
    if (this.#bytes.has(subject)) return true;
    if (this.#patterns.length === 0) return false;
    const text = byteString(subject);
    for (const glob of this.#patterns) if (globMatches(glob.bytes, text)) return true;
    return false;
  }
}
