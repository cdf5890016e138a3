import { NX_MODULE } from "../wasm/abi/nx-signatures.ts";
import { PROCESS_FUNCTION_SIGNATURES } from "../wasm/abi/process-signatures.ts";
import { GuestInstance } from "../wasm/guest-instance.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import { moduleCallbacks } from "../wasm/module-callbacks.ts";
import { passthroughSink } from "./guest-output.ts";
import type { GuestProcessesOptions, GuestProcessesOutcome, GuestProcessResult } from "./guest-processes.ts";

/**
 * Whether `modules` can run without the actor kernel: a single module that imports no `proc_*`
 * function cannot tell whether it runs as a supervised process, so `nx run` skips loading the
 * kernel and the process host for it (a few milliseconds of every small run's start-up).
 */
export function canRunAlone(modules: readonly GuestModule[]): boolean {
  return (
    modules.length === 1 &&
    moduleCallbacks(modules[0]).size === 0 &&
    !modules[0].imports.some((i) => i.module === NX_MODULE && PROCESS_FUNCTION_SIGNATURES.has(i.name))
  );
}

/** `runGuestProcesses` for the one module `canRunAlone` accepted: same options, same outcome. */
export async function runLoneGuest(
  modules: readonly GuestModule[],
  options: GuestProcessesOptions,
): Promise<GuestProcessesOutcome> {
  if (!canRunAlone(modules)) throw new Error("runLoneGuest takes one module that uses no proc_* function");
  const module = modules[0];
  const stdout = passthroughSink(options.stdout);
  const stderr = passthroughSink(options.stderr);
  const env = {
    ...options.environment(module),
    stdout: (bytes: Uint8Array) => stdout.write(bytes),
    stderr: (bytes: Uint8Array) => stderr.write(bytes),
  };
  const guest = GuestInstance.create(module, {
    env,
    cpuMsPerRun: env.quota?.cpuMsPerRun ?? options.cpuMsPerRun,
  });
  const stop = () => guest.kill(String(options.signal?.reason ?? "stopped"));
  options.signal?.addEventListener("abort", stop, { once: true });
  const run = await guest.run();
  options.signal?.removeEventListener("abort", stop);
  stdout.end();
  stderr.end();
  const result: GuestProcessResult = run.ok
    ? { module, ok: true, reason: "normal", failure: undefined, message: "", cpuMs: guest.governor.usedMs }
    : {
        module,
        ok: false,
        reason: run.failure.kind,
        failure: run.failure,
        message: run.failure.message,
        cpuMs: guest.governor.usedMs,
      };
  options.onModuleExit?.(result);
  return { ok: run.ok, results: [result] };
}
