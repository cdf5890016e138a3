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
  readonly #memoryImage: Uint8Array;
  readonly #globals: readonly GlobalEntry[];
  readonly #tables: readonly TableEntry[];

  private constructor(
    memory: WebAssembly.Memory,
    memoryImage: Uint8Array,
    globals: GlobalEntry[],
    tables: TableEntry[],
  ) {
    this.#memory = memory;
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
   * when the instance cannot be reset exactly.
   */
  static capture(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
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
    if (started !== undefined) {
      return started.memory.length === live.length
        ? new InstanceImage(memory, started.memory, globals, tables)
        : undefined;
    }
    const image =
      memoryImage !== undefined && memoryImage.length === live.length ? memoryImage : live.slice();
    return new InstanceImage(memory, image, globals, tables);
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
    const live = new Uint8Array(this.#memory.buffer);
    if (live.length !== image.length) return false;
    for (const { table, entries } of this.#tables) if (table.length !== entries.length) return false;
    if (image.length <= WHOLE_COPY_BYTES_MAX) {
      live.set(image);
    } else {
      for (let at = 0; at < image.length; at += CHUNK_BYTES) {
        const end = Math.min(at + CHUNK_BYTES, image.length);
        if (compareRange.call(live, image, at, end, at, end) !== 0) live.set(image.subarray(at, end), at);
      }
    }
    for (const { global, value } of this.#globals) global.value = value;
    for (const { table, entries } of this.#tables) {
      for (let i = 0; i < entries.length; i++) if (table.get(i) !== entries[i]) table.set(i, entries[i]);
    }
    return true;
  }
}
