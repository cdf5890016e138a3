import { Packr } from "msgpackr";
import { refusedExtensionDetail } from "./msgpack-extension-scan.ts";
import { asNetError, NetError } from "./net-error.ts";
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
    refuseExtensions(bytes);
    try {
      return packr.unpack(plainView(bytes));
    } catch (error) {
      throw asNetError(error, "NET_MESSAGE_MALFORMED", "invalid MessagePack payload");
    }
  },
};

/**
 * The wire protocol uses no MessagePack extension (u64 stamps are uint64/int64), but msgpackr
 * decodes its own: BigInt of any size (one 4 MiB BigInt took 59-72 ms, `npm run bench -- wire`), Error, Set, typed arrays,
 * RegExp, bundled strings, Date, structured clone ids, and record definitions, which even with
 * records off turn the small integers after them into objects. Refused before msgpackr runs;
 * `undefined`, which msgpackr's packer writes as an extension too, is let through (the walk says
 * why). Its extension table is global to the process and the store's packer (src/crdt/msgpack.ts)
 * shares it, so the refusal is made here, on the wire's path alone, and the table is left alone.
 */
function refuseExtensions(bytes: Uint8Array): void {
  const refused = refusedExtensionDetail(bytes);
  if (refused !== undefined)
    throw new NetError("NET_MESSAGE_MALFORMED", `invalid MessagePack payload: ${refused}`);
}
