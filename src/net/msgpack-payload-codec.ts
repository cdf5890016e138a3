import { createRequire } from "node:module";
import { asNetError } from "./net-error.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import type { WireValue } from "./wire-value.ts";

/**
 * The wire's own instance of msgpackr: its CommonJS build, which Node loads apart from the ES
 * module build the store's `crdtPackr` uses (src/crdt/msgpack.ts). msgpackr's extension table is
 * global to an instance, so the refusals below reach the wire and never what the store decodes.
 */
const wireMsgpackr = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

/**
 * Every extension msgpackr decodes by default (unpack.js: undefined, BigInt of any size, Error,
 * the structured clone ids, Set, typed arrays, RegExp, bundled strings, Date). The wire protocol
 * uses none of them (u64 stamps are MessagePack uint64/int64), and a hostile peer could use them
 * to make a node spend far more than the frame's size costs (one 4 MiB BigInt took over 100 ms)
 * or hand the validators objects they never expect. An unregistered type already fails in
 * msgpackr itself ("Unknown extension type").
 */
const MSGPACKR_EXTENSION_TYPES = [0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x73, 0x74, 0x78, 0xff];
for (const type of MSGPACKR_EXTENSION_TYPES) {
  wireMsgpackr.addExtension({
    type,
    unpack() {
      throw new Error(
        `extension type 0x${type.toString(16).padStart(2, "0")} is not part of the wire protocol`,
      );
    },
  });
}

/**
 * msgpackr reads a record definition (fixext 1/2 of type 0x72, "r") even with `useRecords` off,
 * and then decodes the small integers 64-127 that follow as objects. It stores the definition in
 * the unpacker's `structures`: one that cannot be extended makes that store throw (the module is
 * strict), so a record definition is refused where it stands, with the TypeError below.
 */
const NO_RECORD_DEFINITIONS = Object.preventExtensions(Object.assign([], { sharedLength: 0 }));

// useRecords off: plain standard MessagePack maps, readable by any implementation and stable for
// golden bytes. copyBuffers: decoded byte strings must not pin the receive chunk they came in.
// int64AsType bigint: a bigint round-trips as a bigint (msgpackr writes numbers as int32/float64
// and only bigints as 64-bit integers), so both formats give back the same types.
const options = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: "bigint",
  copyBuffers: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
} as const;
const packr = new wireMsgpackr.Packr(options);
const unpackr = new wireMsgpackr.Unpackr({ ...options, structures: NO_RECORD_DEFINITIONS });

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
      return unpackr.unpack(plainView(bytes));
    } catch (error) {
      throw asNetError(recordRefusal(error), "NET_MESSAGE_MALFORMED", "invalid MessagePack payload");
    }
  },
};

/** The one line for a record definition refused by NO_RECORD_DEFINITIONS; any other error as is. */
function recordRefusal(error: unknown): unknown {
  return error instanceof TypeError && error.message.includes("not extensible")
    ? new Error("extension type 0x72 (msgpackr record definition) is not part of the wire protocol")
    : error;
}
