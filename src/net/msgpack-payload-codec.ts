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
      return packr.unpack(bytes);
    } catch (error) {
      throw asNetError(error, "NET_MESSAGE_MALFORMED", "invalid MessagePack payload");
    }
  },
};
