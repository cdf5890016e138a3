import type { FunctionType, ValueType } from "../module-imports.ts";

/** The accepted types of each signature text parsed so far: one list however many functions share it. */
const parsed = new Map<string, readonly FunctionType[]>();

function valueTypes(list: string): ValueType[] {
  const trimmed = list.trim();
  return trimmed === "" ? [] : (trimmed.split(" ") as ValueType[]);
}

/**
 * The types a signature text accepts: `params -> results`, value types separated by spaces
 * (`i32 i64 -> i32`, `-> i64`, `i32 i32 ->`), alternatives separated by ` | `.
 */
export function signatureTypes(text: string): readonly FunctionType[] {
  let types = parsed.get(text);
  if (types === undefined) {
    types = text.split(" | ").map((alternative) => {
      const [params = "", results = ""] = alternative.split("->");
      return { params: valueTypes(params), results: valueTypes(results) };
    });
    parsed.set(text, types);
  }
  return types;
}

/**
 * The accepted types of a module's functions by name (the import check's table), written as one
 * text of lines `name: signature` ({@link signatureTypes}; a line starting with `#` is a comment)
 * and parsed per name when read. The ABI's tables (nx, WASI, processes) declare about 130
 * functions: built as maps of parsed types at every start, they were a twentieth of the young
 * generation a plain `nx run` fills before its first scavenge, which reads one or two of them
 * (an object literal of the names costs as much: built once, property by property). Parsed
 * types are shared and never changed.
 */
export class SignatureTable implements ReadonlyMap<string, readonly FunctionType[]> {
  readonly #texts: readonly string[];

  /** `texts`: tables as text, each starting with a line break; a name in several takes the first. */
  constructor(...texts: string[]) {
    this.#texts = texts;
  }

  #signature(name: string): string | undefined {
    // A guest names its imports: a name with a line break could span lines of the text, and a
    // comment is no name.
    if (name.includes("\n") || name.startsWith("#")) return undefined;
    const label = `\n${name}: `;
    for (const text of this.#texts) {
      const at = text.indexOf(label);
      if (at < 0) continue;
      const end = text.indexOf("\n", at + label.length);
      return text.slice(at + label.length, end < 0 ? undefined : end);
    }
    return undefined;
  }

  get(name: string): readonly FunctionType[] | undefined {
    const signature = this.#signature(name);
    return signature === undefined ? undefined : signatureTypes(signature);
  }

  has(name: string): boolean {
    return this.#signature(name) !== undefined;
  }

  get size(): number {
    return [...this.keys()].length;
  }

  *keys(): MapIterator<string> {
    for (const [index, text] of this.#texts.entries()) {
      for (const line of text.split("\n")) {
        const colon = line.indexOf(": ");
        if (line.startsWith("#") || colon <= 0) continue;
        const name = line.slice(0, colon);
        // A name an earlier text has was given there.
        if (!this.#texts.slice(0, index).some((earlier) => earlier.includes(`\n${name}: `))) yield name;
      }
    }
  }

  *values(): MapIterator<readonly FunctionType[]> {
    for (const name of this.keys()) yield this.get(name)!;
  }

  *entries(): MapIterator<[string, readonly FunctionType[]]> {
    for (const name of this.keys()) yield [name, this.get(name)!];
  }

  [Symbol.iterator](): MapIterator<[string, readonly FunctionType[]]> {
    return this.entries();
  }

  forEach(
    callback: (
      types: readonly FunctionType[],
      name: string,
      table: ReadonlyMap<string, readonly FunctionType[]>,
    ) => void,
    thisArg?: unknown,
  ): void {
    for (const [name, types] of this.entries()) callback.call(thisArg, types, name, this);
  }
}
