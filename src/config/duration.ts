import { NumaxError } from "../errors/numax-error.ts";

/**
 * Durations as humans write them: an integer and a unit, or several such parts from the
 * largest unit to the smallest, with no spaces: `500ms`, `30s`, `2m`, `1h`, `1m30s`, `1d`.
 * Fractions, signs, spaces and unitless numbers are refused, so a typo never silently means
 * something else (is `30` seconds or milliseconds?).
 */
export const DURATION_UNITS_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

type DurationUnit = keyof typeof DURATION_UNITS_MS;

const UNITS_LARGEST_FIRST = Object.keys(DURATION_UNITS_MS) as DurationUnit[];
const EXAMPLES = "e.g. 500ms, 30s, 2m, 1h or 1m30s";

function isDurationUnit(text: string): text is DurationUnit {
  return Object.hasOwn(DURATION_UNITS_MS, text);
}

function invalid(text: string, why: string): NumaxError {
  return new NumaxError("USAGE_INVALID_DURATION", `invalid duration "${text}": ${why}`);
}

const isDigit = (char: string): boolean => char >= "0" && char <= "9";
const isLetter = (char: string): boolean => (char >= "a" && char <= "z") || (char >= "A" && char <= "Z");

/** Parses a duration into whole milliseconds; throws a NumaxError (`USAGE_INVALID_DURATION`) on anything else. */
export function parseDuration(text: string): number {
  if (text.length === 0) throw invalid(text, `empty; write a number and a unit, ${EXAMPLES}`);
  if (text.trim() !== text || /\s/.test(text)) throw invalid(text, `remove the spaces, ${EXAMPLES}`);
  if (text.startsWith("-")) throw invalid(text, "must not be negative");
  let totalMs = 0;
  let position = 0;
  let previousUnitIndex = -1;
  while (position < text.length) {
    const numberStart = position;
    while (position < text.length && isDigit(text[position])) position++;
    if (position === numberStart)
      throw invalid(text, `expected a number at "${text.slice(position)}", ${EXAMPLES}`);
    const digits = text.slice(numberStart, position);
    if (text[position] === ".") {
      throw invalid(text, "fractions are not allowed; use a smaller unit (1500ms rather than 1.5s)");
    }
    const unitStart = position;
    while (position < text.length && isLetter(text[position])) position++;
    const unit = text.slice(unitStart, position);
    if (unit.length === 0) {
      throw invalid(text, `missing unit after ${digits}; use ms, s, m, h or d (e.g. ${digits}s)`);
    }
    if (!isDurationUnit(unit)) throw invalid(text, `unknown unit "${unit}"; use ms, s, m, h or d`);
    const unitIndex = UNITS_LARGEST_FIRST.indexOf(unit);
    if (unitIndex <= previousUnitIndex) {
      throw invalid(text, "write each unit once, from the largest to the smallest (1m30s)");
    }
    previousUnitIndex = unitIndex;
    totalMs += Number(digits) * DURATION_UNITS_MS[unit];
    if (!Number.isSafeInteger(totalMs)) throw invalid(text, "too large");
  }
  return totalMs;
}

/** The canonical text of a duration (largest units first): parseDuration(formatDuration(ms)) === ms. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in ms: ${ms}`);
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const unit of UNITS_LARGEST_FIRST) {
    const size = DURATION_UNITS_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
