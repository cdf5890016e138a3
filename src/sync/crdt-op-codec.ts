import type { Op } from "../crdt/op.ts";
import { opFromJsonValue, opFromMsgpackValue, opToJsonValue, opToMsgpackValue } from "../crdt/op-codec.ts";
import { createMessageCodec, type MessageCodec } from "../net/message-codec.ts";
import type { OpCodec } from "../net/op-codec.ts";
import type { WireValue } from "../net/wire-value.ts";

/**
 * CRDT ops inside PushOps, strictly validated on decode: the compact positional form of
 * src/crdt/op-codec.ts in MessagePack frames, its named-field form in JSON frames
 * (`--debug-protocol`), so a captured JSON frame reads as what it means.
 */
export const crdtOpCodec: OpCodec<Op> = {
  encode: (op, format) => (format === "json" ? opToJsonValue(op) : opToMsgpackValue(op)) as WireValue,
  decode: (value, format) => (format === "json" ? opFromJsonValue(value) : opFromMsgpackValue(value)),
};

/** The node's message codec: every sync message, with CRDT ops inside. */
export function createSyncMessageCodec(): MessageCodec<Op> {
  return createMessageCodec(crdtOpCodec);
}
