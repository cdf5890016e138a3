import type { OpCodec } from "../net/op-codec.ts";
import type { WireValue } from "../net/wire-value.ts";
import type { Op } from "./op.ts";
import { guardDecode, opFromMsgpackValue, opToMsgpackValue } from "./op-codec.ts";

/**
 * The CRDT op codec for PushOps messages: `createMessageCodec(crdtWireOpCodec)`. An op travels as
 * its positional array (`opToMsgpackValue`), in MessagePack and in JSON alike (the JSON payload
 * codec keeps bytes and bigints). Decoding validates strictly and throws CrdtCodecError.
 */
export const crdtWireOpCodec: OpCodec<Op> = {
  encode: (op) => opToMsgpackValue(op) as WireValue,
  decode: (value) => guardDecode("op", () => opFromMsgpackValue(value)),
};
