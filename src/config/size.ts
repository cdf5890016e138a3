import { NumaxError } from "../errors/numax-error.ts";

/**
 * Byte sizes as humans write them: an integer with an optional unit and no space, `16MiB`,
 * `512KiB`, `1GB`, `4096` (plain integers are bytes). Binary units (KiB = 1024) and decimal
 * units (KB = 1000) are both accepted and never confused: `16M` or `16mb` are refused with a hint.
 */
export const SIZE_UNITS_BYTES = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
} as const;

type SizeUnit = keyof typeof SIZE_UNITS_BYTES;

const UNIT_NAMES = Object.keys(SIZE_UNITS_BYTES) as SizeUnit[];
const BINARY_LARGEST_FIRST: readonly SizeUnit[] = ["TiB", "GiB", "MiB", "KiB"];
const DECIMAL_LARGEST_FIRST: readonly SizeUnit[] = ["TB", "GB", "MB", "KB"];
const EXAMPLES = "e.g. 16MiB, 512KiB, 1GB or 4096 (bytes)";

function isSizeUnit(text: string): text is SizeUnit {
  return Object.hasOwn(SIZE_UNITS_BYTES, text);
}

function invalid(text: string, why: string): NumaxError {
  return new NumaxError("USAGE_INVALID_SIZE", `invalid size "${text}": ${why}`);
}

function unitHint(unit: string): string {
  const sameLetters = UNIT_NAMES.find((name) => name.toLowerCase() === unit.toLowerCase());
  if (sameLetters !== undefined)
    return `unknown unit "${unit}" (units are case-sensitive: did you mean ${sameLetters}?)`;
  const first = unit[0]?.toUpperCase();
  if (unit.length === 1 && first !== undefined && "KMGT".includes(first)) {
    return `ambiguous unit "${unit}"; write ${first}iB (powers of 1024) or ${first}B (powers of 1000)`;
  }
  return `unknown unit "${unit}"; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB`;
}

/** Parses a size into bytes; throws a NumaxError (`USAGE_INVALID_SIZE`) on anything else. */
export function parseSize(text: string): number {
  const match = /^(\d+)([A-Za-z]*)$/.exec(text);
  if (match === null) {
    if (text.length === 0) throw invalid(text, `empty; ${EXAMPLES}`);
    if (/\s/.test(text)) throw invalid(text, `remove the spaces, ${EXAMPLES}`);
    if (text.startsWith("-")) throw invalid(text, "must not be negative");
    if (/^\d*\.\d/.test(text))
      throw invalid(text, "fractions are not allowed; use a smaller unit (1536KiB rather than 1.5MiB)");
    throw invalid(text, `expected an integer and an optional unit, ${EXAMPLES}`);
  }
  const [, digits, unit] = match;
  if (unit !== "" && !isSizeUnit(unit)) throw invalid(text, unitHint(unit));
  const bytes = Number(digits) * (unit === "" ? 1 : SIZE_UNITS_BYTES[unit as SizeUnit]);
  if (!Number.isSafeInteger(bytes)) throw invalid(text, "too large");
  return bytes;
}

/**
 * The canonical text of a size: the largest binary unit that divides it exactly, else the largest
 * decimal one, else bytes. parseSize(formatSize(bytes)) === bytes.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`not a size in bytes: ${bytes}`);
  if (bytes > 0) {
    for (const unit of [...BINARY_LARGEST_FIRST, ...DECIMAL_LARGEST_FIRST]) {
      const size = SIZE_UNITS_BYTES[unit];
      if (bytes % size === 0) return `${bytes / size}${unit}`;
    }
  }
  return `${bytes}B`;
}
