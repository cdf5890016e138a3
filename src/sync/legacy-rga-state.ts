import type { RgaCell } from "../crdt/rga.ts";
import { decodeState, encodeState } from "../crdt/state-codec.ts";
import type { PushStateMessage } from "../net/messages.ts";

const EMPTY = new Uint8Array(0);

/**
 * A `PushState` part as a peer without the `rga-ghosts` feature can decode it: every RGA ghost
 * and anchored element becomes a plain element cell, placed where this replica places it (a
 * ghost is a deleted element with no value under its anchor or parent, an anchored element is
 * under its anchor). On a replica that holds none of the run, that is the same sequence
 * (docs/design/compaction.md); one that holds the run keeps what it has (a cell of an element it
 * holds changes nothing). Objects without such cells keep their bytes.
 */
export function withoutRgaGhosts(part: PushStateMessage): PushStateMessage {
  let changed = false;
  const objects = part.objects.map((object) => {
    const state = decodeState(object.state);
    if (state.family !== "rga") return object;
    const cells = state.cells as readonly RgaCell[];
    if (!cells.some((cell) => cell.type === "ghost" || cell.type === "anchored")) return object;
    changed = true;
    return { key: object.key, state: encodeState({ family: "rga", cells: cells.map(plainCell) }) };
  });
  return changed ? { ...part, objects } : part;
}

function plainCell(cell: RgaCell): RgaCell {
  switch (cell.type) {
    case "ghost":
      return {
        type: "element",
        id: cell.id,
        timestamp: cell.timestamp,
        parent: cell.anchor ?? cell.parent,
        value: EMPTY,
        deleted: true,
      };
    case "anchored":
      return {
        type: "element",
        id: cell.id,
        timestamp: cell.timestamp,
        parent: cell.anchor,
        value: cell.value,
        deleted: cell.deleted,
      };
    default:
      return cell;
  }
}
