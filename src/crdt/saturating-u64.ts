/** Counter slots are unsigned 64-bit and saturate instead of wrapping. */
export const U64_MAX = (1n << 64n) - 1n;

export function saturatingAddU64(a: bigint, b: bigint): bigint {
  const sum = a + b;
  return sum > U64_MAX ? U64_MAX : sum;
}

export function isU64(value: bigint): boolean {
  return value >= 0n && value <= U64_MAX;
}
