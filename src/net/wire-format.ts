/**
 * Payload formats of the wire protocol. Every frame carries its format in a one-byte tag, so a
 * receiver never guesses; the handshake only chooses what each side sends from then on.
 *
 * Tag values are part of the protocol (docs/design/wire-protocol.md): 0x00 is never valid, so a
 * zero-filled stream fails at the first frame.
 */
export type WireFormat = "msgpack" | "json";

/** In preference order of a default node: MessagePack for production, JSON for `--debug-protocol`. */
export const WIRE_FORMATS: readonly WireFormat[] = ["msgpack", "json"];

export const FORMAT_TAGS: Readonly<Record<WireFormat, number>> = { msgpack: 0x01, json: 0x02 };

export function isWireFormat(value: unknown): value is WireFormat {
  return value === "msgpack" || value === "json";
}

/** The format a tag byte names, or undefined for a tag this node does not know. */
export function formatOfTag(tag: number): WireFormat | undefined {
  if (tag === FORMAT_TAGS.msgpack) return "msgpack";
  if (tag === FORMAT_TAGS.json) return "json";
  return undefined;
}
