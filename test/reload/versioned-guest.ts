/**
 * A reactive test module whose every version is told apart (the hot reload tests): its
 * `init` and `shutdown` record `init-<version>` / `shutdown-<version>` in the store, `on_tick`
 * (every `tickMs` when given) adds 1 to the gcounter `ticks-<version>` when the node syncs,
 * and its default routes answer with the version:
 *   GET <prefix>/version        200 "<version>"
 *   GET <prefix>/slow           200 "<version>" after waiting up to `slowMs` for a message
 *                               (it records `slow-<version>` first)
 *   GET <prefix>/only-<version> 200 "<version>" (a route only this version declares)
 *   POST <prefix>/inc           200 "<version>" once it added 1 to the gcounter `acked` (needs
 *                               sync); the answer leaves once the op is durable
 * `fault` makes a version the loader refuses: a callback with the wrong type, or an import the
 * node does not have; or one that traps in `init` (its supervisor restarts it until it gives up).
 */
import { compileWat } from "../abi/harness.ts";

export interface VersionedGuest {
  readonly version: string;
  /** Prefix of its routes ("" or "/other"). */
  readonly prefix?: string;
  readonly tickMs?: number;
  /** Counts ticks in a gcounter (needs sync). */
  readonly countTicks?: boolean;
  readonly slowMs?: number;
  readonly fault?: "mistyped-callback" | "missing-import" | "trap-in-init";
}

export function versionedGuest(guest: VersionedGuest): Promise<Uint8Array> {
  const prefix = guest.prefix ?? "";
  const strings = new Map<string, { ptr: number; len: number }>();
  let next = 16;
  const at = (text: string) => {
    let found = strings.get(text);
    if (found === undefined) {
      found = { ptr: next, len: Buffer.byteLength(text) };
      strings.set(text, found);
      next += found.len + 8;
    }
    return `(i32.const ${found.ptr}) (i32.const ${found.len})`;
  };
  const route = (path: string, handler: string, method = "GET") =>
    `(drop (call $route_add ${at(method)} ${at(`${prefix}${path}`)} ${at(handler)}))`;
  const record = (what: string) => `(drop (call $db_set ${at(`${what}-${guest.version}`)} ${at("1")}))`;
  const body = `
    (func (export "routes")
      ${route("/version", "version")}
      ${route("/slow", "slow")}
      ${route(`/only-${guest.version}`, "version")}
      ${route("/inc", "inc", "POST")})
    (func (export "inc")
      (drop (call $gcounter_inc ${at("acked")} (i64.const 1)))
      (drop (call $resp_write ${at(guest.version)})))
    (func (export "version") (drop (call $resp_write ${at(guest.version)})))
    (func (export "slow")
      ${record("slow")}
      (drop (call $receive (i32.const 8192) (i32.const 256) (i32.const ${guest.slowMs ?? 500})))
      (drop (call $resp_write ${at(guest.version)})))
    (func (export "init")
      ${guest.fault === "trap-in-init" ? "unreachable" : ""}
      ${record("init")}
      ${guest.tickMs === undefined ? "" : `(drop (call $tick_every (i32.const ${guest.tickMs})))`})
    (func (export "shutdown") ${record("shutdown")})
    (func (export "on_tick") ${guest.fault === "mistyped-callback" ? "(param i32)" : ""}
      ${guest.countTicks === true ? `(drop (call $gcounter_inc ${at(`ticks-${guest.version}`)} (i64.const 1)))` : ""})`;
  const data = [...strings].map(([text, { ptr }]) => `(data (i32.const ${ptr}) ${JSON.stringify(text)})`);
  return compileWat(`(module
    (import "nx" "route_add" (func $route_add (param i32 i32 i32 i32 i32 i32) (result i32)))
    (import "nx" "resp_write" (func $resp_write (param i32 i32) (result i32)))
    (import "nx" "proc_receive" (func $receive (param i32 i32 i32) (result i32)))
    (import "nx" "tick_every" (func $tick_every (param i32) (result i32)))
    (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
    (import "nx" "crdt_gcounter_inc" (func $gcounter_inc (param i32 i32 i64) (result i32)))
    ${guest.fault === "missing-import" ? '(import "nx" "no_such_function" (func $missing))' : ""}
    (memory (export "memory") 1)
    ${data.join("\n    ")}
    ${body})`);
}
