import type { WireFormat } from "./wire-format.ts";
import type { WireValue } from "./wire-value.ts";

/**
 * The seam between messages and bytes for one format (the `Codec` of the architecture).
 * `decode` returns `unknown`: what arrived from a peer is checked field by field afterwards.
 * Both throw NetError (NET_ENCODE_FAILED / NET_MESSAGE_MALFORMED), never anything else.
 */
export interface PayloadCodec {
  readonly format: WireFormat;
  encode(value: WireValue): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}
