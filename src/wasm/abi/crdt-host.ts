import type { NodeId } from "../../identity/node-id.ts";

/**
 * What the `crdt_*` and `net_*` guest functions call on a node with sync enabled. The ABI layer
 * validates guest memory, limits and encodings; this seam only sees well-formed values.
 * The bytes `lwwSet`, `lwwMapSet` and `lwwMapRemove` take are views of the guest's memory, valid
 * for the call only: the host copies what it keeps (the replica copies them once; a second copy
 * here was a tenth of what a distinct-key write allocated, `npm run bench -- map-write`).
 * CRDT keys are UTF-8 text (the ABI answers -3 for invalid UTF-8); values, fields, elements and
 * RGA element ids are bytes. Every mutating call stamps, applies, persists and queues the op for
 * replication before it returns.
 *
 * On a node without sync there is no CrdtHost and every such function answers -5.
 */
export interface CrdtHost {
  nodeId(): NodeId;
  peers(): readonly { address: string; nodeId: NodeId }[];

  gcounterInc(key: string, delta: bigint): void;
  gcounterValue(key: string): bigint;
  pncounterInc(key: string, delta: bigint): void;
  pncounterDec(key: string, delta: bigint): void;
  pncounterValue(key: string): bigint;
  lwwSet(key: string, value: Uint8Array): void;
  /** undefined when never set. */
  lwwGet(key: string): Uint8Array | undefined;
  lwwMapSet(key: string, field: Uint8Array, value: Uint8Array): void;
  lwwMapRemove(key: string, field: Uint8Array): void;
  /** undefined when absent or removed. */
  lwwMapGet(key: string, field: Uint8Array): Uint8Array | undefined;
  /** Live entries in field order (bytewise). */
  lwwMapEntries(key: string): readonly (readonly [field: Uint8Array, value: Uint8Array])[];
  orsetAdd(key: string, element: Uint8Array): void;
  orsetRemove(key: string, element: Uint8Array): void;
  orsetContains(key: string, element: Uint8Array): boolean;
  /** Live elements, sorted bytewise. */
  orsetElements(key: string): readonly Uint8Array[];
  /** Inserts after `parent` (undefined: at the head); returns the new element's id, or undefined when `parent` is unknown. */
  rgaInsert(key: string, parent: Uint8Array | undefined, value: Uint8Array): Uint8Array | undefined;
  /** false when `id` is unknown. */
  rgaDelete(key: string, id: Uint8Array): boolean;
  /** Visible values in sequence order. */
  rgaValues(key: string): readonly Uint8Array[];
}
