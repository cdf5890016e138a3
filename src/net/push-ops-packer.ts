import type { PushOpsMessage } from "./messages.ts";
import { msgpackPayloadCodec } from "./msgpack-payload-codec.ts";
import { asNetError } from "./net-error.ts";
import type { OpCodec } from "./op-codec.ts";

/**
 * Ops remembered packed: more than one PushOps holds (PUSH_OPS_OPS_MAX), so every peer's batch of
 * the same ops, encoded one after another as the peer manager sends them, finds them all.
 */
export const PACKED_OPS_REMEMBERED = 2048;

/**
 * Bytes of packed ops remembered at most, whatever their number: ops of up to 1 MiB values must
 * not keep gigabytes alive. Above what PACKED_OPS_REMEMBERED of the gates' batch ops take (about
 * 1.2 KB each, 2.4 MiB), so for them the count binds.
 */
export const PACKED_OPS_BYTES_REMEMBERED = 8 * 1024 * 1024;

const MSGPACK_FIXARRAY = 0x90;
const MSGPACK_ARRAY16 = 0xdc;
const MSGPACK_ARRAY32 = 0xdd;

/**
 * MessagePack PushOps bodies in which each op is packed once, however many peers it goes to:
 * a node's own ops go to every peer, each peer's connection encoding its own batch (its own batch
 * id), and packing the ops was most of that (`npm run bench -- map-write`). The bytes are what
 * msgpackr makes of the whole message: with plain maps and no shared structures or bundled
 * strings an array's encoding is its header and then each element's own encoding, so the body is
 * the message packed with an empty `ops` (its last field), the real array header in place of the
 * empty one, and each op's bytes. An op is remembered by identity (ops are never changed once
 * made), the last PACKED_OPS_REMEMBERED of them within PACKED_OPS_BYTES_REMEMBERED.
 */
export class PushOpsPacker<Op> {
  readonly #opCodec: OpCodec<Op>;
  readonly #packed = new Map<Op, Uint8Array>();
  readonly #remembered: number;
  readonly #bytesRemembered: number;
  #bytes = 0;

  constructor(
    opCodec: OpCodec<Op>,
    remembered = PACKED_OPS_REMEMBERED,
    bytesRemembered = PACKED_OPS_BYTES_REMEMBERED,
  ) {
    this.#opCodec = opCodec;
    this.#remembered = remembered;
    this.#bytesRemembered = bytesRemembered;
  }

  /** Packed ops remembered now, and the bytes of the buffers their bytes keep alive. */
  remembered(): { ops: number; bytes: number } {
    const buffers = new Set<ArrayBufferLike>();
    for (const bytes of this.#packed.values()) buffers.add(bytes.buffer);
    let bytes = 0;
    for (const buffer of buffers) bytes += buffer.byteLength;
    return { ops: this.#packed.size, bytes };
  }

  /** The MessagePack body of `message`, byte for byte the message packed whole. */
  encode(message: PushOpsMessage<Op>): Uint8Array {
    const { ops } = message;
    const packed: Uint8Array[] = new Array(ops.length);
    let opBytes = 0;
    for (let i = 0; i < ops.length; i++) {
      const bytes = this.#packedOp(ops[i]!);
      packed[i] = bytes;
      opBytes += bytes.length;
    }
    const head = msgpackPayloadCodec.encode({ type: message.type, batchId: message.batchId, ops: [] });
    // The empty array's one byte (0x90) ends the head: the ops' header and bytes replace it.
    const headBytes = head.length - 1;
    const count = ops.length;
    const arrayHeaderBytes = count < 16 ? 1 : count < 0x10000 ? 3 : 5;
    const body = new Uint8Array(headBytes + arrayHeaderBytes + opBytes);
    body.set(head.subarray(0, headBytes));
    let at = headBytes;
    if (arrayHeaderBytes === 1) body[at++] = MSGPACK_FIXARRAY | count;
    else {
      const view = new DataView(body.buffer, body.byteOffset);
      if (arrayHeaderBytes === 3) {
        body[at] = MSGPACK_ARRAY16;
        view.setUint16(at + 1, count);
      } else {
        body[at] = MSGPACK_ARRAY32;
        view.setUint32(at + 1, count);
      }
      at += arrayHeaderBytes;
    }
    for (const bytes of packed) {
      body.set(bytes, at);
      at += bytes.length;
    }
    return body;
  }

  #packedOp(op: Op): Uint8Array {
    let bytes = this.#packed.get(op);
    if (bytes !== undefined) return bytes;
    try {
      const codec = this.#opCodec;
      bytes = codec.packMsgpack?.(op) ?? msgpackPayloadCodec.encode(codec.encode(op, "msgpack"));
    } catch (error) {
      throw asNetError(error, "NET_ENCODE_FAILED", "cannot encode PushOps message");
    }
    // The oldest go first; an op larger than the whole budget is not remembered at all.
    if (bytes.length > this.#bytesRemembered || this.#remembered < 1) return bytes;
    // Packed bytes are a view of a buffer shared with whatever was packed beside them (msgpackr's
    // grows to four times the largest value it ever packed, and the store packs into it too):
    // kept as they are, a 30-byte op kept megabytes alive, and the byte bound bounded nothing.
    if (bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    const packed = this.#packed;
    while (packed.size >= this.#remembered || this.#bytes + bytes.length > this.#bytesRemembered) {
      const [oldest, oldestBytes] = packed.entries().next().value!;
      packed.delete(oldest);
      this.#bytes -= oldestBytes.length;
    }
    packed.set(op, bytes);
    this.#bytes += bytes.length;
    return bytes;
  }
}
