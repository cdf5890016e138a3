import { constants as fsConstants } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { resolveClientTarget, type TargetOptions } from "../client/client-target.ts";
import { formatBytes } from "../client/client-views.ts";
import { ManagementClient } from "../client/management-client.ts";
import { type NodeId, nodeIdFromCertificate } from "../identity/node-id.ts";
import { renderColumns } from "../text/text-columns.ts";
import { exportDatastore } from "./export-datastore.ts";
import type { SnapshotEntry } from "./node-snapshots.ts";
import { type RestoreResult, restoreSnapshot } from "./restore-snapshot.ts";
import { SnapshotError } from "./snapshot-error.ts";
import { assertWritableOutput } from "./snapshot-file.ts";

/**
 * `nx snapshot create|list|restore|export|import` (docs/cli.md "Snapshots"): `create` and `list`
 * ask the running node (POST and GET /api/v1/snapshots); `export FILE --datastore-path DIR` and
 * `import FILE --datastore-path DIR` work on directories with no node running; `export FILE`
 * alone has the node take a snapshot and copies its file, `restore ID` restores one of the
 * node's snapshots into a new datastore.
 */
export interface SnapshotOutput {
  write(text: string): unknown;
}

export interface SnapshotClientOptions extends TargetOptions {
  readonly json?: boolean;
}

export interface RestoreCommandOptions extends SnapshotClientOptions {
  readonly datastorePath: string;
  readonly tlsCert?: string;
  readonly newIdentity?: boolean;
  readonly sameIdentity?: boolean;
}

function print(out: SnapshotOutput, json: boolean | undefined, value: unknown, text: string): void {
  out.write(json === true ? `${JSON.stringify(value, null, 2)}\n` : text);
}

async function client(options: TargetOptions): Promise<ManagementClient> {
  return new ManagementClient(await resolveClientTarget(options));
}

const nodeName = (nodeId: string | null): string =>
  nodeId === null ? "(unrecorded node)" : `node ${nodeId}`;

export async function runSnapshotCreate(options: SnapshotClientOptions, out: SnapshotOutput): Promise<void> {
  const entry = await (await client(options)).post<SnapshotEntry>("/snapshots");
  print(
    out,
    options.json,
    entry,
    `snapshot ${entry.id} of ${nodeName(entry.nodeId)}: ${entry.path} (${formatBytes(entry.bytes)})\n`,
  );
}

function renderSnapshots(entries: readonly SnapshotEntry[]): string {
  if (entries.length === 0) return "(no snapshots: nx snapshot create takes one)\n";
  return renderColumns([
    ["ID", "CREATED", "SIZE", "NODE", "PATH"],
    ...entries.map((entry) => [
      entry.id,
      entry.createdAt,
      formatBytes(entry.bytes),
      entry.nodeId ?? "-",
      entry.path,
    ]),
  ]);
}

export async function runSnapshotList(options: SnapshotClientOptions, out: SnapshotOutput): Promise<void> {
  const entries = await (await client(options)).get<SnapshotEntry[]>("/snapshots");
  print(out, options.json, entries, renderSnapshots(entries));
}

/** The identity `--tls-cert` names, when given. */
async function certifiedNodeId(certFile: string | undefined): Promise<NodeId | undefined> {
  if (certFile === undefined) return undefined;
  try {
    return nodeIdFromCertificate(await readFile(certFile));
  } catch (error) {
    throw new SnapshotError(
      "SNAPSHOT_CERT_INVALID",
      `cannot read --tls-cert ${certFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (give the node.crt written by nx cert node)`,
      { cause: error },
    );
  }
}

function restoredLine(file: string, result: RestoreResult): string {
  const as =
    result.nodeId === null
      ? result.header.nodeId === null
        ? ""
        : " with a new identity (the node takes its certificate's or makes one)"
      : ` as node ${result.nodeId}`;
  return `restored ${file} (${nodeName(result.header.nodeId)}, taken ${result.header.createdAt}) into ${result.datastorePath}${as}\n`;
}

async function restoreFile(file: string, options: RestoreCommandOptions, out: SnapshotOutput): Promise<void> {
  const result = await restoreSnapshot(file, {
    datastorePath: options.datastorePath,
    nodeId: await certifiedNodeId(options.tlsCert),
    newIdentity: options.newIdentity,
    sameIdentity: options.sameIdentity,
  });
  print(out, options.json, result, restoredLine(file, result));
}

export async function runSnapshotImport(
  file: string,
  options: RestoreCommandOptions,
  out: SnapshotOutput,
): Promise<void> {
  await restoreFile(resolve(file), options, out);
}

export async function runSnapshotRestore(
  id: string,
  options: RestoreCommandOptions,
  out: SnapshotOutput,
): Promise<void> {
  const entries = await (await client(options)).get<SnapshotEntry[]>("/snapshots");
  const entry = entries.find((candidate) => candidate.id === id);
  if (entry === undefined) {
    throw new SnapshotError(
      "SNAPSHOT_NOT_FOUND",
      `the node has no snapshot ${id}${entries.length === 0 ? "" : ` (newest: ${entries.at(-1)!.id})`}: nx snapshot list shows them`,
    );
  }
  await restoreFile(entry.path, options, out);
}

export async function runSnapshotExport(
  file: string,
  options: SnapshotClientOptions & { readonly datastorePath?: string; readonly numaxVersion: string },
  out: SnapshotOutput,
): Promise<void> {
  const output = resolve(file);
  if (options.datastorePath !== undefined) {
    const { bytes, nodeId } = await exportDatastore(options.datastorePath, output, {
      numaxVersion: options.numaxVersion,
      nowMs: Date.now(),
    });
    print(
      out,
      options.json,
      { file: output, bytes, nodeId },
      `exported ${nodeName(nodeId)} to ${output} (${formatBytes(bytes)})\n`,
    );
    return;
  }
  await assertWritableOutput(output);
  const entry = await (await client(options)).post<SnapshotEntry>("/snapshots");
  try {
    await copyFile(entry.path, output, fsConstants.COPYFILE_EXCL);
  } catch (error) {
    throw new SnapshotError(
      "SNAPSHOT_FILE_UNREADABLE",
      `the node took snapshot ${entry.id} but its file ${entry.path} cannot be copied from here (${(error as NodeJS.ErrnoException).code}): run this on the node's machine, or copy that file yourself`,
      { cause: error },
    );
  }
  print(
    out,
    options.json,
    { ...entry, file: output },
    `exported snapshot ${entry.id} of ${nodeName(entry.nodeId)} to ${output} (${formatBytes(entry.bytes)})\n`,
  );
}
