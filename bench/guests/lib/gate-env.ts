// Settings of a load guest, from NX_GATE_* environment variables (the runner sets them; only
// NX_* and NUMAX_* names reach a guest). A malformed value ends the guest with one line.

import { system } from "../../../sdk/assemblyscript/assembly";

/** The unsigned integer in `name`, or `fallback` when unset; aborts on anything else. */
export function envU64(name: string, fallback: u64): u64 {
  const text = system.env(name);
  if (text === null || text.length == 0) return fallback;
  let value: u64 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39 || i >= 19) {
      system.abort(`gate: ${name} must be a non-negative integer, got "${text}"`);
    }
    value = value * 10 + <u64>(c - 0x30);
  }
  return value;
}

/** Like envU64, but 0 is refused too. */
export function envPositive(name: string, fallback: u64): u64 {
  const value = envU64(name, fallback);
  if (value == 0) system.abort(`gate: ${name} must be greater than 0`);
  return value;
}

export function envText(name: string, fallback: string): string {
  const text = system.env(name);
  return text === null || text.length == 0 ? fallback : text;
}
