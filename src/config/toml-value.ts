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
