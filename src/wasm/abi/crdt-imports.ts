import { OpTooLargeError } from "../../crdt/op-too-large-error.ts";
import {
  ERR_BUFFER_TOO_SMALL,
  ERR_INTERNAL,
  ERR_NOT_FOUND,
  ERR_OP_TOO_LARGE,
  ERR_SYNC_DISABLED,
  OK,
} from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import type { CrdtHost } from "./crdt-host.ts";
import { CrdtKeyMemo } from "./crdt-key-memo.ts";
import {
  GuestInputError,
  inputCopy,
  inputKeyText,
  inputView,
  keyTextOf,
  outputPointer,
  withoutByteOrderMark,
} from "./guest-input.ts";
import { writeBytes, writeRecords, writeU64 } from "./guest-output.ts";
import { forwarding, type HostCallForwarder } from "./host-call-forwarding.ts";
import type { PolicyCrdtFamily } from "./host-call-policy.ts";
import { CRDT_OP_CALLS, meteredCallActed } from "./host-call-quota.ts";

type HostFunction = (...args: never[]) => number;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function clamp(value: bigint, min: bigint, max: bigint): bigint {
  return value < min ? min : value > max ? max : value;
}

/** A u64 delta from wasm: an i64 BigInt reinterpreted as unsigned. */
function deltaOf(delta: bigint | number): bigint {
  if (typeof delta === "number") {
    if (!Number.isSafeInteger(delta)) throw new GuestInputError("delta is not an integer");
    return BigInt.asUintN(64, BigInt(delta));
  }
  return BigInt.asUintN(64, delta);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * An RGA insert whose id did not fit `out_id_cap`. The element exists; the guest's retry of the
 * very same insert (same key, parent and value) gets this id instead of inserting twice.
 */
interface PendingRgaId {
  key: string;
  parent: Uint8Array | undefined;
  value: Uint8Array;
  id: Uint8Array;
}

/**
 * `crdt_*`: replicated data types through the node's CrdtHost. Without one (no sync) every
 * function answers -5 before looking at its arguments. Keys are UTF-8 text of 1..1024 bytes
 * (invalid UTF-8: -3), relative to the guest's namespace when it has one (the key with the
 * namespace's prefix at most 1024 bytes); map fields and RGA ids up to 1024 bytes, values and set
 * elements up to 1 MiB.
 */
export function createCrdtImports(ctx: AbiContext): Record<string, HostFunction> {
  const { env, views } = ctx;
  let pendingRgaId: PendingRgaId | undefined;

  /**
   * A host function of `family` whose first two arguments are the key: without sync -5; an
   * invalid key -3; a key the module's policy does not grant for the family -3 (audited); a
   * write whose op would not fit one sync message -10 (logged); anything else thrown as
   * ctx.guard answers it. One layer, its own guard: the key and the guard are on every call.
   */
  function sync<A extends unknown[]>(
    name: string,
    family: PolicyCrdtFamily,
    body: (host: CrdtHost, memory: Uint8Array, key: string, ...args: A) => number,
  ): (keyPtr: number, keyLen: number, ...args: A) => number {
    const capability = `crdt.${family}` as const;
    const makesOp = CRDT_OP_CALLS.has(name);
    const memo = new CrdtKeyMemo();
    // The arguments after the key go on one by one (host-call-forwarding.ts); the guest's key is
    // two of them, host, memory and key three of the body's.
    const forward = forwarding(body, body.length - 1) as unknown as (
      host: CrdtHost,
      memory: Uint8Array,
      key: string,
      ...rest: Parameters<HostCallForwarder<number>> extends [unknown, unknown, ...infer Rest] ? Rest : never
    ) => number;
    const synced = (
      keyPtr: number,
      keyLen: number,
      c: unknown,
      d: unknown,
      e: unknown,
      f: unknown,
      g: unknown,
      h: unknown,
      i: unknown,
    ): number => {
      try {
        const host = env.crdt;
        if (host === undefined) return ERR_SYNC_DISABLED;
        const memory = views.bytes();
        const namespace = env.namespace;
        const policy = env.policy;
        let key = memo.recall(memory, keyPtr, keyLen, namespace, policy);
        if (key === undefined) {
          // The policy checks a namespaced key's bytes: the same answer as for its text (valid UTF-8).
          let subject: string | Uint8Array;
          let inNamespace = false;
          if (namespace === undefined) {
            key = inputKeyText(memory, keyPtr, keyLen);
            subject = key;
          } else {
            const view = inputView(memory, keyPtr, keyLen, KEY_BYTES_MAX);
            if (view.length === 0) throw new GuestInputError("empty key");
            const guestKey = withoutByteOrderMark(view);
            subject = namespace.crdtKey(guestKey);
            inNamespace = subject !== guestKey;
            // Ops bound their key as guests do (op-codec.ts MAX_KEY_BYTES): a namespace's prefix
            // counts, or the op would be one no replica decodes, the node's own op-log included.
            if (subject.length > KEY_BYTES_MAX) {
              throw new GuestInputError(
                `key is longer than ${KEY_BYTES_MAX} bytes with its namespace's prefix`,
              );
            }
            key = keyTextOf(subject);
          }
          if (policy?.allowsKey(name, capability, subject, inNamespace) === false) return ERR_INTERNAL;
          memo.remember(memory, keyPtr, keyLen, key, namespace, policy);
        }
        let result: number;
        try {
          result = forward(host, memory, key, c, d, e, f, g, h, i);
        } catch (error) {
          if (!(error instanceof OpTooLargeError)) throw error;
          ctx.logRefusal(name, error);
          return ERR_OP_TOO_LARGE;
        }
        if (makesOp && meteredCallActed(result) && env.usage !== undefined) env.usage.ops++;
        return result;
      } catch (error) {
        return ctx.caught(name, error);
      }
    };
    return synced as unknown as (keyPtr: number, keyLen: number, ...args: A) => number;
  }

  return {
    crdt_gcounter_inc: sync("crdt_gcounter_inc", "gcounter", (host, _memory, key: string, delta: bigint) => {
      host.gcounterInc(key, deltaOf(delta));
      return OK;
    }),
    crdt_gcounter_value: sync(
      "crdt_gcounter_value",
      "gcounter",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        return writeU64(views.data(), out, outCap >>> 0, clamp(host.gcounterValue(key), 0n, U64_MAX), false);
      },
    ),
    crdt_pncounter_inc: sync(
      "crdt_pncounter_inc",
      "pncounter",
      (host, _memory, key: string, delta: bigint) => {
        host.pncounterInc(key, deltaOf(delta));
        return OK;
      },
    ),
    crdt_pncounter_dec: sync(
      "crdt_pncounter_dec",
      "pncounter",
      (host, _memory, key: string, delta: bigint) => {
        host.pncounterDec(key, deltaOf(delta));
        return OK;
      },
    ),
    crdt_pncounter_value: sync(
      "crdt_pncounter_value",
      "pncounter",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        return writeU64(
          views.data(),
          out,
          outCap >>> 0,
          clamp(host.pncounterValue(key), I64_MIN, I64_MAX),
          true,
        );
      },
    ),
    crdt_lww_set: sync(
      "crdt_lww_set",
      "lww-register",
      (host, memory, key: string, valPtr: number, valLen: number) => {
        host.lwwSet(key, inputView(memory, valPtr, valLen, VALUE_BYTES_MAX));
        return OK;
      },
    ),
    crdt_lww_get: sync(
      "crdt_lww_get",
      "lww-register",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        const value = host.lwwGet(key);
        return value === undefined
          ? ERR_NOT_FOUND
          : writeBytes(memory, views.data(), out, outCap >>> 0, value);
      },
    ),
    crdt_lww_map_set: sync(
      "crdt_lww_map_set",
      "lww-map",
      (host, memory, key: string, fieldPtr: number, fieldLen: number, valPtr: number, valLen: number) => {
        const field = inputView(memory, fieldPtr, fieldLen, KEY_BYTES_MAX);
        host.lwwMapSet(key, field, inputView(memory, valPtr, valLen, VALUE_BYTES_MAX));
        return OK;
      },
    ),
    crdt_lww_map_remove: sync(
      "crdt_lww_map_remove",
      "lww-map",
      (host, memory, key: string, fieldPtr: number, fieldLen: number) => {
        host.lwwMapRemove(key, inputView(memory, fieldPtr, fieldLen, KEY_BYTES_MAX));
        return OK;
      },
    ),
    crdt_lww_map_get: sync(
      "crdt_lww_map_get",
      "lww-map",
      (host, memory, key: string, fieldPtr: number, fieldLen: number, outPtr: number, outCap: number) => {
        const field = inputCopy(memory, fieldPtr, fieldLen, KEY_BYTES_MAX);
        const out = outputPointer(memory, outPtr, outCap);
        const value = host.lwwMapGet(key, field);
        return value === undefined
          ? ERR_NOT_FOUND
          : writeBytes(memory, views.data(), out, outCap >>> 0, value);
      },
    ),
    crdt_lww_map_contains: sync(
      "crdt_lww_map_contains",
      "lww-map",
      (host, memory, key: string, fieldPtr: number, fieldLen: number) => {
        return host.lwwMapGet(key, inputCopy(memory, fieldPtr, fieldLen, KEY_BYTES_MAX)) === undefined
          ? 0
          : 1;
      },
    ),
    crdt_lww_map_entries: sync(
      "crdt_lww_map_entries",
      "lww-map",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        return writeRecords(memory, views.data(), out, outCap >>> 0, host.lwwMapEntries(key), "interleaved");
      },
    ),
    crdt_orset_add: sync(
      "crdt_orset_add",
      "orset",
      (host, memory, key: string, elemPtr: number, elemLen: number) => {
        host.orsetAdd(key, inputCopy(memory, elemPtr, elemLen, VALUE_BYTES_MAX));
        return OK;
      },
    ),
    crdt_orset_remove: sync(
      "crdt_orset_remove",
      "orset",
      (host, memory, key: string, elemPtr: number, elemLen: number) => {
        host.orsetRemove(key, inputCopy(memory, elemPtr, elemLen, VALUE_BYTES_MAX));
        return OK;
      },
    ),
    crdt_orset_contains: sync(
      "crdt_orset_contains",
      "orset",
      (host, memory, key: string, elemPtr: number, elemLen: number) => {
        return host.orsetContains(key, inputCopy(memory, elemPtr, elemLen, VALUE_BYTES_MAX)) ? 1 : 0;
      },
    ),
    crdt_orset_elements: sync(
      "crdt_orset_elements",
      "orset",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        return writeRecords(memory, views.data(), out, outCap >>> 0, host.orsetElements(key), "interleaved");
      },
    ),
    crdt_rga_insert: sync(
      "crdt_rga_insert",
      "rga",
      (
        host,
        memory,
        key: string,
        parentPtr: number,
        parentLen: number,
        valPtr: number,
        valLen: number,
        outIdPtr: number,
        outIdCap: number,
      ) => {
        const parentBytes = inputCopy(memory, parentPtr, parentLen, KEY_BYTES_MAX);
        const parent = parentBytes.length === 0 ? undefined : parentBytes;
        const value = inputCopy(memory, valPtr, valLen, VALUE_BYTES_MAX);
        const out = outputPointer(memory, outIdPtr, outIdCap);
        const pending = pendingRgaId;
        pendingRgaId = undefined;
        const retried =
          pending !== undefined &&
          pending.key === key &&
          sameBytes(pending.parent, parent) &&
          sameBytes(pending.value, value);
        const id = retried ? pending.id : host.rgaInsert(key, parent, value);
        if (id === undefined) return ERR_NOT_FOUND;
        const written = writeBytes(memory, views.data(), out, outIdCap >>> 0, id);
        if (written === ERR_BUFFER_TOO_SMALL) pendingRgaId = { key, parent, value, id };
        return written;
      },
    ),
    crdt_rga_delete: sync(
      "crdt_rga_delete",
      "rga",
      (host, memory, key: string, idPtr: number, idLen: number) => {
        const id = inputCopy(memory, idPtr, idLen, KEY_BYTES_MAX);
        if (id.length === 0) throw new GuestInputError("empty RGA id");
        return host.rgaDelete(key, id) ? OK : ERR_NOT_FOUND;
      },
    ),
    crdt_rga_values: sync(
      "crdt_rga_values",
      "rga",
      (host, memory, key: string, outPtr: number, outCap: number) => {
        const out = outputPointer(memory, outPtr, outCap);
        return writeRecords(memory, views.data(), out, outCap >>> 0, host.rgaValues(key), "interleaved");
      },
    ),
  };
}
