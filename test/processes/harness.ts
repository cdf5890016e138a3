/**
 * Helpers of the WebAssembly process tests: the compiled test guests (test/guests/proc_*.ts),
 * a host over them, and a JavaScript "probe" process that sends a guest a text command and
 * returns its reply.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { createKernel, type Kernel, type Pid, TIMEOUT } from "../../src/kernel/index.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import type { GuestEnvironment, GuestStore } from "../../src/wasm/abi/guest-environment.ts";
import { type GuestModule, loadGuestModuleFile } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import {
  guestMessage,
  guestMessageText,
  isGuestMessage,
  WasmProcessHost,
  type WasmProcessHostOptions,
} from "../../src/wasm/process/index.ts";

export const REPO = resolve(import.meta.dirname, "../..");
export const MIB = 1024 * 1024;

let built = false;

/** Builds the test guests once per test file (a no-op when they are up to date). */
export function buildTestGuests(): void {
  if (built) return;
  const names = ["proc_actor", "proc_spin", "proc_noop", "proc_idle", "proc_printer"];
  const result = spawnSync(process.execPath, [join(REPO, "scripts/build-guests.ts"), ...names], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`building the test guests failed:\n${result.stderr}`);
  built = true;
}

export function guestPath(name: string): string {
  return join(REPO, "test/guests/build", `${name}.wasm`);
}

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });

export async function loadTestGuest(name: string, memoryMaxBytes = 16 * MIB): Promise<GuestModule> {
  buildTestGuests();
  return loadGuestModuleFile(guestPath(name), { memoryMaxBytes, cache, logger: silentLogger });
}

export interface Captured {
  stdout: string;
  stderr: string;
}

/** An environment whose output lands in `captured`; deterministic clock, no store, no sync. */
export function testEnvironment(
  module: GuestModule,
  captured: Captured,
  store?: GuestStore,
): GuestEnvironment {
  const text = new TextDecoder();
  let counter = 0;
  return {
    moduleId: module.moduleId,
    store,
    logger: silentLogger,
    env: {},
    args: [module.moduleId],
    clock: { nowMs: () => 1_700_000_000_000, monotonicMs: () => performance.now() },
    randomFill: (target) => {
      for (let i = 0; i < target.length; i++) target[i] = counter++ & 0xff;
    },
    emitEvent: () => {},
    stdout: (bytes) => {
      captured.stdout += text.decode(bytes);
    },
    stderr: (bytes) => {
      captured.stderr += text.decode(bytes);
    },
    capabilities: [],
  };
}

export interface TestHost {
  kernel: Kernel;
  host: WasmProcessHost;
  captured: Captured;
}

/** A kernel and a host over `modules`. */
export function testHost(
  modules: GuestModule[],
  options: Partial<WasmProcessHostOptions> = {},
  store?: GuestStore,
): TestHost {
  const captured: Captured = { stdout: "", stderr: "" };
  const kernel = createKernel();
  const host = new WasmProcessHost({
    modules,
    environment: (module) => testEnvironment(module, captured, store),
    cpuMsPerRun: undefined,
    logger: silentLogger,
    ...options,
  });
  return { kernel, host, captured };
}

/**
 * Sends `command` to `pid` from a fresh JS process and resolves with the reply's text, or
 * "timeout" when none comes within `timeoutMs`.
 */
export function ask(kernel: Kernel, pid: Pid, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    kernel.spawn(
      async (ctx) => {
        try {
          ctx.send(pid, guestMessage(ctx.self, command));
          const reply = await ctx.receive(isGuestMessage, timeoutMs);
          resolvePromise(reply === TIMEOUT ? "timeout" : guestMessageText(reply));
        } catch (error) {
          reject(error);
        }
      },
      { label: "probe" },
    );
  });
}

/** Sends `command` to `pid` without waiting for a reply. */
export function tell(kernel: Kernel, pid: Pid, command: string): void {
  kernel.send(pid, guestMessage(0 as Pid, command));
}

/** Waits until `condition` holds, checking every few ms, up to `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
