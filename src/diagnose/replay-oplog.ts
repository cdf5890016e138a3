import { resolve } from "node:path";
import { type Determinism, randomBytesSource } from "../node/determinism.ts";
import { newDatastoreProblem } from "../store/datastore-layout.ts";
import { openDatastore } from "../store/open-datastore.ts";
import { loadOrCreateNodeId } from "../sync/replica/node-identity.ts";
import { openReplicatedState } from "../sync/replica/replicated-state.ts";
import { DiagnoseError } from "./diagnose-error.ts";
import type { OplogExport } from "./oplog-file.ts";

/** What `nx replay` did. */
export interface ReplayResult {
  readonly datastorePath: string;
  /** Ops that changed the replayed state's version vector (new ones). */
  readonly applied: number;
  /** Ops whose id the replay had seen already. */
  readonly duplicates: number;
  /** Origins whose early ops are not in the export (see OplogHeader.floors). */
  readonly incompleteOrigins: readonly string[];
}

async function assertEmpty(path: string): Promise<void> {
  const problem = await newDatastoreProblem(path);
  if (problem !== undefined) {
    throw new DiagnoseError(
      "DIAGNOSE_TARGET_NOT_EMPTY",
      `${path} ${problem}: replay into a new or empty directory (a replay never merges into a store)`,
    );
  }
}

/**
 * Applies an exported op-log, in its order, to a new store at `path`, as remote ops (every op
 * kept whatever its stamp: a replay applies history, it does not judge clocks). With
 * `determinism`, the replayed store's own identity and clock come from its seed.
 */
export async function replayOplog(
  oplog: OplogExport,
  path: string,
  determinism?: Determinism,
): Promise<ReplayResult> {
  const datastorePath = resolve(path);
  await assertEmpty(datastorePath);
  const { backend } = await openDatastore({ path: datastorePath });
  try {
    const nodeId = await loadOrCreateNodeId(backend, randomBytesSource(determinism));
    const replica = openReplicatedState({
      backend,
      nodeId,
      nowMs: determinism?.nowMs,
      maxClockDriftMs: Number.MAX_SAFE_INTEGER,
    });
    const fresh = replica.applyRemote(oplog.ops);
    await replica.close();
    return {
      datastorePath,
      applied: fresh.length,
      duplicates: oplog.ops.length - fresh.length,
      incompleteOrigins: Object.keys(oplog.header.floors),
    };
  } finally {
    await backend.close();
  }
}
