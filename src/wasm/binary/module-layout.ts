import { WasmReader } from "./wasm-reader.ts";

/**
 * The index spaces and sections of a module, read without looking at code: what the
 * instrumenter needs to append a table, a global, a type and exports without shifting any
 * existing index, and what the loader needs to check `run` and `memory`.
 *
 * Understands the type section of the GC proposal (rec groups, sub types, struct and array
 * types) well enough to count types; function types keep their arity.
 */

export const SECTION_CUSTOM = 0;
export const SECTION_TYPE = 1;
export const SECTION_IMPORT = 2;
export const SECTION_FUNCTION = 3;
export const SECTION_TABLE = 4;
export const SECTION_MEMORY = 5;
export const SECTION_GLOBAL = 6;
export const SECTION_EXPORT = 7;
export const SECTION_START = 8;
export const SECTION_ELEMENT = 9;
export const SECTION_CODE = 10;
export const SECTION_DATA = 11;
export const SECTION_DATA_COUNT = 12;
export const SECTION_TAG = 13;

/** Where each non-custom section sits in a module: the tag section comes between memory and global. */
export const SECTION_ORDER: readonly number[] = [
  SECTION_TYPE,
  SECTION_IMPORT,
  SECTION_FUNCTION,
  SECTION_TABLE,
  SECTION_MEMORY,
  SECTION_TAG,
  SECTION_GLOBAL,
  SECTION_EXPORT,
  SECTION_START,
  SECTION_ELEMENT,
  SECTION_DATA_COUNT,
  SECTION_CODE,
  SECTION_DATA,
];

export const EXPORT_FUNCTION = 0x00;
export const EXPORT_TABLE = 0x01;
export const EXPORT_MEMORY = 0x02;
export const EXPORT_GLOBAL = 0x03;

export const WASM_PAGE_BYTES = 65_536;

export interface Section {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly headerStart: number;
  /** Content range (after the size field). */
  readonly start: number;
  readonly end: number;
}

/** A type of the type section; only function types carry their arity. */
export type TypeEntry =
  | {
      readonly kind: "function";
      readonly paramCount: number;
      readonly resultCount: number;
      /** Whether every parameter is an i32 (what the runtime's callbacks take). */
      readonly paramsAllI32: boolean;
    }
  | { readonly kind: "other" };

const I32_TYPE_CODE = 0x7f;

export interface MemoryLimits {
  /** Limits flags byte: bit 0 has maximum, bit 1 shared, bit 2 64-bit addresses. */
  readonly flags: number;
  /** In 64 KiB pages. */
  readonly initialPages: bigint;
  readonly maximumPages: bigint | undefined;
}

export interface ExportEntry {
  readonly name: string;
  readonly kind: number;
  readonly index: number;
}

export interface ModuleLayout {
  readonly sections: readonly Section[];
  readonly types: readonly TypeEntry[];
  /** Type index of each imported function, in function-index order. */
  readonly importedFunctionTypes: readonly number[];
  readonly importedTableCount: number;
  readonly importedMemoryCount: number;
  readonly importedGlobalCount: number;
  /** Type index of each function the module defines, in function-index order. */
  readonly definedFunctionTypes: readonly number[];
  readonly definedTableCount: number;
  readonly definedGlobalCount: number;
  readonly definedMemories: readonly MemoryLimits[];
  readonly exports: readonly ExportEntry[];
  readonly startFunction: number | undefined;
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** True when `bytes` start with the WebAssembly magic number and version 1. */
export function hasWasmMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC_AND_VERSION.length) return false;
  return MAGIC_AND_VERSION.every((b, i) => bytes[i] === b);
}

export function readSections(bytes: Uint8Array): Section[] {
  const reader = new WasmReader(bytes, MAGIC_AND_VERSION.length);
  if (!hasWasmMagic(bytes)) reader.fail("not a WebAssembly module");
  const sections: Section[] = [];
  while (reader.remaining > 0) {
    const headerStart = reader.offset;
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.offset;
    reader.skip(size);
    sections.push({ id, headerStart, start, end: start + size });
  }
  return sections;
}

/** Heap types are s33: negative one-byte forms are abstract types, others a type index. */
function skipHeapType(reader: WasmReader): void {
  reader.skipLeb(5);
}

export function skipValueType(reader: WasmReader): void {
  const code = reader.byte();
  if (code >= 0x7b && code <= 0x7f) return; // i32 i64 f32 f64 v128
  if (code === 0x63 || code === 0x64) {
    skipHeapType(reader); // (ref null ht) / (ref ht)
    return;
  }
  if (code >= 0x69 && code <= 0x74) return; // abstract reference shorthands: funcref, externref, anyref ...
  reader.offset--;
  reader.fail(`unknown value type 0x${code.toString(16)}`);
}

function skipStorageType(reader: WasmReader): void {
  const code = reader.peek();
  if (code === 0x78 || code === 0x77) {
    reader.byte(); // i8 / i16 packed
    return;
  }
  skipValueType(reader);
}

function readCompositeType(reader: WasmReader): TypeEntry {
  const form = reader.byte();
  switch (form) {
    case 0x60: {
      const paramCount = reader.count();
      let paramsAllI32 = true;
      for (let i = 0; i < paramCount; i++) {
        if (reader.peek() !== I32_TYPE_CODE) paramsAllI32 = false;
        skipValueType(reader);
      }
      const resultCount = reader.count();
      for (let i = 0; i < resultCount; i++) skipValueType(reader);
      return { kind: "function", paramCount, resultCount, paramsAllI32 };
    }
    case 0x5f: {
      const fields = reader.count();
      for (let i = 0; i < fields; i++) {
        skipStorageType(reader);
        reader.byte(); // mutability
      }
      return { kind: "other" };
    }
    case 0x5e:
      skipStorageType(reader);
      reader.byte();
      return { kind: "other" };
    default:
      reader.offset--;
      return reader.fail(`unknown type form 0x${form.toString(16)}`);
  }
}

function readSubType(reader: WasmReader): TypeEntry {
  const code = reader.peek();
  if (code === 0x50 || code === 0x4f) {
    reader.byte(); // sub / sub final
    const supertypes = reader.count();
    for (let i = 0; i < supertypes; i++) reader.u32();
  }
  return readCompositeType(reader);
}

function readTypes(reader: WasmReader): TypeEntry[] {
  const types: TypeEntry[] = [];
  const groups = reader.count();
  for (let g = 0; g < groups; g++) {
    if (reader.peek() === 0x4e) {
      reader.byte();
      const members = reader.count();
      for (let i = 0; i < members; i++) types.push(readSubType(reader));
    } else {
      types.push(readSubType(reader));
    }
  }
  return types;
}

export function readLimits(reader: WasmReader): MemoryLimits {
  const flags = reader.byte();
  if (flags > 0x07) reader.fail(`unsupported limits flags 0x${flags.toString(16)}`);
  const is64 = (flags & 0x04) !== 0;
  const initialPages = is64 ? reader.u64() : BigInt(reader.u32());
  const maximumPages = (flags & 0x01) === 0 ? undefined : is64 ? reader.u64() : BigInt(reader.u32());
  return { flags, initialPages, maximumPages };
}

function skipTableType(reader: WasmReader): void {
  skipValueType(reader);
  readLimits(reader);
}

function readExportEntries(reader: WasmReader): ExportEntry[] {
  const entries: ExportEntry[] = [];
  const n = reader.count();
  for (let i = 0; i < n; i++) {
    const name = reader.name();
    const kind = reader.byte();
    entries.push({ name, kind, index: reader.u32() });
  }
  return entries;
}

/** Reads the layout of a module that already passed `WebAssembly.validate`. */
export function readModuleLayout(bytes: Uint8Array): ModuleLayout {
  const sections = readSections(bytes);
  let types: TypeEntry[] = [];
  const importedFunctionTypes: number[] = [];
  let importedTableCount = 0;
  let importedMemoryCount = 0;
  let importedGlobalCount = 0;
  const definedFunctionTypes: number[] = [];
  let definedTableCount = 0;
  let definedGlobalCount = 0;
  const definedMemories: MemoryLimits[] = [];
  const exports: ExportEntry[] = [];
  let startFunction: number | undefined;

  for (const section of sections) {
    const reader = new WasmReader(bytes, section.start, section.end);
    switch (section.id) {
      case SECTION_TYPE:
        types = readTypes(reader);
        break;
      case SECTION_IMPORT: {
        const n = reader.count();
        for (let i = 0; i < n; i++) {
          reader.name();
          reader.name();
          const kind = reader.byte();
          if (kind === 0x00) {
            importedFunctionTypes.push(reader.u32());
          } else if (kind === 0x01) {
            skipTableType(reader);
            importedTableCount++;
          } else if (kind === 0x02) {
            readLimits(reader);
            importedMemoryCount++;
          } else if (kind === 0x03) {
            skipValueType(reader);
            reader.byte();
            importedGlobalCount++;
          } else if (kind === 0x04) {
            reader.byte();
            reader.u32();
          } else {
            reader.fail(`unknown import kind 0x${kind.toString(16)}`);
          }
        }
        break;
      }
      case SECTION_FUNCTION: {
        const n = reader.count();
        for (let i = 0; i < n; i++) definedFunctionTypes.push(reader.u32());
        break;
      }
      case SECTION_TABLE:
        definedTableCount = reader.count();
        break;
      case SECTION_MEMORY: {
        const n = reader.count();
        for (let i = 0; i < n; i++) definedMemories.push(readLimits(reader));
        break;
      }
      case SECTION_GLOBAL:
        definedGlobalCount = reader.count();
        break;
      case SECTION_EXPORT:
        exports.push(...readExportEntries(reader));
        break;
      case SECTION_START:
        startFunction = reader.u32();
        break;
      default:
        break;
    }
  }
  return {
    sections,
    types,
    importedFunctionTypes,
    importedTableCount,
    importedMemoryCount,
    importedGlobalCount,
    definedFunctionTypes,
    definedTableCount,
    definedGlobalCount,
    definedMemories,
    exports,
    startFunction,
  };
}

/** The arity of function `index` (imports first), when its type is a function type. */
export function functionTypeOf(
  layout: ModuleLayout,
  index: number,
): { paramCount: number; resultCount: number; paramsAllI32: boolean } | undefined {
  const imported = layout.importedFunctionTypes.length;
  const typeIndex =
    index < imported ? layout.importedFunctionTypes[index] : layout.definedFunctionTypes[index - imported];
  const type = typeIndex === undefined ? undefined : layout.types[typeIndex];
  return type?.kind === "function" ? type : undefined;
}
