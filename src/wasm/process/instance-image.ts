import type { GuestMemoryRef } from "../abi/guest-memory.ts";
import { MEMORY_WRITTEN_EXPORT } from "../guest-exports.ts";
import {
  POOLABLE_MARKER_EXPORT,
  RESET_GLOBAL_EXPORT_PREFIX,
  RESET_TABLE_EXPORT_PREFIX,
} from "../instrument-module.ts";
import type { StartImage } from "./start-image.ts";

/**
 * The state of an instance at instantiation (before its start function): linear memory, mutable
 * globals and tables. Restoring it makes a used instance indistinguishable from a fresh one, so
 * an instance pool can hand it to the next process instead of instantiating again. For a module
 * whose start function calls no import, the state that start function leaves instead
 * (start-image.ts): restoring it stands for instantiating and running the start function.
 *
 * It relies on the reset exports the instrumenter adds (instrument-module.ts): without the
 * {@link POOLABLE_MARKER_EXPORT} marker (a module whose reset could not be exact) or with a global
 * JavaScript cannot read or write (v128), there is no image and instances are not reused.
 */

/** Memory is compared and copied in chunks of this size, so pages a life never touched stay untouched. */
const CHUNK_BYTES = 4096;
/**
 * A memory this small is copied back whole: one copy of 64 KiB takes less time than comparing
 * its 16 chunks one call at a time (1.5 µs against 2.6 µs, bench of the serve figures), and
 * keeping untouched pages untouched saves nothing worth having at this size.
 */
const WHOLE_COPY_BYTES_MAX = 64 * 1024;

type Compare = (
  this: Uint8Array,
  target: Uint8Array,
  targetStart: number,
  targetEnd: number,
  sourceStart: number,
  sourceEnd: number,
) => number;
const compareRange = Buffer.prototype.compare as unknown as Compare;

interface GlobalEntry {
  readonly global: WebAssembly.Global;
  readonly value: unknown;
}

interface TableEntry {
  readonly table: WebAssembly.Table;
  readonly entries: readonly unknown[];
}

export class InstanceImage {
  readonly #memory: WebAssembly.Memory;
  /** A view of the memory, made at the first restore (a parked process may never need one). */
  #live: Uint8Array | undefined;
  /** What the host functions reach the memory through: says whether they touched it. */
  readonly #memoryRef: GuestMemoryRef;
  /** The instrumenter's memory-written marker (1: guest code that can write memory ran). */
  readonly #memoryWritten: WebAssembly.Global | undefined;
  readonly #memoryImage: Uint8Array;
  readonly #globals: readonly GlobalEntry[];
  readonly #tables: readonly TableEntry[];

  private constructor(
    memory: WebAssembly.Memory,
    memoryRef: GuestMemoryRef,
    memoryWritten: WebAssembly.Global | undefined,
    memoryImage: Uint8Array,
    globals: GlobalEntry[],
    tables: TableEntry[],
  ) {
    this.#memory = memory;
    this.#memoryRef = memoryRef;
    this.#memoryWritten = memoryWritten;
    this.#memoryImage = memoryImage;
    this.#globals = globals;
    this.#tables = tables;
  }

  /**
   * Captures `instance` as it is now (call right after instantiation). `memoryImage` is the
   * module's initial memory when another instance of it already provided one (it is the same
   * for every instance: the data segments); undefined copies this instance's. `started`: the
   * module's start image, whose memory and global values are taken instead of this instance's
   * (its tables are the instance's own: the start function left them as they were). Undefined
   * when the instance cannot be reset exactly. `memoryRef` is the one every host import of the
   * instance reaches the memory through.
   */
  static capture(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    memoryRef: GuestMemoryRef,
    memoryImage: Uint8Array | undefined,
    started?: StartImage,
  ): InstanceImage | undefined {
    const exports = instance.exports;
    if (exports[POOLABLE_MARKER_EXPORT] === undefined) return undefined;
    const globals: GlobalEntry[] = [];
    const tables: TableEntry[] = [];
    for (const [name, value] of Object.entries(exports)) {
      if (name.startsWith(RESET_GLOBAL_EXPORT_PREFIX)) {
        const global = value as WebAssembly.Global;
        let initial: unknown;
        try {
          initial = started === undefined ? global.value : started.globals.get(name);
        } catch {
          return undefined; // a v128 global: JavaScript cannot read or restore it
        }
        try {
          global.value = initial; // throws for an immutable global, which needs no restoring
          globals.push({ global, value: initial });
        } catch {}
      } else if (name.startsWith(RESET_TABLE_EXPORT_PREFIX)) {
        const table = value as WebAssembly.Table;
        const entries: unknown[] = [];
        for (let i = 0; i < table.length; i++) entries.push(table.get(i));
        tables.push({ table, entries });
      }
    }
    const live = new Uint8Array(memory.buffer);
    const written = exports[MEMORY_WRITTEN_EXPORT] as WebAssembly.Global | undefined;
    if (started !== undefined) {
      return started.memory.length === live.length
        ? new InstanceImage(memory, memoryRef, written, started.memory, globals, tables)
        : undefined;
    }
    const image =
      memoryImage !== undefined && memoryImage.length === live.length ? memoryImage : live.slice();
    return new InstanceImage(memory, memoryRef, written, image, globals, tables);
  }

  /** The initial memory, to share with the next instance of the same module. */
  get memoryImage(): Uint8Array {
    return this.#memoryImage;
  }

  /**
   * Puts the instance back into its captured state. False when that is impossible (its memory
   * or a table grew, which cannot be undone): the instance must then be dropped.
   */
  restore(): boolean {
    const image = this.#memoryImage;
    // A view made once per buffer: the buffer changes only when the memory grows.
    let live = this.#live;
    if (live?.buffer !== this.#memory.buffer) live = this.#live = new Uint8Array(this.#memory.buffer);
    if (live.length !== image.length) return false;
    for (const { table, entries } of this.#tables) if (table.length !== entries.length) return false;
    const written = this.#memoryWritten;
    // Without the marker (only poolable modules have one) every life counts as writing.
    if (written === undefined || written.value !== 0 || this.#memoryRef.hostAccessed !== false) {
      if (image.length <= WHOLE_COPY_BYTES_MAX) {
        live.set(image);
      } else {
        for (let at = 0; at < image.length; at += CHUNK_BYTES) {
          const end = Math.min(at + CHUNK_BYTES, image.length);
          if (compareRange.call(live, image, at, end, at, end) !== 0) live.set(image.subarray(at, end), at);
        }
      }
      if (written !== undefined) written.value = 0;
      this.#memoryRef.hostAccessed = false;
    }
    for (const { global, value } of this.#globals) global.value = value;
    for (const { table, entries } of this.#tables) {
      for (let i = 0; i < entries.length; i++) if (table.get(i) !== entries[i]) table.set(i, entries[i]);
    }
    return true;
  }
}
