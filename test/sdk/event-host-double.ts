/**
 * A stand-in for the node's side of the event model (docs/design/event-model.md), in process:
 * it answers the host calls a reactive guest makes (event data with the -2 retry, tick_every,
 * msg_*, the few store and system calls the test guests use, WASI fd_write) and calls the
 * callbacks as the node would, with the lengths the contract passes. It checks the guest side
 * (SDK and probes) against the contract without the runtime; the runtime's own end-to-end tests
 * check the node side.
 */
import { WASI_MODULE } from "../../src/wasm/abi/wasi-signatures.ts";
import { wasm } from "./guest-files.ts";

const NX_ERR_NOT_FOUND = -1;
const NX_ERR_BUFFER_TOO_SMALL = -2;
const NX_ERR_INTERNAL = -3;
const NX_ERR_SYNC_DISABLED = -5;
const TICK_INTERVAL_MIN_MS = 10;

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string; kind: string }[];
  };
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
const api = wasm as unknown as WasmApi;

/** The data of the event being delivered; undefined fields answer -1. */
export interface EventData {
  subject?: string | Uint8Array;
  payload?: string | Uint8Array;
  origin?: string;
}

export interface HostDoubleOptions {
  env?: Record<string, string>;
  /** NodeId answered by net_node_id; undefined: a node without sync (-5). */
  nodeId?: string;
  /** Codes forced on host calls, e.g. `{ tick_every: -1 }`. */
  answers?: Record<string, number>;
  /** RGA sequences by key (head first), shared between doubles to stand for a store that persists. */
  rgas?: Map<string, RgaElement[]>;
}

export interface RgaElement {
  readonly id: Uint8Array;
  readonly value: string;
}

/** A guest thrown out by `nx.abort`, with its message. */
export class GuestAborted extends Error {}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? utf8.encode(value) : value;
}

export class EventHostDouble {
  readonly stdout: string[] = [];
  readonly tickPeriods: number[] = [];
  readonly subscriptions: string[] = [];
  readonly published: { topic: string; payload: string }[] = [];
  readonly counters = new Map<string, bigint>();
  readonly rgas: Map<string, RgaElement[]>;
  #nextRgaId = 0;
  /** Host calls that answered -2 (the guest then retries with a larger buffer). */
  readonly tooSmall: string[] = [];
  #event: EventData | undefined;
  #stdoutTail = "";
  readonly #exports: Record<string, unknown>;
  readonly #options: HostDoubleOptions;

  constructor(bytes: Uint8Array, options: HostDoubleOptions = {}) {
    this.#options = options;
    this.rgas = options.rgas ?? new Map();
    const module = new api.Module(bytes);
    const provided: Record<string, Record<string, unknown>> = { nx: this.#nx(), [WASI_MODULE]: this.#wasi() };
    const imports: Record<string, Record<string, unknown>> = {};
    for (const entry of api.Module.imports(module)) {
      const fn = provided[entry.module]?.[entry.name];
      if (fn === undefined) throw new Error(`the host double does not provide ${entry.module}.${entry.name}`);
      imports[entry.module] = { ...imports[entry.module], [entry.name]: fn };
    }
    this.#exports = new api.Instance(module, imports).exports;
  }

  /** Calls the callback `name` with the lengths the contract passes, with `event` readable during the call. */
  deliver(name: string, event: EventData = {}, family?: number): void {
    const callback = this.#exports[name];
    if (typeof callback !== "function") throw new Error(`the guest exports no ${name}`);
    const length = (value: string | Uint8Array | undefined) =>
      value === undefined ? 0 : bytesOf(value).length;
    const args =
      name === "on_remote_op"
        ? [length(event.subject), family ?? 0]
        : name === "on_message"
          ? [length(event.subject), length(event.payload)]
          : name.startsWith("on_peer_")
            ? [length(event.subject)]
            : [];
    this.#event = event;
    try {
      callback(...args);
    } finally {
      this.#event = undefined;
    }
  }

  #memory(): Uint8Array {
    return new Uint8Array((this.#exports.memory as { buffer: ArrayBuffer }).buffer);
  }

  #text(ptr: number, len: number): string {
    return fromUtf8.decode(this.#memory().subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
  }

  /** Writes `value` at (out, cap) as the ABI does: its length, or -2 and the size needed. */
  #write(call: string, value: string | Uint8Array | undefined, out: number, cap: number): number {
    if (value === undefined) return NX_ERR_NOT_FOUND;
    const bytes = bytesOf(value);
    const memory = this.#memory();
    if (bytes.length > cap) {
      this.tooSmall.push(call);
      if (cap >= 4) new DataView(memory.buffer).setUint32(out, bytes.length, true);
      return NX_ERR_BUFFER_TOO_SMALL;
    }
    memory.set(bytes, out >>> 0);
    return bytes.length;
  }

  #answer(call: string, otherwise: () => number): number {
    return this.#options.answers?.[call] ?? otherwise();
  }

  #nx(): Record<string, unknown> {
    return {
      event_subject: (out: number, cap: number) =>
        this.#answer("event_subject", () => this.#write("event_subject", this.#event?.subject, out, cap)),
      event_payload: (out: number, cap: number) =>
        this.#answer("event_payload", () => this.#write("event_payload", this.#event?.payload, out, cap)),
      event_origin: (out: number, cap: number) =>
        this.#answer("event_origin", () => this.#write("event_origin", this.#event?.origin, out, cap)),
      tick_every: (ms: number) =>
        this.#answer("tick_every", () => {
          if (ms !== 0 && ms < TICK_INTERVAL_MIN_MS) return NX_ERR_INTERNAL;
          this.tickPeriods.push(ms);
          return 0;
        }),
      msg_subscribe: (ptr: number, len: number) =>
        this.#answer("msg_subscribe", () => {
          this.subscriptions.push(this.#text(ptr, len));
          return 0;
        }),
      msg_unsubscribe: (ptr: number, len: number) =>
        this.#answer("msg_unsubscribe", () => {
          const at = this.subscriptions.indexOf(this.#text(ptr, len));
          if (at < 0) return NX_ERR_NOT_FOUND;
          this.subscriptions.splice(at, 1);
          return 0;
        }),
      msg_publish: (topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number) =>
        this.#answer("msg_publish", () => {
          this.published.push({
            topic: this.#text(topicPtr, topicLen),
            payload: this.#text(payloadPtr, payloadLen),
          });
          return 0;
        }),
      env_get: (namePtr: number, nameLen: number, out: number, cap: number) => {
        const name = this.#text(namePtr, nameLen);
        const visible = /^(NX|NUMAX)_/.test(name) ? this.#options.env?.[name] : undefined;
        return this.#write("env_get", visible, out, cap);
      },
      net_node_id: (out: number, cap: number) =>
        this.#options.nodeId === undefined
          ? NX_ERR_SYNC_DISABLED
          : this.#write("net_node_id", this.#options.nodeId, out, cap),
      crdt_gcounter_inc: (keyPtr: number, keyLen: number, delta: bigint) => {
        if (this.#options.nodeId === undefined) return NX_ERR_SYNC_DISABLED;
        const key = this.#text(keyPtr, keyLen);
        this.counters.set(key, (this.counters.get(key) ?? 0n) + delta);
        return 0;
      },
      crdt_rga_insert: (
        keyPtr: number,
        keyLen: number,
        parentPtr: number,
        parentLen: number,
        valuePtr: number,
        valueLen: number,
        out: number,
        cap: number,
      ) => {
        const elements = this.rgas.get(this.#text(keyPtr, keyLen)) ?? [];
        this.rgas.set(this.#text(keyPtr, keyLen), elements);
        const parent = this.#memory().slice(parentPtr, parentPtr + parentLen);
        const at = parentLen === 0 ? 0 : elements.findIndex((e) => Buffer.from(e.id).equals(parent)) + 1;
        if (at === 0 && parentLen !== 0) return NX_ERR_NOT_FOUND;
        const id = new Uint8Array(new BigUint64Array([BigInt(++this.#nextRgaId)]).buffer);
        elements.splice(at, 0, { id, value: this.#text(valuePtr, valueLen) });
        return this.#write("crdt_rga_insert", id, out, cap);
      },
      crdt_rga_values: (keyPtr: number, keyLen: number, out: number, cap: number) => {
        // u32 count, then per value u32 length and its bytes.
        const values = (this.rgas.get(this.#text(keyPtr, keyLen)) ?? []).map((e) => utf8.encode(e.value));
        const encoded = Buffer.alloc(4 + values.reduce((sum, v) => sum + 4 + v.length, 0));
        let at = encoded.writeUInt32LE(values.length, 0);
        for (const value of values) {
          at = encoded.writeUInt32LE(value.length, at);
          at += Buffer.from(value).copy(encoded, at);
        }
        return this.#write("crdt_rga_values", encoded, out, cap);
      },
      host_log_v2: () => {},
      abort: (ptr: number, len: number) => {
        throw new GuestAborted(this.#text(ptr, len));
      },
    };
  }

  #wasi(): Record<string, unknown> {
    return {
      fd_write: (fd: number, iovs: number, count: number, written: number) => {
        const memory = this.#memory();
        const view = new DataView(memory.buffer);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < count; i++) {
          const ptr = view.getUint32(iovs + 8 * i, true);
          parts.push(memory.slice(ptr, ptr + view.getUint32(iovs + 8 * i + 4, true)));
        }
        const bytes = Buffer.concat(parts);
        view.setUint32(written, bytes.length, true);
        if (fd === 1) {
          const lines = (this.#stdoutTail + fromUtf8.decode(bytes)).split("\n");
          this.#stdoutTail = lines.pop() ?? "";
          this.stdout.push(...lines);
        }
        return 0;
      },
    };
  }
}
