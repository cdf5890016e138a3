// Processes: a guest run as an actor process (`nx run`, or spawned by another process) gets a
// pid, a mailbox, links and monitors. Messages are bytes; `receive` blocks this guest only (the
// node keeps running everything else) until a message arrives or the timeout passes.
//
//   const worker = proc.spawn(new proc.Spawn().withEntry("worker").linked());
//   proc.send(worker, "resize 42");
//   const reply = proc.receive(5_000);            // null after 5 s
//   if (reply !== null) log.info(reply.text());
//
// Guide: docs/sdk.md ("Processes"); ABI: docs/host-api.md ("Processes").

import { ArgSpan } from "./arg-span";
import { ErrorCode, succeeded } from "./error";
import { outputPtr, readOutput } from "./output-buffer";

// --- raw host functions (docs/host-api.md) --------------------------------------------------

// @ts-ignore: decorator
@external("nx", "proc_self")
export declare function proc_self(): i32;
// @ts-ignore: decorator
@external("nx", "proc_spawn")
export declare function proc_spawn(
  modulePtr: usize,
  moduleLen: usize,
  entryPtr: usize,
  entryLen: usize,
  profilePtr: usize,
  profileLen: usize,
  argPtr: usize,
  argLen: usize,
  flags: u32,
): i32;
// @ts-ignore: decorator
@external("nx", "proc_send")
export declare function proc_send(pid: i32, msgPtr: usize, msgLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "proc_receive")
export declare function proc_receive(outPtr: usize, outCap: usize, timeoutMs: i32): i32;
// @ts-ignore: decorator
@external("nx", "proc_receive_match")
export declare function proc_receive_match(
  kinds: u32,
  from: i32,
  prefixPtr: usize,
  prefixLen: usize,
  outPtr: usize,
  outCap: usize,
  timeoutMs: i32,
): i32;
// @ts-ignore: decorator
@external("nx", "proc_link")
export declare function proc_link(pid: i32): i32;
// @ts-ignore: decorator
@external("nx", "proc_unlink")
export declare function proc_unlink(pid: i32): i32;
// @ts-ignore: decorator
@external("nx", "proc_monitor")
export declare function proc_monitor(pid: i32): i32;
// @ts-ignore: decorator
@external("nx", "proc_demonitor")
export declare function proc_demonitor(pid: i32): i32;
// @ts-ignore: decorator
@external("nx", "proc_trap_exit")
export declare function proc_trap_exit(enabled: u32): i32;
// @ts-ignore: decorator
@external("nx", "proc_register")
export declare function proc_register(namePtr: usize, nameLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "proc_unregister")
export declare function proc_unregister(namePtr: usize, nameLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "proc_whereis")
export declare function proc_whereis(namePtr: usize, nameLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "proc_exit")
export declare function proc_exit(reasonPtr: usize, reasonLen: usize): i32;

// --- messages --------------------------------------------------------------------------------

/** Bytes sent by a process (or a JavaScript Uint8Array / string). */
export const KIND_DATA: u32 = 0;
/** A monitored process ended: `from` is its pid, the payload its exit reason. */
export const KIND_DOWN: u32 = 1;
/** A linked process ended while this one traps exits: `from` is its pid, the payload the reason. */
export const KIND_EXIT: u32 = 2;
/** Any other JavaScript value, as JSON. */
export const KIND_VALUE: u32 = 3;

const HEADER_BYTES: usize = 12;
const SPAWN_LINK: u32 = 1;
const SPAWN_MONITOR: u32 = 2;

/** A received message. */
export class Message {
  constructor(
    /** KIND_DATA, KIND_DOWN, KIND_EXIT or KIND_VALUE. */
    public kind: u32,
    /** The sender (0 when it was not a process); for DOWN and EXIT, the process that ended. */
    public from: i32,
    public payload: Uint8Array,
  ) {}

  /** The payload decoded as UTF-8 (for DOWN and EXIT: the exit reason). */
  text(): string {
    return String.UTF8.decodeUnsafe(this.payload.dataStart, <usize>this.payload.byteLength);
  }

  isData(): bool {
    return this.kind == KIND_DATA;
  }

  isDown(): bool {
    return this.kind == KIND_DOWN;
  }

  isExit(): bool {
    return this.kind == KIND_EXIT;
  }
}

/** What a selective receive accepts; every condition set must hold. */
export class Match {
  /** Bit `k` accepts kind `k` (e.g. `1 << KIND_DOWN`); 0: any kind. */
  kinds: u32 = 0;
  /** Only from this pid; 0: any sender. */
  from: i32 = 0;
  /** Only payloads starting with these bytes; null: any. */
  prefix: Uint8Array | null = null;

  ofKinds(kinds: u32): Match {
    this.kinds = kinds;
    return this;
  }

  fromPid(pid: i32): Match {
    this.from = pid;
    return this;
  }

  startingWith<T>(prefix: T): Match {
    if (isString<T>()) this.prefix = Uint8Array.wrap(String.UTF8.encode(changetype<string>(prefix)));
    else if (prefix instanceof Uint8Array) this.prefix = prefix;
    else if (prefix instanceof ArrayBuffer) this.prefix = Uint8Array.wrap(prefix);
    else ERROR("proc.Match.startingWith takes a string, Uint8Array or ArrayBuffer");
    return this;
  }
}

/** What to spawn: defaults run this module's `run` with the `sandboxed` profile. */
export class Spawn {
  /** Module id of a module the node knows; "" for this guest's own module. */
  module: string = "";
  /** Exported function to run; "" for `run`. */
  entry: string = "";
  /** Capability profile, e.g. "storage" or "trusted-crdt"; "" for `sandboxed`. Never above this guest's. */
  profile: string = "";
  /** The child's first message (from this process), delivered before any other. */
  arg: Uint8Array | null = null;
  link: bool = false;
  monitor: bool = false;

  ofModule(module: string): Spawn {
    this.module = module;
    return this;
  }

  withEntry(entry: string): Spawn {
    this.entry = entry;
    return this;
  }

  withProfile(profile: string): Spawn {
    this.profile = profile;
    return this;
  }

  withArg<T>(arg: T): Spawn {
    if (isString<T>()) this.arg = Uint8Array.wrap(String.UTF8.encode(changetype<string>(arg)));
    else if (arg instanceof Uint8Array) this.arg = arg;
    else if (arg instanceof ArrayBuffer) this.arg = Uint8Array.wrap(arg);
    else ERROR("proc.Spawn.withArg takes a string, Uint8Array or ArrayBuffer");
    return this;
  }

  /** Linked to this process (spawn_link): each learns when the other ends. */
  linked(): Spawn {
    this.link = true;
    return this;
  }

  /** Monitored by this process (spawn_monitor): a DOWN message follows its end. */
  monitored(): Spawn {
    this.monitor = true;
    return this;
  }
}

const moduleArg = new ArgSpan();
const entryArg = new ArgSpan();
const profileArg = new ArgSpan();
const payloadArg = new ArgSpan();
const nameArg = new ArgSpan();

/** This process's pid (> 0). */
export function self(): i32 {
  const pid = proc_self();
  succeeded(pid, "proc.self", 0);
  return pid;
}

/** Spawns a process; its pid, or -1 when the module or entry is unknown. */
export function spawn(options: Spawn = new Spawn()): i32 {
  moduleArg.of(options.module);
  entryArg.of(options.entry);
  profileArg.of(options.profile);
  const arg = options.arg;
  const argPtr: usize = arg === null ? 0 : arg.dataStart;
  const argLen: usize = arg === null ? 0 : <usize>arg.byteLength;
  const flags = (options.link ? SPAWN_LINK : 0) | (options.monitor ? SPAWN_MONITOR : 0);
  const pid = proc_spawn(
    moduleArg.ptr,
    moduleArg.len,
    entryArg.ptr,
    entryArg.len,
    profileArg.ptr,
    profileArg.len,
    argPtr,
    argLen,
    flags,
  );
  succeeded(pid, "proc.spawn", options.entry);
  return pid;
}

/** Sends a copy of `payload` (string as UTF-8, Uint8Array, ArrayBuffer); false when `pid` is gone. */
export function send<T>(pid: i32, payload: T): bool {
  payloadArg.of(payload);
  return succeeded(proc_send(pid, payloadArg.ptr, payloadArg.len), "proc.send", payload);
}

// Arguments of the receive in progress (AssemblyScript callbacks cannot capture locals).
let receiveTimeoutMs: i32 = -1;
let matchKinds: u32 = 0;
let matchFrom: i32 = 0;
let matchPrefixPtr: usize = 0;
let matchPrefixLen: usize = 0;

function readMessage(n: i32, call: string): Message | null {
  if (n == ErrorCode.NotFound) return null; // timed out
  if (!succeeded(n, call, 0)) return null;
  const at = outputPtr();
  const length = load<u32>(at + 8);
  const payload = new Uint8Array(<i32>length);
  memory.copy(payload.dataStart, at + HEADER_BYTES, <usize>length);
  return new Message(load<u32>(at), load<i32>(at + 4), payload);
}

/**
 * The oldest message, waiting up to `timeoutMs` (-1: forever, 0: only what is already here);
 * null when the time passed. Blocks this guest only.
 */
export function receive(timeoutMs: i32 = -1): Message | null {
  receiveTimeoutMs = timeoutMs;
  const n = readOutput((outPtr: usize, outCap: usize): i32 => proc_receive(outPtr, outCap, receiveTimeoutMs));
  return readMessage(n, "proc.receive");
}

/**
 * The oldest message `match` accepts (selective receive: the others stay queued, in order),
 * waiting up to `timeoutMs`; null when the time passed.
 */
export function receiveMatch(match: Match, timeoutMs: i32 = -1): Message | null {
  receiveTimeoutMs = timeoutMs;
  matchKinds = match.kinds;
  matchFrom = match.from;
  const prefix = match.prefix;
  matchPrefixPtr = prefix === null ? 0 : prefix.dataStart;
  matchPrefixLen = prefix === null ? 0 : <usize>prefix.byteLength;
  const n = readOutput((outPtr: usize, outCap: usize): i32 =>
    proc_receive_match(matchKinds, matchFrom, matchPrefixPtr, matchPrefixLen, outPtr, outCap, receiveTimeoutMs),
  );
  return readMessage(n, "proc.receiveMatch");
}

/**
 * Links this process and `pid`; false when `pid` is not alive. Without the `link` capability
 * (profile `trusted`, or `+link`) only a child this process spawned may be linked: any other pid
 * is refused (-3, an error under the error policy).
 */
export function link(pid: i32): bool {
  return succeeded(proc_link(pid), "proc.link", 0);
}

export function unlink(pid: i32): bool {
  return succeeded(proc_unlink(pid), "proc.unlink", 0);
}

/** Watches `pid`: a KIND_DOWN message follows its end (at once, reason "noproc", if it is gone). */
export function monitor(pid: i32): bool {
  return succeeded(proc_monitor(pid), "proc.monitor", 0);
}

/** Stops watching `pid` and drops its DOWN if already queued; true when a monitor was active. */
export function demonitor(pid: i32): bool {
  const n = proc_demonitor(pid);
  return succeeded(n, "proc.demonitor", 0) && n == 1;
}

/** Turns exit trapping on or off (links then deliver KIND_EXIT messages); returns the previous setting. */
export function trapExit(enabled: bool): bool {
  const n = proc_trap_exit(enabled ? 1 : 0);
  return succeeded(n, "proc.trapExit", 0) && n == 1;
}

/** Registers this process as `name` (released when it ends). */
export function register(name: string): bool {
  nameArg.of(name);
  return succeeded(proc_register(nameArg.ptr, nameArg.len), "proc.register", name);
}

/** Releases `name` if this process holds it. */
export function unregister(name: string): bool {
  nameArg.of(name);
  return succeeded(proc_unregister(nameArg.ptr, nameArg.len), "proc.unregister", name);
}

/** The pid registered as `name`, or -1. */
export function whereis(name: string): i32 {
  nameArg.of(name);
  const pid = proc_whereis(nameArg.ptr, nameArg.len);
  succeeded(pid, "proc.whereis", name);
  return pid;
}

/** Ends this process now with `reason` ("normal" is a normal end). Never returns. */
export function exit(reason: string = "normal"): void {
  nameArg.of(reason);
  proc_exit(nameArg.ptr, nameArg.len);
  unreachable();
}
