// Conversions between text and bytes that guests need around the byte-oriented ABI.

/** `text` encoded as UTF-8. */
export function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}

/** `bytes` decoded as UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  return String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.byteLength);
}

/** `bytes` as lowercase hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  const digits = "0123456789abcdef";
  let hex = "";
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    hex += digits.charAt(byte >> 4) + digits.charAt(byte & 0x0f);
  }
  return hex;
}
