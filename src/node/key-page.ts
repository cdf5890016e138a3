import { type CrdtFamilyName, isCrdtFamilyName } from "./crdt-values.ts";

/** One CRDT object in a listing. */
export interface KeyEntry {
  readonly key: string;
  readonly family: CrdtFamilyName;
}

/** A page of a key listing: `nextCursor` fetches the next one; null: this was the last. */
export interface KeysPage {
  readonly keys: readonly KeyEntry[];
  readonly nextCursor: string | null;
}

/** Keys per page when the client does not say. */
export const KEYS_PAGE_DEFAULT = 100;
/** Most keys per page: a page is built and sent in one piece. */
export const KEYS_PAGE_MAX = 1000;

const byKeyThenFamily = (a: KeyEntry, b: KeyEntry): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.family < b.family ? -1 : a.family > b.family ? 1 : 0;

/** The opaque cursor of the entry a page ended with. */
function keyCursor(entry: KeyEntry): string {
  return Buffer.from(JSON.stringify([entry.key, entry.family]), "utf8").toString("base64url");
}

/** The entry a cursor names; undefined for text that is not a cursor this node made. */
export function parseKeyCursor(cursor: string): KeyEntry | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [key, family] = value as unknown[];
    return typeof key === "string" && typeof family === "string" && isCrdtFamilyName(family)
      ? { key, family }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The entries whose key starts with `prefix`, in key order (then family), after `after` (a
 * cursor's entry), at most `limit`. Pages stay consistent while keys are added: a cursor names a
 * position, not an index, so a page never repeats or skips a key that existed throughout.
 */
export function pageOfKeys(
  entries: Iterable<KeyEntry>,
  query: { readonly prefix: string; readonly limit: number; readonly after: KeyEntry | undefined },
): KeysPage {
  const { prefix, limit, after } = query;
  const matching: KeyEntry[] = [];
  for (const entry of entries) {
    if (!entry.key.startsWith(prefix)) continue;
    if (after !== undefined && byKeyThenFamily(entry, after) <= 0) continue;
    matching.push(entry);
  }
  matching.sort(byKeyThenFamily);
  const keys = matching.slice(0, limit);
  return { keys, nextCursor: matching.length > limit ? keyCursor(keys.at(-1)!) : null };
}
