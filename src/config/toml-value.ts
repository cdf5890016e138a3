import type { TomlWritable } from "./value-kind.ts";

/**
 * A value as TOML source text. JSON string escapes are a subset of TOML basic-string escapes,
 * so JSON.stringify quotes strings correctly without loading a TOML library.
 */
export function renderTomlValue(value: TomlWritable): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
}

/** Whether a parsed TOML value is a table (smol-toml gives dates as Date objects, arrays as arrays). */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
