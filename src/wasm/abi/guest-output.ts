import { ERR_BUFFER_TOO_SMALL, ERR_INTERNAL } from "./abi-codes.ts";
import { OUTPUT_BYTES_MAX } from "./abi-limits.ts";

/**
 * Writing results into the guest's `(out_ptr, out_cap)` buffer. Every writer is all-or-nothing:
 * when the result does not fit it answers -2 and writes only the required size (u32 LE at
 * `out_ptr`, when `out_cap >= 4`) so the guest can retry with exactly that much. Results larger
 * than {@link OUTPUT_BYTES_MAX} answer -3: no buffer would help.
 *
 * Callers have already checked that `[outPtr, outPtr + outCap)` lies in memory and that
 * `outCap <= OUTPUT_BYTES_MAX`.
 */

/** True when the output range is acceptable: inside memory and not above the output limit. */
export function validOutput(outPtr: number, outCap: number, memoryBytes: number): boolean {
  return outCap <= OUTPUT_BYTES_MAX && outPtr + outCap <= memoryBytes;
}

/** Answers -2, telling the guest how much it needs when the buffer can hold that much. */
export function bufferTooSmall(data: DataView, outPtr: number, outCap: number, required: number): number {
  if (outCap >= 4) data.setUint32(outPtr, required, true);
  return ERR_BUFFER_TOO_SMALL;
}

/** Writes `value` as is; returns its length, -2 or -3. */
export function writeBytes(
  memory: Uint8Array,
  data: DataView,
  outPtr: number,
  outCap: number,
  value: Uint8Array,
): number {
  const length = value.length;
  if (length > outCap)
    return length > OUTPUT_BYTES_MAX ? ERR_INTERNAL : bufferTooSmall(data, outPtr, outCap, length);
  memory.set(value, outPtr);
  return length;
}

/**
 * How a record's fields are laid out after `u32 count`:
 * - `lengths-first`: all `u32` lengths of the record, then all its bytes (db_scan rows, net_peers);
 * - `interleaved`: `u32 length, bytes` per field (db_keys, lww_map entries, orset, rga).
 */
export type RecordLayout = "lengths-first" | "interleaved";

/** One listed item: a single field (`u32 length, bytes`) or the fields of a record. */
export type OutputRecord = Uint8Array | readonly Uint8Array[];

function recordSize(record: OutputRecord): number {
  if (record instanceof Uint8Array) return 4 + record.length;
  let size = 0;
  for (const field of record) size += 4 + field.length;
  return size;
}

/**
 * Up to `limit` records of `source`, or undefined as soon as their encoding would pass
 * {@link OUTPUT_BYTES_MAX} (so a huge listing is never materialised).
 */
export function collectRecords<R extends OutputRecord>(source: Iterable<R>, limit: number): R[] | undefined {
  const records: R[] = [];
  if (limit === 0) return records;
  let size = 4;
  for (const record of source) {
    size += recordSize(record);
    if (size > OUTPUT_BYTES_MAX) return undefined;
    records.push(record);
    if (records.length >= limit) break;
  }
  return records;
}

/** Writes `u32 count` then every record; returns the bytes written, -2 or -3. */
export function writeRecords(
  memory: Uint8Array,
  data: DataView,
  outPtr: number,
  outCap: number,
  records: readonly OutputRecord[],
  layout: RecordLayout,
): number {
  let size = 4;
  for (const record of records) {
    size += recordSize(record);
    if (size > OUTPUT_BYTES_MAX) return ERR_INTERNAL;
  }
  if (size > outCap) return bufferTooSmall(data, outPtr, outCap, size);
  data.setUint32(outPtr, records.length, true);
  let at = outPtr + 4;
  for (const record of records) {
    if (record instanceof Uint8Array) {
      data.setUint32(at, record.length, true);
      memory.set(record, at + 4);
      at += 4 + record.length;
    } else if (layout === "lengths-first") {
      for (const field of record) {
        data.setUint32(at, field.length, true);
        at += 4;
      }
      for (const field of record) {
        memory.set(field, at);
        at += field.length;
      }
    } else {
      for (const field of record) {
        data.setUint32(at, field.length, true);
        memory.set(field, at + 4);
        at += 4 + field.length;
      }
    }
  }
  return size;
}

/** Writes an 8-byte little-endian integer; returns 8 or -2. */
export function writeU64(
  data: DataView,
  outPtr: number,
  outCap: number,
  value: bigint,
  signed: boolean,
): number {
  if (outCap < 8) return bufferTooSmall(data, outPtr, outCap, 8);
  if (signed) data.setBigInt64(outPtr, value, true);
  else data.setBigUint64(outPtr, value, true);
  return 8;
}
