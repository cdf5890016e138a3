import type { NodeId } from "../identity/node-id.ts";
import { type CollectedCells, type Crdt, EPOCH_ZERO, type TombstoneEpoch, wrongFamily } from "./crdt.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { Op } from "./op.ts";
import { compareOpIds, formatOpId, type OpId } from "./op-id.ts";

/**
 * An RGA cell: an element (its id is the OpId of the insert), or a delete that arrived before
 * the element it targets (kept until that element arrives).
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
  | { readonly type: "delete"; readonly target: OpId };

export type RgaElementCell = Extract<RgaCell, { type: "element" }>;

interface Element {
  readonly id: OpId;
  readonly timestamp: number;
  readonly parent: OpId | undefined;
  readonly value: Uint8Array;
  deleted: boolean;
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

/**
 * Replicated Growable Array. An element is inserted after a parent element (or at the head) and
 * is named by its insert's OpId. Siblings (elements inserted after the same parent) are ordered
 * newest first by (timestamp, origin): so the standard RGA rule places a new element right after
 * its parent, skipping every following element that is newer than it. That rule equals the
 * tree order only if every element is newer than its parent, which the HLC gives honest nodes;
 * an insert not newer than its parent is dropped, the same way on every replica.
 *
 * Delete leaves a tombstone: the element's children stay where they are and visible.
 * `collectTombstones` drops deleted leaves (no element names them as parent) once their delete
 * is causally stable: the sequence order of the others does not depend on a leaf, and no insert
 * naming it can still arrive (the replica anchors a new insert at a visible element, never at a
 * tombstone, see `visibleAnchor`). Out-of-order delivery: an insert whose parent has not arrived waits (pending, persisted as
 * its cell); a delete of an unknown element is remembered and applied when it arrives.
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
    const existing = this.#lookup(cell.id);
    if (existing !== undefined) {
      return cell.deleted && this.#delete(existing) ? elementCell(existing) : undefined;
    }
    const element: Element = {
      id: cell.id,
      timestamp: cell.timestamp,
      parent: cell.parent,
      value: cell.value,
      deleted: cell.deleted,
      deletedEpoch: this.#epoch.current,
      chunk: undefined,
    };
    if (this.#pendingDeletes.size > 0 && this.#pendingDeletes.delete(formatOpId(cell.id)))
      element.deleted = true;
    if (cell.parent === undefined) {
      this.#index(element);
      this.#integrate(element, undefined);
      return element.deleted === cell.deleted ? cell : elementCell(element);
    }
    const parent = this.#lookup(cell.parent);
    if (parent !== undefined && !isNewer(element, parent)) return undefined;
    this.#index(element);
    if (parent === undefined || parent.chunk === undefined) {
      const name = formatOpId(cell.parent);
      const waiting = this.#pendingChildren.get(name);
      if (waiting === undefined) this.#pendingChildren.set(name, [element]);
      else waiting.push(element);
    } else {
      this.#integrate(element, parent);
    }
    return element.deleted === cell.deleted ? cell : elementCell(element);
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

  collectTombstones(epoch: number, covered: (id: OpId) => boolean): CollectedCells<RgaCell> {
    const parents = new Map<Element, number>();
    const candidates: Element[] = [];
    for (const perOrigin of this.#byOrigin.values()) {
      for (const e of perOrigin.values()) {
        const parent = e.parent === undefined ? undefined : this.#lookup(e.parent);
        if (parent !== undefined) parents.set(parent, (parents.get(parent) ?? 0) + 1);
        if (e.deleted && e.chunk !== undefined && e.deletedEpoch <= epoch && covered(e.id))
          candidates.push(e);
      }
    }
    const dropped: RgaCell[] = [];
    // A dropped leaf may leave its parent a leaf: collect upwards while that holds.
    const work = candidates.filter((e) => !parents.has(e));
    const collectable = new Set(candidates);
    for (let e = work.pop(); e !== undefined; e = work.pop()) {
      this.#unlink(e);
      dropped.push(elementCell(e));
      const parent = e.parent === undefined ? undefined : this.#lookup(e.parent);
      if (parent === undefined) continue;
      const children = parents.get(parent)! - 1;
      if (children > 0) parents.set(parent, children);
      else {
        parents.delete(parent);
        if (collectable.has(parent)) work.push(parent);
      }
    }
    if (dropped.length > 0) this.#cursor = undefined;
    return { rewritten: [], dropped };
  }

  /** Removes a deleted element from the sequence and the index. */
  #unlink(element: Element): void {
    const chunk = element.chunk!;
    chunk.items.splice(chunk.items.indexOf(element), 1);
    const perOrigin = this.#byOrigin.get(element.id.origin)!;
    perOrigin.delete(element.id.seq);
    if (perOrigin.size === 0) this.#byOrigin.delete(element.id.origin);
    if (chunk.items.length > 0) return;
    if (chunk.prev === undefined) this.#head = chunk.next;
    else chunk.prev.next = chunk.next;
    if (chunk.next === undefined) this.#tail = chunk.prev;
    else chunk.next.prev = chunk.prev;
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
  return {
    type: "element",
    id: e.id,
    timestamp: e.timestamp as HlcTimestamp,
    parent: e.parent,
    value: e.value,
    deleted: e.deleted,
  };
}
