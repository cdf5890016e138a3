import type { Op } from "../crdt/op.ts";
import { opFromMsgpackValue, opToMsgpackValue } from "../crdt/op-codec.ts";
import { createMessageCodec, type MessageCodec } from "../net/message-codec.ts";
import type { OpCodec } from "../net/op-codec.ts";
import type { WireValue } from "../net/wire-value.ts";

/**
 * CRDT ops inside PushOps: the compact positional form of src/crdt/op-codec.ts in both wire
 * formats (JSON frames show its bytes as `{"$bytes": ...}`), strictly validated on decode.
 */
export const crdtOpCodec: OpCodec<Op> = {
  encode: (op) => opToMsgpackValue(op) as WireValue,
  decode: (value) => opFromMsgpackValue(value),
};

/** The node's message codec: every sync message, with CRDT ops inside. */
export function createSyncMessageCodec(): MessageCodec<Op> {
  return createMessageCodec(crdtOpCodec);
}
