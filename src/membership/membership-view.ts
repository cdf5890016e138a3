import type { MemberState } from "../net/messages.ts";

export type { MemberState };

/**
 * One member of the cluster as this node's membership sees it. `nodeId` is a NodeId (a plain
 * string here so that a fake view is easy to build in tests). `address` is where it listens, when
 * known. `incarnation` orders the claims about it (see docs/design/peer-discovery.md#membership).
 */
export interface MemberInfo {
  readonly nodeId: string;
  readonly address: string | undefined;
  readonly state: "alive" | "suspect" | "dead" | "left";
  readonly incarnation: number;
}

/**
 * Who is in the cluster: what the simulator checks suspicions against and what tombstone
 * compaction asks "has every member seen this?". The node's own entry is included.
 *
 * @example
 * const live = view.members().filter((m) => m.state === "alive" || m.state === "suspect");
 */
export interface MembershipView {
  members(): readonly MemberInfo[];
}

/**
 * A member whose entry changed: `previous` is its state before, undefined for a member new here;
 * `by` is the node whose claim it is (this node's own id for a state it concluded itself, such as
 * a suspicion of its own timing out into `dead`).
 */
export interface MembershipChange {
  readonly member: MemberInfo;
  readonly previous: MemberState | undefined;
  readonly by: string;
}

/** Called after every change of the member table, in the order the changes happened. */
export type MembershipListener = (change: MembershipChange) => void;
