import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { crdtPackr } from "../crdt/msgpack.ts";
import type { Op } from "../crdt/op.ts";
import { opFromMsgpackValue, opToMsgpackValue } from "../crdt/op-codec.ts";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import { OPLOG_PREFIX, parseOriginKey, recordPayload, VV_PREFIX } from "../sync/replica/replica-layout.ts";
import { decodeOpPage } from "../sync/replica/replicated-state.ts";
import { DiagnoseError } from "./diagnose-error.ts";
import { readStore, storedNodeId, storeRows } from "./stored-replica.ts";

/**
 * An exported op-log (`nx oplog export`, read by `nx replay`), every integer big-endian:
 *
 *   magic            8 bytes   0x89 "NXOPLG" 0x0a
 *   format version   u16       OPLOG_FILE_FORMAT_VERSION
 *   flags            u16       0 (reserved)
 *   body             MessagePack: [header, [op...]], each op in the op codec's form
 *   checksum         SHA-256 of every byte before it
 *
 * The ops are the op-log's, in the order the node applied them (its own and its peers').
 */
const OPLOG_FILE_MAGIC = Uint8Array.of(0x89, 0x4e, 0x58, 0x4f, 0x50, 0x4c, 0x47, 0x0a);
export const OPLOG_FILE_FORMAT_VERSION = 1;
const PREFIX_BYTES = 12;
const CHECKSUM_BYTES = 32;
/** Largest op-log file `nx replay` reads (it is read whole): the default op_log_size_limit's 64 MiB of ops fits. */
const OPLOG_FILE_BYTES_MAX = 1024 * 1024 * 1024;

export interface OplogHeader {
  readonly nodeId: NodeId | null;
  readonly exportedAt: string;
  readonly numaxVersion: string;
  /**
   * Per origin, the highest sequence no longer in the op-log (evicted at `op_log_limit` or
   * covered by a state snapshot): a replay lacks those ops.
   */
  readonly floors: Readonly<Record<string, number>>;
}

export interface OplogExport {
  readonly header: OplogHeader;
  readonly ops: readonly Op[];
}

export function encodeOplogFile(oplog: OplogExport): Uint8Array {
  const body = crdtPackr.pack([oplog.header, oplog.ops.map(opToMsgpackValue)]);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.set(OPLOG_FILE_MAGIC, 0);
  prefix.writeUInt16BE(OPLOG_FILE_FORMAT_VERSION, 8);
  const checksum = createHash("sha256").update(prefix).update(body).digest();
  return Buffer.concat([prefix, body, checksum]);
}

function invalid(file: string, why: string): DiagnoseError {
  return new DiagnoseError("DIAGNOSE_OPLOG_INVALID", `${file}: ${why}`);
}

export function decodeOplogFile(bytes: Uint8Array, file: string): OplogExport {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.length < PREFIX_BYTES + CHECKSUM_BYTES || !OPLOG_FILE_MAGIC.every((byte, i) => view[i] === byte)) {
    throw invalid(
      file,
      "not an op-log export (no op-log magic at its start): give a file written by nx oplog export",
    );
  }
  const version = view.readUInt16BE(8);
  if (version !== OPLOG_FILE_FORMAT_VERSION) {
    throw invalid(file, `op-log format ${version}; this Numax reads format ${OPLOG_FILE_FORMAT_VERSION}`);
  }
  const end = view.length - CHECKSUM_BYTES;
  if (!createHash("sha256").update(view.subarray(0, end)).digest().equals(view.subarray(end))) {
    throw invalid(file, "damaged: its SHA-256 checksum does not match its bytes (copy it again)");
  }
  try {
    const [rawHeader, rawOps] = crdtPackr.unpack(view.subarray(PREFIX_BYTES, end)) as [unknown, unknown];
    const header = rawHeader as OplogHeader;
    if (typeof header?.exportedAt !== "string" || !(header.nodeId === null || isNodeId(header.nodeId))) {
      throw new TypeError("bad header");
    }
    if (!Array.isArray(rawOps)) throw new TypeError("no op list");
    return { header, ops: rawOps.map((raw: unknown, i: number) => opFromMsgpackValue(raw, `op ${i}`)) };
  } catch (error) {
    throw invalid(file, `malformed body (${(error as Error).message})`);
  }
}

/** The op-log of the datastore at `path`, read-only (a node may keep running on it). */
export function readOplog(
  path: string,
  options: { numaxVersion: string; nowMs: number },
): Promise<OplogExport> {
  return readStore(path, (db) => {
    const floors: Record<string, number> = {};
    for (const [key, value] of storeRows(db, VV_PREFIX)) {
      const record = crdtPackr.unpack(recordPayload(value, "version vector entry")) as unknown;
      if (Array.isArray(record) && typeof record[1] === "number" && record[1] > 0) {
        floors[parseOriginKey(key, VV_PREFIX.length)] = record[1];
      }
    }
    const ops: Op[] = [];
    for (const [, value] of storeRows(db, OPLOG_PREFIX)) ops.push(...decodeOpPage(value));
    const header = {
      nodeId: storedNodeId(db),
      exportedAt: new Date(options.nowMs).toISOString(),
      numaxVersion: options.numaxVersion,
      floors,
    };
    return { header, ops };
  });
}

export async function writeOplogFile(file: string, oplog: OplogExport): Promise<void> {
  await writeFile(file, encodeOplogFile(oplog), { flag: "wx", mode: 0o600 });
}

export async function readOplogFile(file: string): Promise<OplogExport> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw invalid(file, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (bytes.length > OPLOG_FILE_BYTES_MAX) throw invalid(file, `larger than ${OPLOG_FILE_BYTES_MAX} bytes`);
  return decodeOplogFile(bytes, file);
}
