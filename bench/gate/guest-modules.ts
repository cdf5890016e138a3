import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { GateError } from "./gate-error.ts";
import { REPO_ROOT } from "./nx-process.ts";

/** The load guests (bench/guests/<name>), built by scripts/build-guests.ts. */
export type LoadGuest = "store_load" | "counter_load";

export function guestModulePath(guest: LoadGuest): string {
  return join(REPO_ROOT, "bench/guests", guest, "build", `${guest}.wasm`);
}

/** Builds the load guests when their sources changed (about 0.1 s when nothing did). */
export function buildLoadGuests(): void {
  const result = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "scripts/build-guests.ts"), "store_load", "counter_load"],
    { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 },
  );
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || "").trim().split("\n").at(-1);
    throw new GateError("GATE_NODE_FAILED", `could not build the load guests: ${why}`);
  }
}
