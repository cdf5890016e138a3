// Log lines to the host's logger (`host_log_v2`), which prints them with the module's name.
// The host shows at most 8 KiB of a message and marks a longer one as truncated.
//
//   log.info(`visits = ${visits}`);

import { host_log_v2 } from "./abi";
import { ArgSpan } from "./arg-span";

export enum Level {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
}

const messageArg = new ArgSpan();

/** Logs `message` at `level`. */
export function write(level: Level, message: string): void {
  messageArg.of(message);
  host_log_v2(<u32>level, messageArg.ptr, messageArg.len);
}

export function trace(message: string): void {
  write(Level.Trace, message);
}

export function debug(message: string): void {
  write(Level.Debug, message);
}

export function info(message: string): void {
  write(Level.Info, message);
}

export function warn(message: string): void {
  write(Level.Warn, message);
}

export function error(message: string): void {
  write(Level.Error, message);
}
