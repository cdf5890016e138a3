import { WasmProcessError } from "./wasm-process-error.ts";

/**
 * What a WebAssembly process may reach besides computing and messaging, as a bit set:
 *
 * - `db`: the node's local store (`db_*`); without it they answer -3;
 * - `crdt`: replicated state (`crdt_*`) and the sync queries `net_node_id` / `net_peers`;
 *   without it they answer -5, exactly as on a node without sync;
 * - `link`: `proc_link` to any process. A link is a kill switch both ways (an abnormal exit
 *   ends the linked process unless it traps exits), so without this grant a process may link
 *   only to children it spawned itself: an untrusted guest that links to a supervisor or a
 *   worker it was never given and then crashes would otherwise take it down.
 * - `network.serve`: HTTP routes may name the module's handlers (docs/serving.md); a listener
 *   routing to a module whose processes lack it is refused at start.
 *
 * `host_capabilities` lists what the process really has (`db`, `crdt` and `net` appear only when
 * granted and present on the node, `link` when granted).
 */
export type Grants = number;

export const GRANT_DB = 1;
export const GRANT_CRDT = 2;
export const GRANT_LINK = 4;
export const GRANT_SERVE = 8;

const CAPABILITIES: Readonly<Record<string, Grants>> = {
  db: GRANT_DB,
  crdt: GRANT_CRDT,
  link: GRANT_LINK,
  "network.serve": GRANT_SERVE,
};

/** The named starting points of a profile. */
export const PROFILES: Readonly<Record<string, Grants>> = {
  /** Default: compute, messages, logs, time, randomness, hashes; no store, no sync, links to own children only. */
  sandboxed: 0,
  storage: GRANT_DB,
  trusted: GRANT_DB | GRANT_CRDT | GRANT_LINK | GRANT_SERVE,
};

export const DEFAULT_PROFILE = "sandboxed";

/** Longest profile text accepted. */
const PROFILE_TEXT_MAX = 256;

/**
 * Parses a profile: a profile name followed by per-spawn overrides, each `+capability` or
 * `-capability`, applied left to right. "" is `sandboxed`.
 *
 * @example
 * parseProfile("storage");        // db
 * parseProfile("trusted-crdt");   // db, link
 * parseProfile("sandboxed+db");   // db
 */
export function parseProfile(text: string): Grants {
  if (text === "") return PROFILES[DEFAULT_PROFILE]!;
  if (text.length > PROFILE_TEXT_MAX) {
    throw new WasmProcessError(
      "WASM_PROCESS_INVALID_PROFILE",
      `profile text is longer than ${PROFILE_TEXT_MAX}`,
    );
  }
  const parts = text.split(/(?=[+-])/);
  const name = parts[0]!;
  let grants = Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
  if (grants === undefined) {
    throw new WasmProcessError(
      "WASM_PROCESS_INVALID_PROFILE",
      `unknown capability profile "${name}" in "${text}" (known: ${Object.keys(PROFILES).join(", ")})`,
    );
  }
  for (const override of parts.slice(1)) {
    const capability = override.slice(1);
    const bit = Object.hasOwn(CAPABILITIES, capability) ? CAPABILITIES[capability] : undefined;
    if (bit === undefined) {
      throw new WasmProcessError(
        "WASM_PROCESS_INVALID_PROFILE",
        `unknown capability "${capability}" in profile "${text}" (known: ${Object.keys(CAPABILITIES).join(", ")})`,
      );
    }
    grants = override[0] === "+" ? grants | bit : grants & ~bit;
  }
  return grants;
}

/** True when `requested` holds a capability `held` does not: a spawn must not escalate. */
export function exceedsGrants(requested: Grants, held: Grants): boolean {
  return (requested & ~held) !== 0;
}

/** Capability names in `grants`, for messages. */
export function grantNames(grants: Grants): string[] {
  return Object.entries(CAPABILITIES)
    .filter(([, bit]) => (grants & bit) !== 0)
    .map(([name]) => name);
}
