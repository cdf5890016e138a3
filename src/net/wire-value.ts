/**
 * What a message carries, in both formats with identical meaning: the plain data MessagePack can
 * hold. `bigint` travels as a 64-bit integer (MessagePack) or `{"$bigint":"…"}` (JSON); bytes as
 * `bin` (MessagePack) or `{"$bytes":"<base64>"}` (JSON). Object keys starting with `$` are
 * reserved for these two forms. Numbers must be finite.
 */
export type WireValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly WireValue[]
  | { readonly [key: string]: WireValue };

/** A plain object as the payload decoders produce it (not an array, Map, Buffer or Date). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Short name of a value's type for error messages ("string", "array", "bytes", …). */
export function describeWireType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "object")
    return isPlainObject(value) ? "object" : (value.constructor?.name ?? "object");
  return typeof value;
}
