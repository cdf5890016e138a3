import { NumaxError } from "../../errors/numax-error.ts";

/**
 * The guest's linear memory, as the runtime sets it after instantiation. `memory.grow` detaches
 * old ArrayBuffers, so host functions must never keep a view across calls without checking.
 */
export interface GuestMemoryRef {
  memory: GuestLinearMemory | undefined;
  /**
   * Set by every host access to the memory ({@link GuestMemoryViews}), reads included: an
   * instance pool clears it at each reset, and a life in which neither the host touched the
   * memory nor the guest ran code that writes it (MEMORY_WRITTEN_EXPORT) needs no memory copy.
   */
  hostAccessed?: boolean;
}

/**
 * The part of `WebAssembly.Memory` the host functions use (the project's TypeScript libs do not
 * declare the WebAssembly namespace; a real `WebAssembly.Memory` fits this shape).
 */
export interface GuestLinearMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** Thrown (and turned into -3 / EIO by the caller) when a host function runs before the runtime set the memory. */
export class GuestMemoryUnsetError extends NumaxError {
  constructor() {
    super(
      "GUEST_MEMORY_UNSET",
      "guest memory is not set (host function called before instantiation finished)",
    );
  }
}

/**
 * Cached views over the guest's current memory buffer, re-created only when it changed, so hot
 * host functions allocate nothing to reach guest bytes.
 *
 * Reading `memory.buffer` costs more than the rest of a small host call, so the cache is checked
 * without it: `memory.grow` detaches the old buffer (its views' length drops to 0) and the runtime
 * swapping the memory changes `ref.memory`. A shared memory's buffer does not detach on growth,
 * so for one the buffer is re-read on every call.
 */
export class GuestMemoryViews {
  readonly #ref: GuestMemoryRef;
  #memory: GuestLinearMemory | undefined;
  #shared = false;
  #bytes: Uint8Array = new Uint8Array(0);
  #data: DataView = new DataView(new ArrayBuffer(0));

  constructor(ref: GuestMemoryRef) {
    this.#ref = ref;
  }

  /** The guest's memory as bytes; call once per host call, before any bounds check. */
  bytes(): Uint8Array {
    const ref = this.#ref;
    ref.hostAccessed = true;
    const memory = ref.memory;
    if (memory !== this.#memory || this.#bytes.byteLength === 0 || this.#shared) this.#refresh(memory);
    return this.#bytes;
  }

  /** A DataView of the same buffer the last {@link bytes} call returned. */
  data(): DataView {
    this.#ref.hostAccessed = true;
    return this.#data;
  }

  #refresh(memory: GuestLinearMemory | undefined): void {
    if (memory === undefined) throw new GuestMemoryUnsetError();
    const buffer = memory.buffer;
    if (memory === this.#memory && buffer === this.#bytes.buffer) return;
    this.#memory = memory;
    this.#shared = typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
    this.#bytes = new Uint8Array(buffer);
    this.#data = new DataView(buffer);
  }
}
