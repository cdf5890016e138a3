import type { LogLevel } from "../../observe/logger.ts";
import type { FunctionType } from "../module-imports.ts";
import { ERR_INTERNAL, OK } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { LOG_MESSAGE_BYTES_MAX } from "./abi-limits.ts";

/** Guest log levels 0..4; anything above 4 is logged as an error. */
const GUEST_LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error"];

const lenientUtf8 = new TextDecoder("utf-8");

/** Which of the two `host_log_v2` shapes seen in the wild a guest declared. */
export type HostLogShape = "level-ptr-len" | "ptr-len-result";

/** `(ptr, len) -> i32` when the import declares one result, else the seed's `(level, ptr, len) -> ()`. */
export function hostLogShapeOf(type: FunctionType | undefined): HostLogShape {
  return type !== undefined && type.params.length === 2 && type.results.length === 1
    ? "ptr-len-result"
    : "level-ptr-len";
}

/**
 * `host_log_v2` in the shape the guest declared:
 * - `(level, ptr, len) -> ()`: messages above 8 KiB are logged truncated (there is no result to
 *   refuse them with); an invalid range is dropped and reported as a host warning.
 * - `(ptr, len) -> i32`: logged at info; 0, or -3 for an invalid range or a message above 8 KiB.
 * Invalid UTF-8 is replaced (U+FFFD); disabled levels cost a bounds check and nothing more.
 */
export function createHostLog(
  ctx: AbiContext,
  shape: HostLogShape,
): (...args: never[]) => number | undefined {
  const { views, logger } = ctx;

  if (shape === "ptr-len-result") {
    return ctx.guard("host_log_v2", (ptr: number, len: number): number => {
      const memory = views.bytes();
      ptr >>>= 0;
      len >>>= 0;
      if (len > LOG_MESSAGE_BYTES_MAX || ptr + len > memory.length) return ERR_INTERNAL;
      if (logger.isLevelEnabled("info")) logger.info(lenientUtf8.decode(memory.subarray(ptr, ptr + len)));
      return OK;
    });
  }

  return (level: number, ptr: number, len: number): undefined => {
    try {
      const memory = views.bytes();
      const logLevel = GUEST_LOG_LEVELS[Math.min(level >>> 0, GUEST_LOG_LEVELS.length - 1)]!;
      ptr >>>= 0;
      len >>>= 0;
      if (ptr + len > memory.length) {
        ctx.logFailure("host_log_v2", new RangeError(`message range ${ptr}+${len} is outside guest memory`));
        return;
      }
      if (!logger.isLevelEnabled(logLevel)) return;
      const shown = Math.min(len, LOG_MESSAGE_BYTES_MAX);
      const text = lenientUtf8.decode(memory.subarray(ptr, ptr + shown));
      logger[logLevel](shown < len ? `${text}... (truncated, ${len} bytes)` : text);
    } catch (error) {
      ctx.logFailure("host_log_v2", error);
    }
  };
}
