import { resolve } from "node:path";
import { crdtFamilyOf, isCrdtFamilyName } from "../node/crdt-values.ts";
import type { Determinism } from "../node/determinism.ts";
import { inspectObject, renderInspected } from "./crdt-inspection.ts";
import { DiagnoseError } from "./diagnose-error.ts";
import { readOplog, readOplogFile, writeOplogFile } from "./oplog-file.ts";
import { replayOplog } from "./replay-oplog.ts";
import { diffReplicas, renderDiff } from "./replica-diff.ts";
import { objectId, readStoredReplica } from "./stored-replica.ts";

/**
 * `nx inspect`, `nx diff`, `nx oplog export` and `nx replay` (docs/guides/diagnosing-divergence.md).
 * The first three read datastores directly, read-only, so they work on a stopped node's
 * directory, a restored snapshot, or the directory of a node that is running; `replay` writes a
 * new one. Each returns the command's exit code.
 */
export interface DiagnoseOutput {
  write(text: string): unknown;
}

/** `nx inspect` exit code when no CRDT is under the key. */
const EXIT_KEY_NOT_FOUND = 1;
/** `nx diff` exit code when the replicated state differs. */
const EXIT_DIFFERS = 1;

export async function runInspect(
  key: string,
  options: { readonly datastorePath: string; readonly family?: string; readonly json?: boolean },
  out: DiagnoseOutput,
  err: DiagnoseOutput,
): Promise<number> {
  const family = options.family;
  if (family !== undefined && !isCrdtFamilyName(family)) {
    throw new DiagnoseError(
      "DIAGNOSE_BAD_ARGUMENT",
      `--family must be one of gcounter, pncounter, lww-register, lww-map, orset, rga, got "${family}"`,
    );
  }
  const replica = await readStoredReplica(options.datastorePath);
  const objects = [...replica.objects.values()]
    .filter((object) => object.key === key)
    .filter(
      (object) =>
        family === undefined || objectId(object.family, key) === objectId(crdtFamilyOf(family), key),
    )
    .map(inspectObject);
  if (objects.length === 0) {
    err.write(
      `nx: no CRDT${family === undefined ? "" : ` of family ${family}`} under key "${key}" in ${replica.datastorePath}\n`,
    );
    return EXIT_KEY_NOT_FOUND;
  }
  out.write(
    options.json === true ? `${JSON.stringify(objects, null, 2)}\n` : objects.map(renderInspected).join(""),
  );
  return 0;
}

export async function runDiff(
  pathA: string,
  pathB: string,
  options: { readonly json?: boolean },
  out: DiagnoseOutput,
): Promise<number> {
  const [a, b] = await Promise.all([readStoredReplica(pathA), readStoredReplica(pathB)]);
  const diff = diffReplicas(a, b);
  out.write(
    options.json === true
      ? `${JSON.stringify({ a: a.datastorePath, b: b.datastorePath, ...diff }, null, 2)}\n`
      : renderDiff(diff, a.datastorePath, b.datastorePath),
  );
  return diff.differences.length === 0 ? 0 : EXIT_DIFFERS;
}

function incompleteNote(floors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(floors);
  if (entries.length === 0) return "";
  const list = entries.map(([origin, seq]) => `${origin} up to ${seq}`).join(", ");
  return `note: the op-log no longer holds the ops of ${list} (evicted or covered by a state snapshot): a replay lacks them\n`;
}

export async function runOplogExport(
  file: string,
  options: { readonly datastorePath: string; readonly numaxVersion: string },
  out: DiagnoseOutput,
  err: DiagnoseOutput,
): Promise<number> {
  const output = resolve(file);
  const oplog = await readOplog(options.datastorePath, {
    numaxVersion: options.numaxVersion,
    nowMs: Date.now(),
  });
  try {
    await writeOplogFile(output, oplog);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DiagnoseError(
      "DIAGNOSE_OPLOG_INVALID",
      `cannot write ${output}: ${code === "EEXIST" ? "it exists already (nothing is overwritten)" : (code ?? String(error))}`,
      { cause: error },
    );
  }
  const node = oplog.header.nodeId === null ? "" : ` of node ${oplog.header.nodeId}`;
  out.write(`exported ${oplog.ops.length} ops${node} to ${output}\n`);
  err.write(incompleteNote(oplog.header.floors));
  return 0;
}

export async function runReplay(
  file: string,
  directory: string,
  options: { readonly determinism?: Determinism },
  out: DiagnoseOutput,
  err: DiagnoseOutput,
): Promise<number> {
  const oplog = await readOplogFile(resolve(file));
  const result = await replayOplog(oplog, directory, options.determinism);
  out.write(
    `replayed ${oplog.ops.length} ops into ${result.datastorePath}: ${result.applied} applied, ${result.duplicates} already seen\n`,
  );
  err.write(incompleteNote(oplog.header.floors));
  return 0;
}
