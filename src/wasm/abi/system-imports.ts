import { ERR_INTERNAL, ERR_NOT_FOUND, OK } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, LOG_MESSAGE_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import { isValidEventName } from "./event-name.ts";
import { GuestAbortError } from "./guest-errors.ts";
import { GuestInputError, inputCopy, inputView, outputPointer } from "./guest-input.ts";
import { writeBytes } from "./guest-output.ts";
import { guestVisibleEnv } from "./guest-visible-env.ts";
import { hostCapabilities } from "./host-capabilities.ts";

const utf8 = new TextEncoder();
const lenientUtf8 = new TextDecoder("utf-8");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** The guest's abort message: invalid UTF-8 is replaced, an invalid range or overlong text is said so. */
function abortMessage(memory: Uint8Array, ptr: number, len: number): string {
  ptr >>>= 0;
  len >>>= 0;
  if (ptr + len > memory.length) return `(abort message at ${ptr}+${len} is outside guest memory)`;
  const shown = Math.min(len, LOG_MESSAGE_BYTES_MAX);
  const text = lenientUtf8.decode(memory.subarray(ptr, ptr + shown));
  return shown < len ? `${text}... (${len - shown} more bytes)` : text;
}

/**
 * `env_get`, `module_id`, `host_capabilities`, `event_emit` and `abort`. What they answer is
 * fixed when the instance is created (the environment is read-only), so calls encode nothing.
 */
export function createSystemImports(
  ctx: AbiContext,
): Record<string, (...args: never[]) => number | undefined> {
  const { env, views } = ctx;
  const visibleEnv = new Map<string, Uint8Array>();
  for (const [name, value] of guestVisibleEnv(env.env)) visibleEnv.set(name, utf8.encode(value));
  const moduleIdBytes = utf8.encode(env.moduleId);
  const capabilityBytes = utf8.encode(hostCapabilities(env).join("\n"));

  function writeConstant(name: string, value: Uint8Array) {
    return ctx.guard(name, (outPtr: number, outCap: number): number => {
      const memory = views.bytes();
      const out = outputPointer(memory, outPtr, outCap);
      return writeBytes(memory, views.data(), out, outCap >>> 0, value);
    });
  }

  return {
    env_get: ctx.guard(
      "env_get",
      (keyPtr: number, keyLen: number, outPtr: number, outCap: number): number => {
        const memory = views.bytes();
        const nameBytes = inputView(memory, keyPtr, keyLen, KEY_BYTES_MAX);
        const out = outputPointer(memory, outPtr, outCap);
        let name: string;
        try {
          name = strictUtf8.decode(nameBytes);
        } catch {
          return ERR_NOT_FOUND;
        }
        if (env.policy?.allowsKey("env_get", "env", name) === false) return ERR_INTERNAL;
        const value = visibleEnv.get(name);
        return value === undefined
          ? ERR_NOT_FOUND
          : writeBytes(memory, views.data(), out, outCap >>> 0, value);
      },
    ),
    module_id: writeConstant("module_id", moduleIdBytes),
    host_capabilities: writeConstant("host_capabilities", capabilityBytes),
    event_emit: ctx.guard(
      "event_emit",
      (namePtr: number, nameLen: number, payloadPtr: number, payloadLen: number): number => {
        const memory = views.bytes();
        const nameBytes = inputView(memory, namePtr, nameLen, KEY_BYTES_MAX);
        if (!isValidEventName(nameBytes)) throw new GuestInputError("invalid event name");
        const payload = inputCopy(memory, payloadPtr, payloadLen, VALUE_BYTES_MAX);
        env.emitEvent(latin1.decode(nameBytes), payload);
        return OK;
      },
    ),
    abort: (msgPtr: number, msgLen: number): undefined => {
      let message: string;
      try {
        message = abortMessage(views.bytes(), msgPtr, msgLen);
      } catch (error) {
        message = `(abort message unreadable: ${error instanceof Error ? error.message : String(error)})`;
      }
      throw new GuestAbortError(message);
    },
  };
}
