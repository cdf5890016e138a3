import type { LogFields, LogLevel } from "./logger.ts";

/**
 * The human log line: `HH:MM:SS.mmm LEVEL component: message key=value key="two words"`.
 * Pure: the time arrives as a Date. Control characters in the message and in values are escaped
 * so that a guest cannot forge extra log lines with an embedded newline.
 */

const LEVEL_LABELS: Readonly<Record<LogLevel, string>> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
};

const LEVEL_COLORS: Readonly<Record<LogLevel, string>> = {
  trace: "\x1b[90m",
  debug: "\x1b[36m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

const BARE_VALUE = /^[^\s"=\\\p{Cc}]+$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

function escapeControl(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (char) => JSON.stringify(char).slice(1, -1));
}

function quoteIfNeeded(text: string): string {
  return BARE_VALUE.test(text) ? text : JSON.stringify(text);
}

/** A field value as it appears after `key=`. */
export function formatFieldValue(value: unknown): string {
  if (typeof value === "string") return quoteIfNeeded(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  if (value === null || value === undefined) return String(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const prefix = typeof code === "string" ? `${code}: ` : `${value.name}: `;
    return JSON.stringify(`${prefix}${value.message}`);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "InvalidDate" : value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  try {
    // Compact JSON is readable as is; it has no raw whitespace or control characters outside strings.
    return (
      JSON.stringify(value, (_key, inner) => (typeof inner === "bigint" ? String(inner) : inner)) ??
      "undefined"
    );
  } catch {
    return '"[unserializable]"';
  }
}

/** Local wall-clock time `HH:MM:SS.mmm`. */
export function formatClockTime(time: Date): string {
  return `${pad2(time.getHours())}:${pad2(time.getMinutes())}:${pad2(time.getSeconds())}.${pad3(time.getMilliseconds())}`;
}

export interface TextLogLine {
  readonly time: Date;
  readonly level: LogLevel;
  /** Dotted component name, or "" for the root logger. */
  readonly component: string;
  readonly message: string;
  readonly fields?: LogFields;
  /** Wrap the level in ANSI colors (for a terminal). */
  readonly color?: boolean;
}

/** One log line, newline-terminated. */
export function formatTextLogLine(line: TextLogLine): string {
  const label = line.color
    ? `${LEVEL_COLORS[line.level]}${LEVEL_LABELS[line.level]}\x1b[0m`
    : LEVEL_LABELS[line.level];
  let text = `${formatClockTime(line.time)} ${label} `;
  if (line.component !== "") text += `${line.component}: `;
  text += escapeControl(line.message);
  if (line.fields !== undefined) {
    for (const key in line.fields) {
      text += ` ${escapeControl(key)}=${formatFieldValue(line.fields[key])}`;
    }
  }
  return `${text}\n`;
}
