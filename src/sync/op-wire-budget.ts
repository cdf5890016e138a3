import type { OpKind, OpKindOf } from "../crdt/op.ts";
import { MAX_REMOVE_TAGS } from "../crdt/op-codec.ts";
import type { OpId } from "../crdt/op-id.ts";
import { OpTooLargeError } from "../crdt/op-too-large-error.ts";
import { opWireBytesMax, PUSH_OPS_ENVELOPE_BYTES_MAX, TAG_WIRE_BYTES_MAX } from "./crdt-op-codec.ts";

/**
 * The largest op, as `opWireBytesMax` counts it, that a PushOps of a node whose frames are at
 * most `maxMessageSizeBytes` carries: the bound of every op the node makes
 * (docs/design/op-size.md).
 */
export function opBytesMaxOf(maxMessageSizeBytes: number): number {
  return maxMessageSizeBytes - PUSH_OPS_ENVELOPE_BYTES_MAX;
}

/**
 * Throws OpTooLargeError when the op `kind` on `key` would take more than `bytesMax` on the wire.
 * An ORSet add is counted with room for one tag beside its element: the remove of the element
 * must fit too, or an element added could never be removed (`removeParts` refuses it).
 */
export function assertOpFits(key: string, kind: OpKind, bytesMax: number): void {
  const bytes = opWireBytesMax({ key, kind }) + (kind.type === "orset_add" ? TAG_WIRE_BYTES_MAX : 0);
  if (bytes > bytesMax) throw new OpTooLargeError(key, bytes, bytesMax);
}

/**
 * An ORSet remove of `element` covering `tags`, as removes that each fit `bytesMax` (and
 * MAX_REMOVE_TAGS, which decoders refuse beyond): removes covering parts of the tags do what one
 * covering them all does (a remove adds its tags to the element's tombstones). Throws
 * OpTooLargeError when even one tag does not fit beside the element.
 */
export function removeParts(
  key: string,
  kind: OpKindOf<"orset_remove">,
  bytesMax: number,
): OpKindOf<"orset_remove">[] {
  const fixed = opWireBytesMax({ key, kind: { ...kind, tags: [] } });
  const perRemove = Math.min(MAX_REMOVE_TAGS, Math.floor((bytesMax - fixed) / TAG_WIRE_BYTES_MAX));
  if (perRemove < 1) throw new OpTooLargeError(key, fixed + TAG_WIRE_BYTES_MAX, bytesMax);
  if (kind.tags.length <= perRemove) return [kind];
  const parts: OpKindOf<"orset_remove">[] = [];
  for (let start = 0; start < kind.tags.length; start += perRemove) {
    const tags: readonly OpId[] = kind.tags.slice(start, start + perRemove);
    parts.push({ type: "orset_remove", element: kind.element, tags });
  }
  return parts;
}
