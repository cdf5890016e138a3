import type { ModuleState } from "../events/module-events.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import { crdtValueToJson, isCrdtFamilyName, readCrdtValue } from "./crdt-values.ts";

/**
 * What a node says about itself: the one surface CLI output, the HTTP endpoint and later tools
 * read (none of them reaches into internals).
 */
export interface NodeIntrospection {
  readonly nodeId: NodeId | undefined;
  readonly datastorePath: string;
  readonly storeSizeBytes: number | undefined;
  readonly sync:
    | {
        readonly listen: string | undefined;
        readonly connectedPeers: readonly unknown[];
        readonly configuredPeers: readonly unknown[];
        readonly versionVector: Readonly<Record<string, number>>;
        readonly replica: unknown;
        readonly engine: unknown;
      }
    | undefined;
  /** The modules `nx run` runs, in the order given. */
  readonly modules: readonly ModuleIntrospection[];
}

export interface ModuleIntrospection {
  readonly id: string;
  /** Reactive (exports callbacks) or one-shot. */
  readonly reactive: boolean;
  readonly state: ModuleState;
  /** Events waiting in its queue. */
  readonly queuedEvents: number;
}

export interface IntrospectionAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Read-only HTTP introspection under `/v1/`: `/v1/node` (the NodeIntrospection) and
 * `/v1/crdt/<family>/<key>` (one CRDT's value; the key is URL-encoded). undefined: not ours (404).
 */
export function answerIntrospection(
  path: string,
  introspect: () => NodeIntrospection,
  crdt: CrdtHost | undefined,
): IntrospectionAnswer | undefined {
  if (path === "/v1/node") return { status: 200, body: introspect() };
  const match = /^\/v1\/crdt\/([a-z-]+)\/(.+)$/.exec(path);
  if (match === null) return undefined;
  const [, family, encodedKey] = match;
  if (!isCrdtFamilyName(family)) return { status: 404, body: { error: `no CRDT family "${family}"` } };
  if (crdt === undefined)
    return { status: 409, body: { error: "sync is not enabled on this node (no --listen)" } };
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    return { status: 400, body: { error: "the key is not valid URL encoding" } };
  }
  return { status: 200, body: crdtValueToJson(key, readCrdtValue(crdt, family, key)) };
}
