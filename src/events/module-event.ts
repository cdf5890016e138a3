import type { CrdtFamily } from "../crdt/op.ts";
import type { NodeId } from "../identity/node-id.ts";

/** One event for a reactive module: which callback it calls and with what (docs/design/event-model.md). */
export type ModuleEvent =
  | { readonly kind: "tick" }
  | RemoteOpEvent
  | { readonly kind: "peer_connected" | "peer_disconnected"; readonly nodeId: NodeId }
  | {
      readonly kind: "message";
      readonly topic: string;
      readonly payload: Uint8Array;
      /** The publishing node; undefined for a local message on a node without sync. */
      readonly origin: NodeId | undefined;
    };

export interface RemoteOpEvent {
  readonly kind: "remote_op";
  readonly key: string;
  readonly family: CrdtFamily;
  /** The node of the last op on this key (updated when later ops coalesce into a queued event). */
  origin: NodeId;
}

/** The `kind` label of events in metrics and logs. */
export type ModuleEventKind = ModuleEvent["kind"];
