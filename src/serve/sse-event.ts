/**
 * The wire form of one server-sent event (the WHATWG "event stream" format): an optional
 * `event:` line, one `data:` line per line of the data (LF, CRLF or CR split it, as a client
 * joins them back with LF), then a blank line. Pure: serve/sse-stream.ts writes what it returns.
 */

/** Longest event name `sse_send` takes (a topic is at most 256 bytes). */
export const SSE_EVENT_NAME_MAX_BYTES = 256;

const LINE_BREAK = /\r\n|\r|\n/;
const EVENT_NAME_FORBIDDEN = /[\r\n\0]/;

/** Whether `name` may name an event (empty: the default `message` event, no `event:` line). */
export function isSseEventName(name: string): boolean {
  return name.length <= SSE_EVENT_NAME_MAX_BYTES && !EVENT_NAME_FORBIDDEN.test(name);
}

/** `event: <name>` (when not empty), `data: <line>` per line of `data`, a blank line. */
export function encodeSseEvent(name: string, data: string): string {
  let text = name === "" ? "" : `event: ${name}\n`;
  for (const line of data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return `${text}\n`;
}
