import type { WireFormat } from "./wire-format.ts";
import type { WireValue } from "./wire-value.ts";

/**
 * How the ops inside PushOps travel. Ops are opaque to `net/`: the CRDT layer supplies this codec
 * (src/crdt/op-codec.ts) and the message codec calls it for every op, so both compose:
 * `createMessageCodec(crdtOpCodec)`.
 *
 * @example
 * const opCodec: OpCodec<MyOp> = {
 *   encode: (op) => ({ id: op.id, delta: op.delta }),
 *   decode: (value) => parseMyOp(value), // throws on anything malformed
 * };
 */
export interface OpCodec<Op> {
  /**
   * The op as plain wire data (see WireValue) for a frame in `format`: a codec may pick a compact
   * form for MessagePack and a readable one for JSON. Must not throw for a well-formed op.
   */
  encode(op: Op, format: WireFormat): WireValue;
  /**
   * Rebuilds an op from what a peer sent: `value` is untrusted and may be anything the payload
   * format can express. Throws (preferably a NumaxError with a code) when it is not a valid op.
   */
  decode(value: unknown, format: WireFormat): Op;
  /**
   * Optional: the op's MessagePack bytes, exactly what packing `encode(op, "msgpack")` gives,
   * for a codec that writes them faster than msgpackr packs the wire value (PushOps use it).
   */
  packMsgpack?(op: Op): Uint8Array;
  /** Optional checks beyond the shape (for example bounds on sizes); throws when the op is refused. */
  validate?(op: Op): void;
}
