import { NumaxError } from "../errors/numax-error.ts";

/**
 * A write whose op could never go to a peer: larger, as the wire bound counts it, than one sync
 * message carries (`max_message_size` less the PushOps envelope). Thrown before anything changes;
 * the ABI answers it with -10 (ERR_OP_TOO_LARGE). Sent anyway, the op would be refused by the
 * sender's own framing, taken as lost and sent again for good (docs/design/op-size.md).
 */
export class OpTooLargeError extends NumaxError {
  readonly key: string;
  readonly bytes: number;
  readonly bytesMax: number;

  constructor(key: string, bytes: number, bytesMax: number) {
    super(
      "CRDT_OP_TOO_LARGE",
      `write to CRDT key ${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)} refused: its op takes up to ${bytes} bytes on the wire, over the ${bytesMax} one sync message carries (max_message_size less the envelope); nothing was written: write smaller values or raise max_message_size on every node`,
    );
    this.key = key;
    this.bytes = bytes;
    this.bytesMax = bytesMax;
  }
}
