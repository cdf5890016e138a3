import type { NodeId } from "../identity/node-id.ts";
import { type CollectedCells, type Crdt, EPOCH_ZERO, type TombstoneEpoch, wrongFamily } from "./crdt.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { Op } from "./op.ts";
import { compareOpIds, formatOpId, type OpId } from "./op-id.ts";

/**
 * An RGA cell: an element (its id is the OpId of the insert), a delete that arrived before the
 * element it targets (kept until that element arrives), and what tombstone collection leaves:
 * a ghost (a run of collected elements, in the place of the first of them) and an anchored
 * element (one whose parent was collected into a ghost: it stays where it was, under the ghost).
 */
export type RgaCell =
  | {
      readonly type: "element";
      readonly id: OpId;
      readonly timestamp: HlcTimestamp;
      readonly parent: OpId | undefined;
      readonly value: Uint8Array;
      readonly deleted: boolean;
    }
  | { readonly type: "delete"; readonly target: OpId }
  | {
      readonly type: "anchored";
      readonly id: OpId;
      readonly timestamp: HlcTimestamp;
      readonly parent: OpId | undefined;
      /** The ghost it is placed under while its parent is absent. */
      readonly anchor: OpId;
      readonly value: Uint8Array;
      readonly deleted: boolean;
    }
  | {
      readonly type: "ghost";
      /** Id, stamp and parent of the run's first element: the ghost stands in its place. */
      readonly id: OpId;
      readonly timestamp: HlcTimestamp;
      readonly parent: OpId | undefined;
      readonly anchor: OpId | undefined;
      /** How many collected elements it stands for (at least 1). */
      readonly span: number;
    };

/** A cell naming an element (anything but an early delete). */
export type RgaElementCell = Exclude<RgaCell, { type: "delete" }>;

interface Element {
  readonly id: OpId;
  readonly timestamp: number;
  readonly parent: OpId | undefined;
  /** The ghost it is placed under, when its parent is absent (collected); see `mergeCell`. */
  anchor: OpId | undefined;
  value: Uint8Array;
  deleted: boolean;
  /** A ghost: how many collected elements it stands for; 0 for an element. */
  span: number;
  /** The tombstone epoch it was deleted in (meaningless while not deleted). */
  deletedEpoch: number;
  /** The chunk holding it in sequence order; undefined while it waits for its parent. */
  chunk: Chunk | undefined;
}

/** A run of consecutive elements (tombstones included) in sequence order. */
interface Chunk {
  items: Element[];
  visible: number;
  next: Chunk | undefined;
  prev: Chunk | undefined;
}

/** Where the last position lookup ended: edits are local, so the next one starts there. */
interface Cursor {
  readonly chunk: Chunk;
  /** Visible elements before `chunk`. */
  readonly start: number;
}

/** Chunks split in two when they grow past this: bounds the scan to find an element in its chunk. */
const CHUNK_SPLIT_AT = 256;

/** A run of collected elements, consecutive in sequence order, each under an earlier member. */
interface Run {
  readonly members: Element[];
  /** Elements placed under a member that are not members (they stay, under the ghost). */
  readonly tops: Element[];
}

const EMPTY = new Uint8Array(0);

/**
 * Replicated Growable Array. An element is inserted after a parent element (or at the head) and
 * is named by its insert's OpId. Siblings (elements inserted after the same parent) are ordered
 * newest first by (timestamp, origin): so the standard RGA rule places a new element right after
 * its parent, skipping every following element that is newer than it. That rule equals the
 * tree order only if every element is newer than its parent, which the HLC gives honest nodes;
 * an insert not newer than its parent is dropped, the same way on every replica.
 *
 * Delete leaves a tombstone: the element's children stay where they are and visible.
 * `collectTombstones` removes tombstones once their delete is causally stable
 * (docs/design/compaction.md): a run of them consecutive in sequence order, each under an earlier
 * one, becomes one ghost in the place of its first (or nothing, when nothing else is under the
 * run), and the elements under the run are anchored at the ghost. Out-of-order delivery: an
 * insert whose parent has not arrived waits (pending, persisted as its cell); a delete of an
 * unknown element is remembered and applied when it arrives.
 *
 * Structure: elements in sequence order live in a linked list of chunks (≤ 256 elements each),
 * with an id index; an insert after the element inserted last (typing) costs O(1), any other
 * O(chunk size + skipped siblings). `values()` is cached and appended to in place while
 * inserts land at the end.
 */
export class Rga implements Crdt<RgaCell> {
  readonly #byOrigin = new Map<NodeId, Map<number, Element>>();
  readonly #pendingChildren = new Map<string, Element[]>();
  readonly #pendingDeletes = new Map<string, OpId>();
  #head: Chunk | undefined;
  #tail: Chunk | undefined;
  #visible = 0;
  #values: Uint8Array[] | undefined = [];
  #cursor: Cursor | undefined;
  readonly #epoch: TombstoneEpoch;

  constructor(epoch: TombstoneEpoch = EPOCH_ZERO) {
    this.#epoch = epoch;
  }

  /** Number of visible elements. */
  get length(): number {
    return this.#visible;
  }

  /** Visible values in sequence order. The array is shared until the next change. */
  values(): readonly Uint8Array[] {
    if (this.#values === undefined) {
      const values: Uint8Array[] = new Array(this.#visible);
      let n = 0;
      for (let chunk = this.#head; chunk !== undefined; chunk = chunk.next) {
        if (chunk.visible === 0) continue;
        for (const e of chunk.items) if (!e.deleted) values[n++] = e.value;
      }
      this.#values = values;
    }
    return this.#values;
  }

  /** True when `id` names an element this replica holds (visible, deleted or waiting for its parent). */
  has(id: OpId): boolean {
    return this.#lookup(id) !== undefined;
  }

  /** true for a tombstone, false for a live element, undefined for an unknown id. */
  isDeleted(id: OpId): boolean | undefined {
    return this.#lookup(id)?.deleted;
  }

  /** The HLC stamp of an element's insert (a new child must be stamped after it). */
  timestampOf(id: OpId): HlcTimestamp | undefined {
    return this.#lookup(id)?.timestamp as HlcTimestamp | undefined;
  }

  /** The id of the visible element at `index` (0-based), for position-based editing. */
  idAt(index: number): OpId | undefined {
    if (index < 0 || index >= this.#visible) return undefined;
    let chunk = this.#cursor?.chunk ?? this.#head!;
    let start = this.#cursor?.start ?? 0;
    while (index < start) {
      chunk = chunk.prev!;
      start -= chunk.visible;
    }
    while (index >= start + chunk.visible) {
      start += chunk.visible;
      chunk = chunk.next!;
    }
    this.#cursor = { chunk, start };
    let remaining = index - start;
    for (const e of chunk.items) {
      if (e.deleted) continue;
      if (remaining === 0) return e.id;
      remaining--;
    }
    return undefined;
  }

  applyOp(op: Op): RgaCell | undefined {
    const kind = op.kind;
    if (kind.type === "rga_insert") {
      return this.mergeCell({
        type: "element",
        id: op.id,
        timestamp: op.timestamp,
        parent: kind.parent,
        value: kind.value,
        deleted: false,
      });
    }
    if (kind.type === "rga_delete") return this.mergeCell({ type: "delete", target: kind.target });
    return wrongFamily("rga", op);
  }

  mergeCell(cell: RgaCell): RgaCell | undefined {
    if (cell.type === "delete") {
      const target = this.#lookup(cell.target);
      if (target !== undefined) return this.#delete(target) ? elementCell(target) : undefined;
      const name = formatOpId(cell.target);
      if (this.#pendingDeletes.has(name)) return undefined;
      this.#pendingDeletes.set(name, cell.target);
      return cell;
    }
    const deleted = cell.type === "ghost" || cell.deleted;
    const existing = this.#lookup(cell.id);
    if (existing !== undefined) {
      return deleted && this.#delete(existing) ? elementCell(existing) : undefined;
    }
    const parent = cell.parent === undefined ? undefined : this.#lookup(cell.parent);
    // The anchor counts only while the parent is absent: a replica that still holds the parent
    // (it has not collected it) places the element there, as the insert did.
    const cellAnchor = cell.type === "element" ? undefined : cell.anchor;
    const anchor = parent === undefined ? cellAnchor : undefined;
    const element: Element = {
      id: cell.id,
      timestamp: cell.timestamp,
      parent: cell.parent,
      anchor,
      value: cell.type === "ghost" ? EMPTY : cell.value,
      deleted,
      span: cell.type === "ghost" ? cell.span : 0,
      deletedEpoch: this.#epoch.current,
      chunk: undefined,
    };
    if (this.#pendingDeletes.size > 0 && this.#pendingDeletes.delete(formatOpId(cell.id)))
      element.deleted = true;
    const persisted = element.deleted === deleted && anchor === cellAnchor ? cell : elementCell(element);
    const underId = anchor ?? cell.parent;
    if (underId === undefined) {
      this.#index(element);
      this.#integrate(element, undefined);
      return persisted;
    }
    const under = parent ?? this.#lookup(underId);
    if (under !== undefined && !isNewer(element, under)) return undefined;
    this.#index(element);
    if (under === undefined || under.chunk === undefined) {
      const name = formatOpId(underId);
      const waiting = this.#pendingChildren.get(name);
      if (waiting === undefined) this.#pendingChildren.set(name, [element]);
      else waiting.push(element);
    } else {
      this.#integrate(element, under);
    }
    return persisted;
  }

  /**
   * True when `cell` is of an element this replica collected: `covered` (its version vector
   * holds the insert) and gone. A peer's state that still holds it (or an early delete of it)
   * must not bring it back: every insert under it is here already, placed under its ghost.
   */
  isCollected(cell: RgaCell, covered: (id: OpId) => boolean): boolean {
    const id = cell.type === "delete" ? cell.target : cell.id;
    return covered(id) && this.#lookup(id) === undefined;
  }

  /**
   * Where a new element meant to follow `id` goes: `id` itself unless it is a tombstone, else the
   * nearest visible element before it (`parent` undefined: the head). Only tombstones lie between
   * the two, so the new element shows at the same place, and no new insert ever names a tombstone.
   * Undefined for an unknown id, and for a tombstone still waiting for its parent (no place yet).
   */
  visibleAnchor(id: OpId): { readonly parent: OpId | undefined } | undefined {
    const element = this.#lookup(id);
    if (element === undefined) return undefined;
    if (!element.deleted) return { parent: id };
    if (element.chunk === undefined) return undefined;
    let chunk: Chunk | undefined = element.chunk;
    let i = chunk.items.indexOf(element);
    for (; chunk !== undefined; chunk = chunk.prev, i = chunk?.items.length ?? 0) {
      if (chunk.visible === 0) continue;
      while (--i >= 0) if (!chunk.items[i].deleted) return { parent: chunk.items[i].id };
    }
    return { parent: undefined };
  }

  /**
   * Drops the tombstones of epochs up to `epoch` whose insert is `covered`. In sequence order, such
   * a tombstone starts a run, and each next element joins it while it is one too and is placed
   * under a member: the run is then a prefix of its first member's subtree, so every member is
   * newer than the first and the RGA rule, scanning past the run, skips all of it or stops before
   * all of it, as the first alone decides. A run nothing else is placed under is dropped whole
   * (no insert can name a member any more: concurrent ones are here, later ones name visible
   * elements). Otherwise it becomes a ghost in its first member's place (id, stamp, parent, no
   * value) and the elements under it (`tops`) are anchored at the ghost: read in sequence order
   * they are newest first, which is the order the ghost's children take, so nothing moves.
   */
  collectTombstones(epoch: number, covered: (id: OpId) => boolean): CollectedCells<RgaCell> {
    const collectable = (e: Element): boolean => e.deleted && e.deletedEpoch <= epoch && covered(e.id);
    const runOf = new Map<Element, Run>();
    const runs: Run[] = [];
    let current: Run | undefined;
    for (let chunk = this.#head; chunk !== undefined; chunk = chunk.next) {
      for (const e of chunk.items) {
        const above = this.#above(e);
        const aboveRun = above === undefined ? undefined : runOf.get(above);
        if (current !== undefined && aboveRun === current && collectable(e)) {
          current.members.push(e);
          runOf.set(e, current);
          continue;
        }
        aboveRun?.tops.push(e);
        current = collectable(e) ? { members: [e], tops: [] } : undefined;
        if (current !== undefined) {
          runs.push(current);
          runOf.set(e, current);
        }
      }
    }
    // From the last run back: a run's tops come after it, so their own runs are decided first.
    const gone = new Set<Element>();
    const changed = new Set<Element>();
    for (let i = runs.length - 1; i >= 0; i--) {
      const { members, tops } = runs[i];
      const staying = tops.filter((top) => !gone.has(top));
      if (staying.length === 0) {
        for (const member of members) gone.add(member);
        continue;
      }
      // A lone tombstone with something under it: a ghost would save its value and nothing more.
      if (members.length < 2) continue;
      const ghost = members[0];
      ghost.span = members.reduce((n, member) => n + Math.max(1, member.span), 0);
      ghost.value = EMPTY;
      changed.add(ghost);
      for (let m = 1; m < members.length; m++) gone.add(members[m]);
      for (const top of staying) {
        if (this.#above(top) === ghost) continue;
        top.anchor = ghost.id;
        changed.add(top);
      }
    }
    if (gone.size === 0 && changed.size === 0) return { rewritten: [], dropped: [] };
    for (const e of gone) {
      const perOrigin = this.#byOrigin.get(e.id.origin)!;
      perOrigin.delete(e.id.seq);
      if (perOrigin.size === 0) this.#byOrigin.delete(e.id.origin);
    }
    this.#removeFromSequence(gone);
    return { rewritten: [...changed].map(elementCell), dropped: [...gone].map(elementCell) };
  }

  /** The element `e` is placed under: its anchor (a ghost) while it has one, else its parent. */
  #above(e: Element): Element | undefined {
    const id = e.anchor ?? e.parent;
    return id === undefined ? undefined : this.#lookup(id);
  }

  /** Removes tombstones from the chunks (their visible counts do not change). */
  #removeFromSequence(gone: ReadonlySet<Element>): void {
    if (gone.size === 0) return;
    for (let chunk = this.#head; chunk !== undefined; chunk = chunk.next) {
      if (!chunk.items.some((e) => gone.has(e))) continue;
      chunk.items = chunk.items.filter((e) => !gone.has(e));
      if (chunk.items.length > 0) continue;
      if (chunk.prev === undefined) this.#head = chunk.next;
      else chunk.prev.next = chunk.next;
      if (chunk.next === undefined) this.#tail = chunk.prev;
      else chunk.next.prev = chunk.prev;
    }
    this.#cursor = undefined;
  }

  merge(other: Rga): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  /** Elements by (timestamp, origin) — parents before children — then the pending deletes. */
  cells(): RgaCell[] {
    const elements: Element[] = [];
    for (const perOrigin of this.#byOrigin.values()) for (const e of perOrigin.values()) elements.push(e);
    elements.sort(compareAge);
    const cells: RgaCell[] = elements.map(elementCell);
    const deletes = [...this.#pendingDeletes.values()].sort(compareOpIds);
    for (const target of deletes) cells.push({ type: "delete", target });
    return cells;
  }

  #lookup(id: OpId): Element | undefined {
    return this.#byOrigin.get(id.origin)?.get(id.seq);
  }

  #index(element: Element): void {
    let perOrigin = this.#byOrigin.get(element.id.origin);
    if (perOrigin === undefined) {
      perOrigin = new Map();
      this.#byOrigin.set(element.id.origin, perOrigin);
    }
    perOrigin.set(element.id.seq, element);
  }

  #delete(element: Element): boolean {
    if (element.deleted) return false;
    element.deleted = true;
    element.deletedEpoch = this.#epoch.current;
    if (element.chunk !== undefined) {
      element.chunk.visible--;
      this.#visible--;
      this.#values = undefined;
      this.#visibilityChanged(element.chunk);
    }
    return true;
  }

  /** Places `element` after `parent` (undefined: the head), then every child that waited for it. */
  #integrate(first: Element, firstParent: Element | undefined): void {
    const work: [Element, Element | undefined][] = [[first, firstParent]];
    for (let next = work.pop(); next !== undefined; next = work.pop()) {
      const [element, parent] = next;
      this.#place(element, parent);
      if (this.#pendingChildren.size === 0) continue;
      const waiting = this.#pendingChildren.get(formatOpId(element.id));
      if (waiting === undefined) continue;
      this.#pendingChildren.delete(formatOpId(element.id));
      for (const child of waiting) {
        if (isNewer(child, element)) work.push([child, element]);
        else this.#byOrigin.get(child.id.origin)?.delete(child.id.seq);
      }
    }
  }

  #place(element: Element, parent: Element | undefined): void {
    let chunk: Chunk;
    let i: number;
    if (parent === undefined) {
      if (this.#head === undefined) {
        this.#head = { items: [], visible: 0, next: undefined, prev: undefined };
        this.#tail = this.#head;
      }
      chunk = this.#head;
      i = 0;
    } else {
      chunk = parent.chunk!;
      const items = chunk.items;
      i = items[items.length - 1] === parent ? items.length : items.lastIndexOf(parent) + 1;
    }
    // Skip the following elements newer than this one: they are its newer siblings and their subtrees.
    for (;;) {
      if (i < chunk.items.length) {
        if (!isNewer(chunk.items[i], element)) break;
        i++;
        continue;
      }
      const after = chunk.next;
      if (after === undefined || !isNewer(after.items[0], element)) break;
      chunk = after;
      i = 1;
    }
    const atEnd = chunk === this.#tail && i === chunk.items.length;
    if (atEnd) chunk.items.push(element);
    else chunk.items.splice(i, 0, element);
    element.chunk = chunk;
    if (!element.deleted) {
      chunk.visible++;
      this.#visible++;
      this.#visibilityChanged(chunk);
      if (atEnd && this.#values !== undefined) this.#values.push(element.value);
      else this.#values = undefined;
    }
    if (chunk.items.length > CHUNK_SPLIT_AT) this.#split(chunk);
  }

  /**
   * The cursor counts visible elements before its chunk: a change inside that chunk keeps it
   * right; a change elsewhere may be before it, so it is dropped (the next lookup walks from the head).
   */
  #visibilityChanged(chunk: Chunk): void {
    if (this.#cursor !== undefined && this.#cursor.chunk !== chunk) this.#cursor = undefined;
  }

  #split(chunk: Chunk): void {
    const half = chunk.items.length >> 1;
    const moved = chunk.items.slice(half);
    chunk.items.length = half;
    let visible = 0;
    const fresh: Chunk = { items: moved, visible: 0, next: chunk.next, prev: chunk };
    if (chunk.next !== undefined) chunk.next.prev = fresh;
    for (const e of moved) {
      e.chunk = fresh;
      if (!e.deleted) visible++;
    }
    fresh.visible = visible;
    chunk.visible -= visible;
    chunk.next = fresh;
    if (this.#tail === chunk) this.#tail = fresh;
  }
}

/** The sibling order: newer (timestamp, then origin) first. */
function isNewer(a: Element, b: Element): boolean {
  return a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.id.origin > b.id.origin);
}

function compareAge(a: Element, b: Element): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  return a.id.origin < b.id.origin ? -1 : a.id.origin > b.id.origin ? 1 : 0;
}

function elementCell(e: Element): RgaElementCell {
  const timestamp = e.timestamp as HlcTimestamp;
  if (e.span > 0)
    return { type: "ghost", id: e.id, timestamp, parent: e.parent, anchor: e.anchor, span: e.span };
  if (e.anchor !== undefined) {
    return {
      type: "anchored",
      id: e.id,
      timestamp,
      parent: e.parent,
      anchor: e.anchor,
      value: e.value,
      deleted: e.deleted,
    };
  }
  return { type: "element", id: e.id, timestamp, parent: e.parent, value: e.value, deleted: e.deleted };
}
