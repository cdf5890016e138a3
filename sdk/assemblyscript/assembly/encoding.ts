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

/** `text` as a JSON string literal: quotes, backslashes and control characters escaped. */
export function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}
