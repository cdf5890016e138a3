import { ERR_INTERNAL, ERR_RESERVED_KEY } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import type { GuestEnvironment } from "./guest-environment.ts";
import { GuestInputError, inputView, outputPointer } from "./guest-input.ts";
import { bufferTooSmall } from "./guest-output.ts";
import { asHostFunction, forwarding } from "./host-call-forwarding.ts";
import {
  type GuestProcessPort,
  RECEIVE_HEADER_BYTES,
  RECEIVE_TIMED_OUT,
  type ReceiveAnswer,
  type ReceiveCriteria,
  type ReceiveOutcome,
} from "./process-port.ts";
import { PROCESS_FUNCTION_SIGNATURES } from "./process-signatures.ts";

/** Longest process name, in UTF-8 bytes (the kernel allows 255 characters). */
export const PROCESS_NAME_BYTES_MAX = 255;
/** Longest module id, entry name, profile text or exit reason a guest may pass. */
export const PROCESS_TEXT_BYTES_MAX = 1024;
/** Names starting with this belong to the runtime: registering one answers -4. */
export const RESERVED_NAME_PREFIX = "__nx";

const SPAWN_LINK = 1;
const SPAWN_MONITOR = 2;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

type BinaryRead = (this: Uint8Array, start: number, end: number) => string;
type BinaryWrite = (this: Uint8Array, text: string, offset: number, length: number) => number;
// Node's latin1 codec maps bytes 0..255 to chars 0..255 and back: a lossless "binary string".
const latin1Slice = Buffer.prototype.latin1Slice as unknown as BinaryRead;
const latin1Write = Buffer.prototype.latin1Write as unknown as BinaryWrite;

/** `[ptr, ptr + len)` of guest memory as a binary string (one char per byte). */
export function binaryInput(memory: Uint8Array, ptr: number, len: number, maxBytes: number): string {
  const view = inputView(memory, ptr, len, maxBytes);
  return latin1Slice.call(memory, view.byteOffset, view.byteOffset + view.length);
}

function textInput(memory: Uint8Array, ptr: number, len: number, maxBytes: number): string {
  try {
    return strictUtf8.decode(inputView(memory, ptr, len, maxBytes));
  } catch (error) {
    if (error instanceof GuestInputError) throw error;
    throw new GuestInputError("text is not valid UTF-8");
  }
}

/** A pid argument: a positive i32 (the kernel's pids start at 1). */
function pidArg(pid: number): number {
  if (!(pid > 0)) throw new GuestInputError(`invalid pid ${pid}`);
  return pid;
}

function nameArg(memory: Uint8Array, ptr: number, len: number): string {
  const name = textInput(memory, ptr, len, PROCESS_NAME_BYTES_MAX);
  if (name.length === 0) throw new GuestInputError("empty process name");
  return name;
}

/**
 * A name as the kernel's registry holds it: a module with a namespace registers and looks up
 * names under its `<id>/`, so no other module with a policy can find, squat or release them; a
 * trusted module's names are node-wide, as given.
 */
function registryName(env: GuestEnvironment, name: string): string {
  const namespace = env.namespace;
  return namespace === undefined ? name : `${namespace.prefix}${name}`;
}

/**
 * Whether `call` may reach process `pid`: a module with a policy reaches only processes that run
 * its own code (pids are small, guessable numbers, so a pid carries no authority); a pid that is
 * gone passes, to answer what it answers for any module.
 */
function reachable(env: GuestEnvironment, port: GuestProcessPort, call: string, pid: number): boolean {
  const policy = env.policy;
  if (policy === undefined) return true;
  const owner = port.moduleOf(pid);
  if (owner === undefined || owner === env.moduleId) return true;
  const subject = owner === "" ? `pid ${pid} (a process of the node)` : `pid ${pid} (module ${owner})`;
  policy.deniedOtherModule(call, "processes", subject);
  return false;
}

function written(ctx: AbiContext, outcome: ReceiveOutcome, outPtr: number, outCap: number): number {
  if (outcome === RECEIVE_TIMED_OUT) return RECEIVE_TIMED_OUT;
  const memory = ctx.views.bytes();
  const data = ctx.views.data();
  if ("requiredBytes" in outcome) return bufferTooSmall(data, outPtr, outCap, outcome.requiredBytes);
  const { payload } = outcome;
  const size = RECEIVE_HEADER_BYTES + payload.length;
  if (size > outCap) return bufferTooSmall(data, outPtr, outCap, size);
  data.setUint32(outPtr, outcome.kind, true);
  data.setUint32(outPtr + 4, outcome.from, true);
  data.setUint32(outPtr + 8, payload.length, true);
  const at = outPtr + RECEIVE_HEADER_BYTES;
  if (typeof payload === "string") latin1Write.call(memory, payload, at, payload.length);
  else memory.set(payload, at);
  return size;
}

/**
 * The receives of one guest instance into its memory: made once per instance and set at each
 * receive (an instance has at most one receive pending), so that a receive allocates nothing
 * of its own and a parked one keeps no closure of the ABI's (see {@link ReceiveAnswer}).
 */
class GuestReceive implements ReceiveAnswer {
  readonly #ctx: AbiContext;
  readonly #port: GuestProcessPort;
  #name = "";
  #out = 0;
  #capacity = 0;

  constructor(ctx: AbiContext, port: GuestProcessPort) {
    this.#ctx = ctx;
    this.#port = port;
  }

  /** The answer now, or a promise of it. */
  receive(
    name: string,
    criteria: ReceiveCriteria | undefined,
    outPtr: number,
    outCap: number,
    timeoutMs: number,
  ): number | Promise<number> {
    this.#out = outputPointer(this.#ctx.views.bytes(), outPtr, outCap);
    this.#capacity = outCap >>> 0;
    this.#name = name;
    return this.#port.receive(criteria, this.#capacity, timeoutMs, this);
  }

  answer(outcome: ReceiveOutcome): number {
    return written(this.#ctx, outcome, this.#out, this.#capacity);
  }

  failed(error: unknown): number {
    return this.#ctx.fail(this.#name, error);
  }
}

/** Like ctx.guard, for functions that may answer a promise. */
function guardAsync<A extends unknown[]>(
  ctx: AbiContext,
  name: string,
  fn: (...args: A) => number | Promise<number>,
): (...args: A) => number | Promise<number> {
  const forward = forwarding(fn);
  return asHostFunction((a, b, c, d, e, f, g, h, i) => {
    try {
      return forward(a, b, c, d, e, f, g, h, i);
    } catch (error) {
      return ctx.caught(name, error);
    }
  });
}

/**
 * The `proc_*` functions of one guest instance. With `port` undefined (a guest not running as a
 * process, e.g. an embedder calling GuestInstance directly) every one answers -3.
 *
 * `proc_receive` and `proc_receive_match` return a promise when they must wait: the runtime
 * wraps them in `WebAssembly.Suspending`, so the guest's stack parks and the event loop runs.
 * `proc_exit` ends the guest by throwing {@link GuestProcessExit} through it, like `abort`.
 */
export function createProcessImports(
  ctx: AbiContext,
  port: GuestProcessPort | undefined,
): Record<string, (...args: never[]) => number | Promise<number>> {
  if (port === undefined) {
    const unavailable = (): number => ERR_INTERNAL;
    return Object.fromEntries([...PROCESS_FUNCTION_SIGNATURES.keys()].map((name) => [name, unavailable]));
  }
  const { env, views } = ctx;
  const receives = new GuestReceive(ctx, port);
  return {
    proc_self: () => port.self(),
    proc_spawn: ctx.guard(
      "proc_spawn",
      (
        modulePtr: number,
        moduleLen: number,
        entryPtr: number,
        entryLen: number,
        profilePtr: number,
        profileLen: number,
        argPtr: number,
        argLen: number,
        flags: number,
      ): number => {
        const memory = views.bytes();
        if ((flags & ~(SPAWN_LINK | SPAWN_MONITOR)) !== 0) throw new GuestInputError("unknown spawn flags");
        const arg = argLen >>> 0 === 0 ? undefined : binaryInput(memory, argPtr, argLen, VALUE_BYTES_MAX);
        const profile = textInput(memory, profilePtr, profileLen, PROCESS_TEXT_BYTES_MAX);
        const module = textInput(memory, modulePtr, moduleLen, PROCESS_TEXT_BYTES_MAX);
        const policy = env.policy;
        if (policy !== undefined) {
          // Another module's code would run with that module's namespace and policy.
          if (module !== "" && module !== env.moduleId) {
            policy.deniedOtherModule("proc_spawn", "processes.spawn", `module ${module}`);
            return ERR_INTERNAL;
          }
          if (!policy.allowsSpawn("proc_spawn", profile)) return ERR_INTERNAL;
        }
        return port.spawn({
          module,
          entry: textInput(memory, entryPtr, entryLen, PROCESS_TEXT_BYTES_MAX),
          profile,
          arg,
          link: (flags & SPAWN_LINK) !== 0,
          monitor: (flags & SPAWN_MONITOR) !== 0,
        });
      },
    ),
    proc_send: ctx.guard("proc_send", (pid: number, msgPtr: number, msgLen: number): number => {
      const payload = binaryInput(views.bytes(), msgPtr, msgLen, VALUE_BYTES_MAX);
      return reachable(env, port, "proc_send", pidArg(pid)) ? port.send(pid, payload) : ERR_INTERNAL;
    }),
    proc_receive: guardAsync(ctx, "proc_receive", (outPtr: number, outCap: number, timeoutMs: number) =>
      receives.receive("proc_receive", undefined, outPtr, outCap, timeoutMs),
    ),
    proc_receive_match: guardAsync(
      ctx,
      "proc_receive_match",
      (
        kinds: number,
        from: number,
        prefixPtr: number,
        prefixLen: number,
        outPtr: number,
        outCap: number,
        timeoutMs: number,
      ) => {
        if (from < 0) throw new GuestInputError(`invalid sender pid ${from}`);
        const prefix = binaryInput(views.bytes(), prefixPtr, prefixLen, KEY_BYTES_MAX);
        const criteria: ReceiveCriteria = { kinds: kinds >>> 0, from, prefix };
        return receives.receive("proc_receive_match", criteria, outPtr, outCap, timeoutMs);
      },
    ),
    proc_link: ctx.guard("proc_link", (pid: number) =>
      reachable(env, port, "proc_link", pidArg(pid)) ? port.link(pid) : ERR_INTERNAL,
    ),
    proc_unlink: ctx.guard("proc_unlink", (pid: number) => port.unlink(pidArg(pid))),
    proc_monitor: ctx.guard("proc_monitor", (pid: number) =>
      reachable(env, port, "proc_monitor", pidArg(pid)) ? port.monitor(pid) : ERR_INTERNAL,
    ),
    proc_demonitor: ctx.guard("proc_demonitor", (pid: number) => port.demonitor(pidArg(pid))),
    proc_trap_exit: ctx.guard("proc_trap_exit", (enabled: number) => port.trapExit(enabled !== 0)),
    proc_register: ctx.guard("proc_register", (namePtr: number, nameLen: number): number => {
      const name = nameArg(views.bytes(), namePtr, nameLen);
      return name.startsWith(RESERVED_NAME_PREFIX)
        ? ERR_RESERVED_KEY
        : port.register(registryName(env, name));
    }),
    proc_unregister: ctx.guard("proc_unregister", (namePtr: number, nameLen: number) =>
      port.unregister(registryName(env, nameArg(views.bytes(), namePtr, nameLen))),
    ),
    proc_whereis: ctx.guard("proc_whereis", (namePtr: number, nameLen: number): number => {
      const name = nameArg(views.bytes(), namePtr, nameLen);
      return port.whereis(registryName(env, name));
    }),
    proc_exit: (reasonPtr: number, reasonLen: number): number => {
      let reason: string;
      try {
        reason = textInput(views.bytes(), reasonPtr, reasonLen, PROCESS_TEXT_BYTES_MAX);
      } catch (error) {
        return error instanceof GuestInputError ? ERR_INTERNAL : ctx.fail("proc_exit", error);
      }
      return port.exit(reason === "" ? "normal" : reason);
    },
  };
}
