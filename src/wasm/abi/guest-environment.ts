import type { Logger } from "../../observe/logger.ts";
import type { GuestStore } from "../../store/guest-store.ts";
import type { CrdtHost } from "./crdt-host.ts";
import type { HostCallCounter } from "./host-call-counter.ts";
import type { HostCallLog } from "./host-call-log.ts";
import type { HostCallPolicy } from "./host-call-policy.ts";
import type { GuestUsage, HostCallQuota } from "./host-call-quota.ts";
import type { OutboundFetch } from "./http-fetch-port.ts";
import type { KeyNamespace } from "./key-namespace.ts";
import type { ModuleEventPort } from "./module-event-port.ts";

export type { GuestStore } from "../../store/guest-store.ts";

/**
 * Everything the host functions of one guest instance may touch. The runtime builds one per
 * instance; the ABI layer (`createNxImports`, `createWasiImports`) only reads it.
 *
 * @example
 * const env: GuestEnvironment = {
 *   moduleId: "kv_counter",
 *   store: guestStore,                 // omit: db_* answer -3
 *   crdt: undefined,                   // no sync: crdt_* and net_* answer -5
 *   logger: logger.child("guest"),
 *   env: { NX_GREETING: "hi" },         // only NX_* / NUMAX_* names are ever shown to the guest
 *   args: ["kv_counter.wasm"],
 *   clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
 *   randomFill: (target) => crypto.randomFillSync(target),
 *   emitEvent: (name, payload) => events.emit(name, payload),
 *   stdout: (bytes) => process.stdout.write(bytes),
 *   stderr: (bytes) => process.stderr.write(bytes),
 *   capabilities: [],
 * };
 */
export interface GuestEnvironment {
  /** Written by `nx.module_id`. */
  moduleId: string;
  /** The local store (`createGuestStore(backend)`); absent when the guest may not use it: db_* then answer -3. */
  store?: GuestStore;
  /** Present on a node with sync; without it crdt_* and net_* answer -5. */
  crdt?: CrdtHost;
  /** Receives `host_log_v2` lines and the host's own warnings about this guest. */
  logger: Logger;
  /** Environment the guest may read; names not starting with `NX_` or `NUMAX_` are never shown. */
  env: Readonly<Record<string, string>>;
  /** WASI argv, argv[0] included. */
  args: readonly string[];
  clock: {
    /** Unix time in milliseconds. */
    nowMs(): number;
    /** Milliseconds since an arbitrary fixed origin (the runtime's start); never decreases. */
    monotonicMs(): number;
  };
  /** Fills `target` (any length, possibly a view of guest memory) with CSPRNG bytes. */
  randomFill(target: Uint8Array): void;
  /** `payload` is a fresh copy the receiver may keep. */
  emitEvent(name: string, payload: Uint8Array): void;
  /** Guest output, passed on as written; `bytes` is a fresh copy the receiver may keep. */
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  /**
   * Extra capability names granted to this guest, listed by `host_capabilities` after the ones
   * the host derives from this environment (see `host-capabilities.ts`).
   */
  capabilities: readonly string[];
  /** The module's events (reactive callbacks, module messages); absent: event_* answer -1, the rest -3. */
  events?: ModuleEventPort;
  /** Where `http_fetch` goes (the module's allowed hosts); absent: every `http_fetch` answers -6. */
  httpFetch?: OutboundFetch;
  /**
   * The module's policy (docs/design/policies.md): host calls ask it before they touch anything
   * and answer their denied code when it says no. Absent: the guest is trusted.
   */
  policy?: HostCallPolicy;
  /**
   * The module's key namespace (docs/design/policies.md#namespaces): `db_*` and `crdt_*` keys are
   * mapped through it before the policy is asked. Absent: the guest's keys are the store keys.
   */
  namespace?: KeyNamespace;
  /** The module's quotas (docs/design/policies.md#quotas); absent: none of its own, nothing metered. */
  quota?: HostCallQuota;
  /** Counts what the module's host calls used (CRDT ops, bytes written, quota hits); absent: not counted. */
  usage?: GuestUsage;
  /** Counts this guest's host calls (for `numax_host_calls_total`); absent: not counted. */
  hostCalls?: HostCallCounter;
  /** The opt-in audit log of this module's host calls (sampled); absent: not logged. */
  callLog?: HostCallLog;
}
