import { Packr } from "msgpackr";
import { asNetError } from "./net-error.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import type { WireValue } from "./wire-value.ts";

// useRecords off: plain standard MessagePack maps, readable by any implementation and stable for
// golden bytes. copyBuffers: decoded byte strings must not pin the receive chunk they came in.
// int64AsType bigint: a bigint round-trips as a bigint (msgpackr writes numbers as int32/float64
// and only bigints as 64-bit integers), so both formats give back the same types.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: "bigint",
  copyBuffers: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
});

/**
 * `bytes` as a plain Uint8Array (a view, nothing copied). msgpackr copies each decoded byte
 * string with the source's own `slice`: from a Buffer each is a Buffer, which the op decoder had
 * to copy once more into a plain array (`bytesCodec`); from a plain array it is a plain array of
 * its own, which the decoder keeps (`npm run bench -- replica-apply`'s decode phase, per write of
 * an `lww_map_batch`: docs/design/sync.md).
 */
function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** MessagePack via msgpackr: the default production format. */
export const msgpackPayloadCodec: PayloadCodec = {
  format: "msgpack",
  encode(value: WireValue): Uint8Array {
    try {
      return packr.pack(value);
    } catch (error) {
      throw asNetError(error, "NET_ENCODE_FAILED", "cannot encode MessagePack payload");
    }
  },
  decode(bytes: Uint8Array): unknown {
    try {
      return packr.unpack(plainView(bytes));
    } catch (error) {
      throw asNetError(error, "NET_MESSAGE_MALFORMED", "invalid MessagePack payload");
    }
  },
};
