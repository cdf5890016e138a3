import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, copyFile, type FileHandle, open, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { XXHashAPI } from "xxhash-wasm";
import { renameDurably } from "../fs/durable-files.ts";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import { SnapshotError } from "./snapshot-error.ts";

/**
 * A snapshot as one portable file (docs/design/snapshots.md), every integer big-endian:
 *
 *   body             the store's LMDB data file, compacted (`data.mdb`), byte for byte
 *   header           JSON (UTF-8): SnapshotHeader
 *   trailer          header length u32, body length u64, flags u16 (0), format version u16,
 *                    magic 0x89 "NXSNAP" 0x0a (the 0x89 and 0x0a catch 7-bit and text-mode copies)
 *   checksum field   32 bytes over every byte before it: format 2, XXH64 (u64) then 24 zero
 *                    bytes; format 1, SHA-256
 *
 * The body comes first, as in Parquet and ZIP the index comes last: a restore is the kernel's
 * own file copy, cut to the body's length, while the checksum is computed beside it, instead of
 * every byte going through this process (the restore-speed figure in the design doc). The last
 * 56 bytes keep their layout in every format, so any build finds the version of any file.
 */
const SNAPSHOT_FILE_MAGIC = Uint8Array.of(0x89, 0x4e, 0x58, 0x53, 0x4e, 0x41, 0x50, 0x0a);
/** The format this build writes; it reads every format in SNAPSHOT_CHECKSUMS. */
export const SNAPSHOT_FILE_FORMAT_VERSION = 2;
/** Header length, body length, flags, version, magic. */
export const SNAPSHOT_TRAILER_BYTES = 24;
export const SNAPSHOT_CHECKSUM_BYTES = 32;
/** Largest header accepted: a header is a few hundred bytes; anything near this is not ours. */
const SNAPSHOT_HEADER_BYTES_MAX = 64 * 1024;
/** Bytes per read while a file is hashed: fits the CPU's cache between the read and the hash. */
const SNAPSHOT_HASH_CHUNK_BYTES = 256 * 1024;

/**
 * The checksum of a snapshot format: a hash of the bytes before it, whose digest fills the
 * 32-byte field. It guards against damage (a cut, a flipped bit, a bad copy), not against an
 * attacker: whoever can change the file can recompute it, so a signature would be separate.
 */
interface SnapshotChecksum {
  /** For messages: "XXH64". */
  readonly name: string;
  create(): Promise<{ update(bytes: Uint8Array): void; field(): Buffer }>;
}

let xxhash: Promise<XXHashAPI> | undefined;

/**
 * Format 2's XXH64 hashes about 7x less CPU time than format 1's SHA-256 (docs/design/snapshots.md,
 * restore speed), and a restore costs about the checksum pass; 64 bits leave a random corruption
 * undetected with odds of 2^-64.
 */
const XXH64_CHECKSUM: SnapshotChecksum = {
  name: "XXH64",
  async create() {
    xxhash ??= import("xxhash-wasm").then((module) => module.default());
    const hash = (await xxhash).create64();
    return {
      update: (bytes) => void hash.update(bytes),
      field: () => {
        const field = Buffer.alloc(SNAPSHOT_CHECKSUM_BYTES);
        field.writeBigUInt64BE(hash.digest(), 0);
        return field;
      },
    };
  },
};

const SHA256_CHECKSUM: SnapshotChecksum = {
  name: "SHA-256",
  async create() {
    const hash = createHash("sha256");
    return { update: (bytes) => void hash.update(bytes), field: () => hash.digest() };
  },
};

/** The formats this build reads, by version, and their checksums. */
const SNAPSHOT_CHECKSUMS: ReadonlyMap<number, SnapshotChecksum> = new Map([
  [1, SHA256_CHECKSUM],
  [2, XXH64_CHECKSUM],
]);
const READABLE_FORMATS = [...SNAPSHOT_CHECKSUMS.keys()].join(" and ");

/** What a snapshot says about itself. */
export interface SnapshotHeader {
  /** The node the store belonged to; null when the store had recorded none. */
  readonly nodeId: NodeId | null;
  /** When it was taken, ISO 8601 UTC. */
  readonly createdAt: string;
  /** The Numax version that wrote it. */
  readonly numaxVersion: string;
  /** The replica record format of the store inside (replica-layout.ts RECORD_FORMAT_VERSION). */
  readonly recordFormatVersion: number;
  /**
   * The store format of the store inside (store-format.ts STORE_FORMAT_VERSION), so that a
   * restore refuses a newer store before writing anything. Absent in format 1 files, whose
   * stores are of format 0 or 1.
   */
  readonly storeFormatVersion?: number;
}

/** A snapshot file's header and the length of its body (which starts at byte 0). */
export interface SnapshotFileInfo {
  readonly header: SnapshotHeader;
  readonly formatVersion: number;
  readonly bodyBytes: number;
  readonly fileBytes: number;
}

/**
 * The header and trailer of the current format that follow a body of `bodyBytes` bytes (the
 * checksum follows them).
 */
export function encodeSnapshotTail(header: Required<SnapshotHeader>, bodyBytes: number): Uint8Array {
  // Fields in a fixed order: the same header always has the same bytes (golden fixtures).
  const json = Buffer.from(
    JSON.stringify({
      nodeId: header.nodeId,
      createdAt: header.createdAt,
      numaxVersion: header.numaxVersion,
      recordFormatVersion: header.recordFormatVersion,
      storeFormatVersion: header.storeFormatVersion,
    }),
    "utf8",
  );
  const bytes = Buffer.alloc(json.length + SNAPSHOT_TRAILER_BYTES);
  bytes.set(json, 0);
  const at = json.length;
  bytes.writeUInt32BE(json.length, at);
  bytes.writeBigUInt64BE(BigInt(bodyBytes), at + 4);
  bytes.writeUInt16BE(0, at + 12);
  bytes.writeUInt16BE(SNAPSHOT_FILE_FORMAT_VERSION, at + 14);
  bytes.set(SNAPSHOT_FILE_MAGIC, at + 16);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Checks the trailer of a file of `fileBytes` bytes (`trailer`: its SNAPSHOT_TRAILER_BYTES bytes
 * before the checksum, or fewer when the file is shorter); returns the header and body lengths.
 */
function parseSnapshotTrailer(
  trailer: Uint8Array,
  fileBytes: number,
  file: string,
): { headerBytes: number; bodyBytes: number; version: number } {
  const view = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.length);
  const magicAt = SNAPSHOT_TRAILER_BYTES - SNAPSHOT_FILE_MAGIC.length;
  if (
    view.length < SNAPSHOT_TRAILER_BYTES ||
    !SNAPSHOT_FILE_MAGIC.every((byte, i) => view[magicAt + i] === byte)
  ) {
    throw new SnapshotError(
      "SNAPSHOT_NOT_A_SNAPSHOT",
      `${file} is not a Numax snapshot, or it is truncated (no snapshot magic before its last ${SNAPSHOT_CHECKSUM_BYTES} bytes): give a whole file written by nx snapshot export`,
    );
  }
  const version = view.readUInt16BE(14);
  if (!SNAPSHOT_CHECKSUMS.has(version)) {
    throw new SnapshotError(
      "SNAPSHOT_VERSION_UNSUPPORTED",
      `${file} is snapshot format ${version}; this Numax reads formats ${READABLE_FORMATS} (written by a newer Numax? restore it with that version)`,
    );
  }
  // No format defines a flag: a flag set means a file this build cannot read as its format.
  const flags = view.readUInt16BE(12);
  if (flags !== 0) {
    throw new SnapshotError(
      "SNAPSHOT_VERSION_UNSUPPORTED",
      `${file} is snapshot format ${version} with flags 0x${flags.toString(16).padStart(4, "0")}; this Numax reads formats ${READABLE_FORMATS} without flags (written by a newer Numax? restore it with that version)`,
    );
  }
  const headerBytes = view.readUInt32BE(0);
  const bodyBytes = Number(view.readBigUInt64BE(4));
  if (headerBytes > SNAPSHOT_HEADER_BYTES_MAX) {
    throw new SnapshotError(
      "SNAPSHOT_MALFORMED",
      `${file}: header of ${headerBytes} bytes (at most ${SNAPSHOT_HEADER_BYTES_MAX})`,
    );
  }
  const expected = bodyBytes + headerBytes + SNAPSHOT_TRAILER_BYTES + SNAPSHOT_CHECKSUM_BYTES;
  if (expected !== fileBytes) {
    throw new SnapshotError(
      "SNAPSHOT_MALFORMED",
      `${file} has ${fileBytes} bytes where its trailer says ${expected}: the file is cut or was added to (copy it again)`,
    );
  }
  return { headerBytes, bodyBytes, version };
}

/** What `numaxVersion` may hold: printable ASCII, no spaces ("0.1.0", "0.2.0-rc.1+abc"). */
const PRINTABLE_TOKEN = /^[\x21-\x7e]+$/;
/** What `createdAt` holds: `Date.prototype.toISOString`'s form. */
const ISO_UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Validates the JSON header of a file of format `version`. */
function parseSnapshotHeader(bytes: Uint8Array, version: number, file: string): SnapshotHeader {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SnapshotError("SNAPSHOT_MALFORMED", `${file}: the snapshot header is not JSON`);
  }
  const header = value as Partial<Record<keyof SnapshotHeader, unknown>> | null;
  if (
    typeof header !== "object" ||
    header === null ||
    !(header.nodeId === null || (typeof header.nodeId === "string" && isNodeId(header.nodeId))) ||
    typeof header.createdAt !== "string" ||
    typeof header.numaxVersion !== "string" ||
    !Number.isSafeInteger(header.recordFormatVersion) ||
    (version >= 2 && !Number.isSafeInteger(header.storeFormatVersion))
  ) {
    throw new SnapshotError(
      "SNAPSHOT_MALFORMED",
      `${file}: the snapshot header lacks nodeId, createdAt, numaxVersion, recordFormatVersion${version >= 2 ? " or storeFormatVersion" : ""}`,
    );
  }
  // Both are printed in one-line messages (a refusal names the version that wrote the file, a
  // restore the time it was taken): a newline or an escape from a crafted file must not reach them.
  if (!PRINTABLE_TOKEN.test(header.numaxVersion) || !ISO_UTC_TIME.test(header.createdAt)) {
    throw new SnapshotError(
      "SNAPSHOT_MALFORMED",
      `${file}: the snapshot header's numaxVersion is not a version (printable, no spaces) or its createdAt not an ISO 8601 UTC time`,
    );
  }
  return header as SnapshotHeader;
}

function unreadable(file: string, error: unknown): SnapshotError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory, not a file" : code;
  return new SnapshotError(
    "SNAPSHOT_FILE_UNREADABLE",
    `cannot read snapshot ${file}: ${reason ?? String(error)}`,
    {
      cause: error,
    },
  );
}

async function openForReading(file: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    throw unreadable(file, error);
  }
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw unreadable(file, Object.assign(new Error("directory"), { code: "EISDIR" }));
  }
  return handle;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, length));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, Math.max(0, position));
  return buffer.subarray(0, bytesRead);
}

async function readInfo(handle: FileHandle, file: string): Promise<SnapshotFileInfo> {
  const fileBytes = (await handle.stat()).size;
  const trailerAt = fileBytes - SNAPSHOT_CHECKSUM_BYTES - SNAPSHOT_TRAILER_BYTES;
  const trailer = trailerAt < 0 ? new Uint8Array(0) : await readAt(handle, trailerAt, SNAPSHOT_TRAILER_BYTES);
  const { headerBytes, bodyBytes, version } = parseSnapshotTrailer(trailer, fileBytes, file);
  const header = parseSnapshotHeader(await readAt(handle, bodyBytes, headerBytes), version, file);
  return { header, formatVersion: version, bodyBytes, fileBytes };
}

/** The header of a snapshot file, after checking its trailer (`verifySnapshotChecksum` checks the bytes). */
export async function readSnapshotFileInfo(file: string): Promise<SnapshotFileInfo> {
  const handle = await openForReading(file);
  try {
    return await readInfo(handle, file);
  } finally {
    await handle.close();
  }
}

/** The checksum field of format `version` over the first `length` bytes of `handle`. */
async function checksumPrefix(handle: FileHandle, length: number, version: number): Promise<Buffer> {
  const hash = await SNAPSHOT_CHECKSUMS.get(version)!.create();
  const buffer = Buffer.allocUnsafe(SNAPSHOT_HASH_CHUNK_BYTES);
  for (let offset = 0; offset < length; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - offset), offset);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${offset}`);
    hash.update(buffer.subarray(0, bytesRead));
    offset += bytesRead;
  }
  return hash.field();
}

/** SNAPSHOT_CHECKSUM_MISMATCH unless the last 32 bytes of `file` are its format's checksum of the rest. */
async function verifySnapshotChecksum(file: string, info: SnapshotFileInfo): Promise<void> {
  const handle = await openForReading(file);
  try {
    const checked = info.fileBytes - SNAPSHOT_CHECKSUM_BYTES;
    const [digest, stored] = await Promise.all([
      checksumPrefix(handle, checked, info.formatVersion),
      readAt(handle, checked, SNAPSHOT_CHECKSUM_BYTES),
    ]);
    if (!digest.equals(stored)) {
      throw new SnapshotError(
        "SNAPSHOT_CHECKSUM_MISMATCH",
        `${file} is damaged: its ${SNAPSHOT_CHECKSUMS.get(info.formatVersion)!.name} checksum does not match its bytes (copy it again from the original)`,
      );
    }
  } finally {
    await handle.close();
  }
}

/** Refuses an output file that exists, or whose directory does not. */
export async function assertWritableOutput(file: string): Promise<void> {
  let exists = true;
  try {
    await access(file);
  } catch {
    exists = false;
  }
  if (exists) {
    throw new SnapshotError(
      "SNAPSHOT_OUTPUT_EXISTS",
      `${file} exists already: name a new file (nothing is overwritten)`,
    );
  }
  const directory = dirname(file);
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {}
  if (!isDirectory) {
    throw new SnapshotError(
      "SNAPSHOT_OUTPUT_UNWRITABLE",
      `cannot write ${file}: ${directory} is not a directory (create it first)`,
    );
  }
}

/**
 * Turns a store's data file (a scratch copy, consumed) into snapshot `file`: the header, trailer
 * and checksum are appended to it, it is fsynced, then renamed, so a crash never leaves a file
 * that looks whole. Refuses an existing `file`; `dataFile` must be on the same file system.
 */
export async function sealSnapshotFile(
  dataFile: string,
  header: Required<SnapshotHeader>,
  file: string,
): Promise<{ bytes: number }> {
  await assertWritableOutput(file);
  const handle = await open(dataFile, "r+");
  try {
    const bodyBytes = (await handle.stat()).size;
    const tail = encodeSnapshotTail(header, bodyBytes);
    await handle.write(tail, 0, tail.length, bodyBytes);
    const digest = await checksumPrefix(handle, bodyBytes + tail.length, SNAPSHOT_FILE_FORMAT_VERSION);
    await handle.write(digest, 0, digest.length, bodyBytes + tail.length);
    await handle.sync();
    await renameDurably(dataFile, file);
    return { bytes: bodyBytes + tail.length + digest.length };
  } finally {
    await handle.close();
  }
}

/** Copies `file` to `dataFile` (a new file) with the kernel's copy, cuts it to `bodyBytes`, fsyncs it. */
async function copyBody(file: string, dataFile: string, bodyBytes: number): Promise<void> {
  await copyFile(file, dataFile, constants.COPYFILE_EXCL);
  const output = await open(dataFile, "r+");
  try {
    await output.truncate(bodyBytes);
    await output.sync();
  } finally {
    await output.close();
  }
}

/**
 * Writes the body of snapshot `file` to `dataFile` (a new file; fsynced): the kernel copies the
 * file, cuts and fsyncs the copy while the checksum is computed beside it; the body is the
 * caller's to use only once this returns, after both.
 * SNAPSHOT_CHECKSUM_MISMATCH (and `dataFile` removed) when the bytes are damaged.
 */
export async function extractSnapshotBody(file: string, dataFile: string): Promise<SnapshotFileInfo> {
  const info = await readSnapshotFileInfo(file);
  try {
    // The fsync waits on the disk while the hash keeps a core busy: overlapped, a restore costs
    // the longer of the two, not their sum (docs/design/snapshots.md, restore speed). Both
    // settle before anything is removed: a failed check must not race the copy it cleans up.
    const settled = await Promise.allSettled([
      copyBody(file, dataFile, info.bodyBytes),
      verifySnapshotChecksum(file, info),
    ]);
    for (const outcome of [settled[1], settled[0]]) if (outcome.status === "rejected") throw outcome.reason;
    return info;
  } catch (error) {
    await rm(dataFile, { force: true });
    throw error;
  }
}
