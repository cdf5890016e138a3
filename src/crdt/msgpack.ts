import { Packr } from "msgpackr";

/**
 * The one MessagePack configuration for CRDT ops, cells and records: plain arrays and maps (no
 * msgpackr records, so any MessagePack implementation reads them), u64 beyond 2^53 decoded as bigint,
 * and decoded bin copied out of the source buffer (store backends may reuse read buffers).
 */
export const crdtPackr = new Packr({
  useRecords: false,
  // "auto" (numbers while safe, bigint beyond) exists at run time but not in msgpackr's typings.
  int64AsType: "auto" as "number",
  copyBuffers: true,
  mapsAsObjects: true,
});
