/** Longest glob accepted, in UTF-8 bytes: a key is at most 1024 bytes, a glob as long matches one key. */
export const POLICY_GLOB_BYTES_MAX = 1024;

/**
 * A glob of a policy (docs/design/policies.md#globs): `*` matches any run of characters, none and
 * `/` included; every other character matches itself; no escape, no other wildcard.
 *
 * It is compiled once into the literal pieces between its stars, in two alphabets: `text` for
 * subjects that are JavaScript strings (CRDT keys, topics, names) and `bytes` for store keys,
 * which are bytes: the glob's UTF-8 bytes, one character per byte ({@link byteString}), matched
 * against the key's bytes the same way.
 *
 * @example
 * const glob = compileGlob("kv/*");
 * globMatches(glob.text, "kv/a/b");       // true
 * globCoversPrefix(glob.text, "kv/users/"); // true: every key under kv/users/ matches
 */
export interface Glob {
  /** As written in the policy. */
  readonly source: string;
  readonly text: readonly string[];
  readonly bytes: readonly string[];
  /**
   * The UTF-8 bytes of a glob without a star (`exact`) or with one star at its end (`prefix`):
   * the usual shapes, which match a store key by comparing bytes, without decoding the key.
   */
  readonly literal?: { readonly kind: "exact" | "prefix"; readonly bytes: Uint8Array };
}

/**
 * A store or CRDT key glob starting with this character names store keys as they are (a shared
 * glob); the others are relative to the module's namespace (docs/design/policies.md#namespaces).
 */
export const SHARED_GLOB_MARK = "/";

/** A key glob as written, as the store keys it names: a shared one as is, a relative one under `prefix` (`<id>/`). */
export function absoluteGlob(source: string, prefix: string): string {
  return source.startsWith(SHARED_GLOB_MARK) ? source.slice(SHARED_GLOB_MARK.length) : `${prefix}${source}`;
}

const utf8 = new TextEncoder();
// One character per byte, and distinct bytes give distinct characters: equality of byte runs is
// equality of these strings, so the string methods below match bytes.
const bytesAsText = new TextDecoder("latin1");

/** Bytes as a string of one character per byte, the alphabet of {@link Glob.bytes}. */
export function byteString(bytes: Uint8Array): string {
  return bytesAsText.decode(bytes);
}

export function compileGlob(source: string): Glob {
  const text = source.split("*");
  const glob = { source, text, bytes: text.map((piece) => byteString(utf8.encode(piece))) };
  if (text.length === 1) return { ...glob, literal: { kind: "exact", bytes: utf8.encode(source) } };
  if (text.length === 2 && text[1] === "")
    return { ...glob, literal: { kind: "prefix", bytes: utf8.encode(text[0]!) } };
  return glob;
}

/** Why `source` cannot be a glob, or undefined when it can; the text ends with a hint. */
export function globProblem(source: string): string | undefined {
  const length = utf8.encode(source).length;
  if (length === 0) return `an empty glob matches nothing; write "*" for everything or remove it`;
  if (length > POLICY_GLOB_BYTES_MAX) {
    return `a glob of ${length} bytes is longer than ${POLICY_GLOB_BYTES_MAX}; shorten it with "*"`;
  }
  return undefined;
}

/** Whether `subject` matches the glob whose pieces are `pieces` (one alphabet: text or bytes). */
export function globMatches(pieces: readonly string[], subject: string): boolean {
  const last = pieces.length - 1;
  if (last === 0) return subject === pieces[0];
  const head = pieces[0]!;
  const tail = pieces[last]!;
  if (subject.length < head.length + tail.length) return false;
  if (!subject.startsWith(head) || !subject.endsWith(tail)) return false;
  // Leftmost placement of each middle piece is optimal: `*` between pieces absorbs any gap.
  let at = head.length;
  const end = subject.length - tail.length;
  for (let i = 1; i < last; i++) {
    const piece = pieces[i]!;
    const found = subject.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/**
 * Whether every subject that starts with `prefix` matches: the glob ends in `*` (anything may
 * follow) and matches the prefix itself. A listing or a subscription pattern is allowed when one
 * glob covers it.
 */
export function globCoversPrefix(pieces: readonly string[], prefix: string): boolean {
  return pieces.length > 1 && pieces[pieces.length - 1] === "" && globMatches(pieces, prefix);
}
