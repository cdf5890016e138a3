import type { NodeId } from "../identity/node-id.ts";
import { CRDT_FAMILY_NAMES, type CrdtFamilyName, isCrdtFamilyName } from "./crdt-values.ts";

/**
 * Ops the ring keeps: the op flow view shows the latest few hundred, and at a few thousand ops
 * per second a larger ring would only hold a second or two more. 1000 entries of about 200 bytes.
 */
export const OP_RING_ENTRIES_MAX = 1000;

/** Ops one `recent` call returns at most (the dashboard's page and the API's `limit` cap). */
export const OP_RING_PAGE_MAX = 500;

/** One op as the op flow shows it. */
export interface OpFlowEntry {
  /** Position in the ring's history: 1, 2, 3…; a reader asks for the ones after the last it saw. */
  readonly seq: number;
  /** When this node applied it, ISO 8601. */
  readonly at: string;
  /** `out`: made here (and sent to the connected peers); `in`: applied from `peer`. */
  readonly direction: "in" | "out";
  /** The peer it came from (`in`); null for `out`. */
  readonly peer: NodeId | null;
  /** The node that made it. */
  readonly origin: NodeId;
  readonly key: string;
  readonly family: CrdtFamilyName;
  /** The op's kind: `gcounter_inc`, `lww_map_set`, … */
  readonly type: string;
}

/** Which ops `recent` returns: every criterion given holds. */
export interface OpFlowQuery {
  /** Only ops with `seq` greater than this. */
  readonly after?: number;
  /** Keys starting with this. */
  readonly keyPrefix?: string;
  /** A NodeId, or its first characters: matches the peer it came from or its origin. */
  readonly peer?: string;
  /** A family name as users type it (`lww-map`). */
  readonly family?: string;
  /** At most this many, the newest (default and cap OP_RING_PAGE_MAX). */
  readonly limit?: number;
}

/**
 * A bounded in-memory ring of the ops this node made or applied from peers, newest last: what
 * the op flow view and `GET /api/v1/ops` read. The oldest entry is overwritten once
 * OP_RING_ENTRIES_MAX are held. Pure: the caller stamps the time.
 */
export class OpRing {
  readonly #entries: (OpFlowEntry | undefined)[];
  #next = 0;
  #seq = 0;

  constructor(capacity = OP_RING_ENTRIES_MAX) {
    this.#entries = new Array(capacity);
  }

  /** The seq of the newest entry (0 before any). */
  get lastSeq(): number {
    return this.#seq;
  }

  record(entry: Omit<OpFlowEntry, "seq">): void {
    this.#seq++;
    this.#entries[this.#next] = { seq: this.#seq, ...entry };
    this.#next = (this.#next + 1) % this.#entries.length;
  }

  /** The newest entries matching `query`, oldest first. */
  recent(query: OpFlowQuery = {}): OpFlowEntry[] {
    const limit = Math.min(Math.max(query.limit ?? OP_RING_PAGE_MAX, 0), OP_RING_PAGE_MAX);
    const found: OpFlowEntry[] = [];
    const size = this.#entries.length;
    for (let back = 1; back <= size && found.length < limit; back++) {
      const entry = this.#entries[(this.#next - back + size) % size];
      if (entry === undefined || entry.seq <= (query.after ?? 0)) break;
      if (matches(entry, query)) found.push(entry);
    }
    return found.reverse();
  }
}

function matches(entry: OpFlowEntry, query: OpFlowQuery): boolean {
  const { keyPrefix, family, peer } = query;
  if (keyPrefix !== undefined && !entry.key.startsWith(keyPrefix)) return false;
  if (family !== undefined && entry.family !== family) return false;
  if (peer !== undefined && !(entry.peer?.startsWith(peer) ?? false) && !entry.origin.startsWith(peer))
    return false;
  return true;
}

/**
 * The query of `GET /api/v1/ops` and the dashboard's op flow from URL parameters `after`,
 * `key` (a key prefix), `peer`, `family` and `limit`; empty ones are left out. A string: what is
 * wrong, in one line.
 */
export function opFlowQueryOf(search: URLSearchParams): OpFlowQuery | string {
  const text = (name: string): string | undefined => {
    const value = search.get(name)?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const count = (name: string, max: number): number | undefined | string => {
    const value = text(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    return /^\d+$/.test(value) && number <= max ? number : `${name} must be a whole number from 0 to ${max}`;
  };
  const after = count("after", Number.MAX_SAFE_INTEGER);
  const limit = count("limit", OP_RING_PAGE_MAX);
  if (typeof after === "string") return after;
  if (typeof limit === "string") return limit;
  const family = text("family");
  if (family !== undefined && !isCrdtFamilyName(family)) {
    return `family must be one of ${CRDT_FAMILY_NAMES.join(", ")}`;
  }
  return { after, keyPrefix: text("key"), peer: text("peer"), family, limit };
}
