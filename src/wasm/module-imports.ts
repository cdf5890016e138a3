import { NumaxError } from "../errors/numax-error.ts";

/**
 * What a WebAssembly module imports, read from its binary without compiling it.
 *
 * A small, strict, pure parser of the type section (1) and the import section (2): it walks the
 * section headers up to the import section and never looks at code. Malformed input raises a
 * {@link ModuleImportsError} naming the byte offset; every length is checked against the bytes
 * left before anything is allocated, so hostile input can neither loop nor over-allocate.
 *
 * Used to pick the declared shape of `nx.host_log_v2` and by the runtime to validate imports.
 *
 * @example
 * for (const entry of readImports(bytes)) {
 *   if (entry.kind === "function") console.log(entry.module, entry.name, entry.type.params);
 * }
 */

export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export type RefType = "funcref" | "externref";

export interface FunctionType {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

export interface Limits {
  readonly minimum: bigint;
  readonly maximum: bigint | undefined;
}

interface ImportBase {
  readonly module: string;
  readonly name: string;
}

export interface FunctionImport extends ImportBase {
  readonly kind: "function";
  readonly typeIndex: number;
  readonly type: FunctionType;
}

export interface TableImport extends ImportBase {
  readonly kind: "table";
  readonly elementType: RefType;
  readonly limits: Limits;
  readonly table64: boolean;
}

/** Limits in 64 KiB pages. */
export interface MemoryImport extends ImportBase {
  readonly kind: "memory";
  readonly limits: Limits;
  readonly shared: boolean;
  readonly memory64: boolean;
}

export interface GlobalImport extends ImportBase {
  readonly kind: "global";
  readonly valueType: ValueType;
  readonly mutable: boolean;
}

export interface TagImport extends ImportBase {
  readonly kind: "tag";
  readonly typeIndex: number;
  readonly type: FunctionType;
}

export type ImportDescriptor = FunctionImport | TableImport | MemoryImport | GlobalImport | TagImport;

/** The bytes are not a WebAssembly module this parser accepts; `offset` is where reading stopped. */
export class ModuleImportsError extends NumaxError {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super("WASM_MALFORMED", `invalid WebAssembly module: ${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

const SECTION_CUSTOM = 0;
const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const FUNC_TYPE_FORM = 0x60;

/** Value types by their binary code. */
export const VALUE_TYPES: ReadonlyMap<number, ValueType> = new Map([
  [0x7f, "i32"],
  [0x7e, "i64"],
  [0x7d, "f32"],
  [0x7c, "f64"],
  [0x7b, "v128"],
  [0x70, "funcref"],
  [0x6f, "externref"],
]);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A bounded cursor over the module bytes; every read checks what is left. */
class ByteReader {
  readonly #bytes: Uint8Array;
  #offset: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, offset: number, end: number) {
    this.#bytes = bytes;
    this.#offset = offset;
    this.#end = end;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  fail(message: string): never {
    throw new ModuleImportsError(message, this.#offset);
  }

  byte(): number {
    if (this.#offset >= this.#end) this.fail("unexpected end of section");
    return this.#bytes[this.#offset++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      if (shift === 28 && b > 0x0f) this.fail("u32 LEB128 out of range");
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("u32 LEB128 too long");
  }

  u64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      if (shift === 63n && b > 0x01) this.fail("u64 LEB128 out of range");
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("u64 LEB128 too long");
  }

  /** A vector length, checked against the bytes left: each element takes at least `minElementBytes`. */
  count(minElementBytes: number): number {
    const n = this.u32();
    if (n * minElementBytes > this.remaining) this.fail(`vector of ${n} elements exceeds the section`);
    return n;
  }

  bytesOf(length: number): Uint8Array {
    if (length > this.remaining) this.fail("length exceeds the section");
    const start = this.#offset;
    this.#offset += length;
    return this.#bytes.subarray(start, start + length);
  }

  name(): string {
    const start = this.#offset;
    const raw = this.bytesOf(this.u32());
    try {
      return utf8.decode(raw);
    } catch {
      throw new ModuleImportsError("name is not valid UTF-8", start);
    }
  }

  skipTo(offset: number): void {
    this.#offset = offset;
  }
}

function readValueType(reader: ByteReader): ValueType {
  const code = reader.byte();
  const type = VALUE_TYPES.get(code);
  if (type === undefined) reader.fail(`unsupported value type 0x${code.toString(16)}`);
  return type;
}

function readRefType(reader: ByteReader): RefType {
  const type = readValueType(reader);
  if (type !== "funcref" && type !== "externref") reader.fail(`expected a reference type, got ${type}`);
  return type;
}

function readTypeSection(reader: ByteReader): FunctionType[] {
  const n = reader.count(3);
  const types: FunctionType[] = [];
  for (let i = 0; i < n; i++) {
    const form = reader.byte();
    if (form !== FUNC_TYPE_FORM) reader.fail(`unsupported type form 0x${form.toString(16)}`);
    const params: ValueType[] = [];
    for (let p = reader.count(1); p > 0; p--) params.push(readValueType(reader));
    const results: ValueType[] = [];
    for (let r = reader.count(1); r > 0; r--) results.push(readValueType(reader));
    types.push({ params, results });
  }
  return types;
}

/** Flags: bit 0 has-maximum, bit 1 shared, bit 2 64-bit index type. */
function readLimits(reader: ByteReader, allowShared: boolean): Limits & { shared: boolean; is64: boolean } {
  const flags = reader.byte();
  if (flags > 0x07 || (!allowShared && (flags & 0x02) !== 0)) {
    reader.fail(`invalid limits flags 0x${flags.toString(16)}`);
  }
  const is64 = (flags & 0x04) !== 0;
  const minimum = is64 ? reader.u64() : BigInt(reader.u32());
  const maximum = (flags & 0x01) === 0 ? undefined : is64 ? reader.u64() : BigInt(reader.u32());
  if (maximum !== undefined && maximum < minimum) reader.fail("limits maximum is below the minimum");
  return { minimum, maximum, shared: (flags & 0x02) !== 0, is64 };
}

function functionTypeAt(reader: ByteReader, types: readonly FunctionType[], index: number): FunctionType {
  const type = types[index];
  if (type === undefined) reader.fail(`type index ${index} out of range (${types.length} types)`);
  return type;
}

function readImportSection(reader: ByteReader, types: readonly FunctionType[]): ImportDescriptor[] {
  // module name, field name, kind and a one-byte descriptor: at least 4 bytes each
  const n = reader.count(4);
  const imports: ImportDescriptor[] = [];
  for (let i = 0; i < n; i++) {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.byte();
    switch (kind) {
      case 0x00: {
        const typeIndex = reader.u32();
        imports.push({
          kind: "function",
          module,
          name,
          typeIndex,
          type: functionTypeAt(reader, types, typeIndex),
        });
        break;
      }
      case 0x01: {
        const elementType = readRefType(reader);
        const { minimum, maximum, is64 } = readLimits(reader, false);
        imports.push({
          kind: "table",
          module,
          name,
          elementType,
          limits: { minimum, maximum },
          table64: is64,
        });
        break;
      }
      case 0x02: {
        const { minimum, maximum, shared, is64 } = readLimits(reader, true);
        if (shared && maximum === undefined) reader.fail("shared memory needs a maximum");
        imports.push({ kind: "memory", module, name, limits: { minimum, maximum }, shared, memory64: is64 });
        break;
      }
      case 0x03: {
        const valueType = readValueType(reader);
        const mutability = reader.byte();
        if (mutability > 1) reader.fail(`invalid global mutability ${mutability}`);
        imports.push({ kind: "global", module, name, valueType, mutable: mutability === 1 });
        break;
      }
      case 0x04: {
        const attribute = reader.byte();
        if (attribute !== 0) reader.fail(`invalid tag attribute ${attribute}`);
        const typeIndex = reader.u32();
        imports.push({
          kind: "tag",
          module,
          name,
          typeIndex,
          type: functionTypeAt(reader, types, typeIndex),
        });
        break;
      }
      default:
        reader.fail(`unknown import kind 0x${kind.toString(16)}`);
    }
  }
  return imports;
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** Every import of `bytes`, in declaration order. Throws {@link ModuleImportsError} on malformed input. */
export function readImports(bytes: Uint8Array): ImportDescriptor[] {
  for (let i = 0; i < MAGIC_AND_VERSION.length; i++) {
    if (bytes[i] !== MAGIC_AND_VERSION[i]) {
      throw new ModuleImportsError(
        i < 4 ? "missing the \\0asm magic number" : "unsupported binary version (expected 1)",
        i,
      );
    }
  }
  const module = new ByteReader(bytes, MAGIC_AND_VERSION.length, bytes.length);
  let types: FunctionType[] = [];
  let lastId = 0;
  while (module.remaining > 0) {
    const id = module.byte();
    const size = module.u32();
    if (size > module.remaining)
      module.fail(`section ${id} of ${size} bytes runs past the end of the module`);
    const start = module.offset;
    const end = start + size;
    if (id !== SECTION_CUSTOM) {
      if (id <= lastId) module.fail(`section ${id} out of order or repeated`);
      lastId = id;
    }
    if (id === SECTION_TYPE || id === SECTION_IMPORT) {
      const section = new ByteReader(bytes, start, end);
      if (id === SECTION_TYPE) {
        types = readTypeSection(section);
      } else {
        const imports = readImportSection(section, types);
        if (section.remaining !== 0) section.fail("trailing bytes in the import section");
        return imports;
      }
      if (section.remaining !== 0) section.fail("trailing bytes in the type section");
    } else if (id > SECTION_IMPORT && id !== SECTION_CUSTOM && id <= 13) {
      // Sections after the import section (and the tag section 13) cannot hold imports.
      return [];
    } else if (id > 13) {
      module.fail(`unknown section id ${id}`);
    }
    module.skipTo(end);
  }
  return [];
}
