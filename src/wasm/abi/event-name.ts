/** Longest event name `event_emit` accepts, in bytes. */
export const EVENT_NAME_BYTES_MAX = 1024;

/** Letters, digits, `_`, `-`, `.`, `:` (ASCII). */
function isEventNameByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x5f || // _
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x3a // :
  );
}

/** True for a non-empty name of at most {@link EVENT_NAME_BYTES_MAX} allowed ASCII bytes. */
export function isValidEventName(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > EVENT_NAME_BYTES_MAX) return false;
  for (let i = 0; i < bytes.length; i++) if (!isEventNameByte(bytes[i]!)) return false;
  return true;
}
