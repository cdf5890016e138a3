import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { open } from "lmdb";
import type { Crdt } from "../crdt/crdt.ts";
import { FAMILY_DEFINITIONS } from "../crdt/crdt-families.ts";
import { crdtPackr } from "../crdt/msgpack.ts";
import type { CrdtFamily } from "../crdt/op.ts";
import type { VersionVector } from "../crdt/version-vector.ts";
import type { NodeId } from "../identity/node-id.ts";
import { STORE_DIRECTORY_NAME } from "../store/datastore-layout.ts";
import { StoreError } from "../store/store-error.ts";
import { readableStoreFormat, STORE_FORMAT_KEY } from "../store/store-format.ts";
import { storedNodeIdOf } from "../sync/replica/node-identity.ts";
import {
  CRDT_PREFIX,
  NODE_ID_KEY,
  parseCellStorageKey,
  parseOriginKey,
  recordPayload,
  VV_PREFIX,
} from "../sync/replica/replica-layout.ts";
import { DiagnoseError } from "./diagnose-error.ts";

/** One CRDT as a store holds it: its family, key and state (rebuilt from its stored cells). */
export interface StoredObject {
  readonly family: CrdtFamily;
  readonly key: string;
  readonly crdt: Crdt<unknown>;
}

/** The replicated state of a datastore, read as it is on disk (what a node would hydrate). */
export interface StoredReplica {
  readonly datastorePath: string;
  readonly nodeId: NodeId | null;
  /** Contiguous sequence per origin. */
  readonly vector: VersionVector;
  /** Every CRDT, by `family/key`, in storage order (family, then key). */
  readonly objects: ReadonlyMap<string, StoredObject>;
}

/** The map key of an object in `StoredReplica.objects`. */
export function objectId(family: CrdtFamily, key: string): string {
  return `${family}/${key}`;
}

type ReadOnlyStore = ReturnType<typeof open<Uint8Array, Uint8Array>>;

/** The rows under `prefix`, in key order. */
export function* storeRows(
  db: ReadOnlyStore,
  prefix: Uint8Array,
): Generator<readonly [Uint8Array, Uint8Array]> {
  const end = new Uint8Array(prefix);
  end[end.length - 1]!++;
  for (const { key, value } of db.getRange({ start: prefix, end })) yield [key as Uint8Array, value] as const;
}

/**
 * Runs `read` on the store of the datastore at `path` opened read-only: a node may keep running
 * on it. `read` is synchronous, so lmdb-js serves it from one read transaction (one commit's
 * state). A record this build cannot read is DIAGNOSE_STORE_UNREADABLE.
 */
export async function readStore<T>(
  path: string,
  read: (db: ReadOnlyStore, datastorePath: string) => T,
): Promise<T> {
  const datastorePath = resolve(path);
  const storePath = join(datastorePath, STORE_DIRECTORY_NAME);
  if (!existsSync(join(storePath, "data.mdb"))) {
    throw new DiagnoseError(
      "DIAGNOSE_NO_STORE",
      `${datastorePath} holds no store (no ${STORE_DIRECTORY_NAME}/data.mdb): name the datastore directory of a node`,
    );
  }
  const db = open<Uint8Array, Uint8Array>({
    path: storePath,
    keyEncoding: "binary",
    encoding: "binary",
    readOnly: true,
  });
  try {
    readableStoreFormat(db.getBinary(STORE_FORMAT_KEY), datastorePath);
    return read(db, datastorePath);
  } catch (error) {
    if (error instanceof DiagnoseError || error instanceof StoreError) throw error;
    throw new DiagnoseError(
      "DIAGNOSE_STORE_UNREADABLE",
      `cannot read the store in ${datastorePath}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await db.close();
  }
}

/** Reads the replicated state of the datastore at `path` (guests' own keys are not replicated and not read). */
export function readStoredReplica(path: string): Promise<StoredReplica> {
  return readStore(path, readState);
}

/** The identity the store records (`__nx/node/id`), or null. */
export function storedNodeId(db: ReadOnlyStore): NodeId | null {
  return storedNodeIdOf(db.getBinary(NODE_ID_KEY));
}

function readState(db: ReadOnlyStore, datastorePath: string): StoredReplica {
  const vector = new Map<NodeId, number>();
  for (const [key, value] of storeRows(db, VV_PREFIX)) {
    const record = crdtPackr.unpack(recordPayload(value, "version vector entry")) as unknown;
    if (Array.isArray(record) && Number.isSafeInteger(record[0])) {
      vector.set(parseOriginKey(key, VV_PREFIX.length), record[0] as number);
    }
  }
  const objects = new Map<string, StoredObject>();
  for (const [key, value] of storeRows(db, CRDT_PREFIX)) {
    const { family, key: objectKey } = parseCellStorageKey(key);
    const id = objectId(family, objectKey);
    let object = objects.get(id);
    if (object === undefined) {
      object = { family, key: objectKey, crdt: FAMILY_DEFINITIONS[family].create() as Crdt<unknown> };
      objects.set(id, object);
    }
    const codec = FAMILY_DEFINITIONS[family].cellCodec as {
      fromMsgpack(raw: unknown, path: string): unknown;
    };
    object.crdt.mergeCell(
      codec.fromMsgpack(crdtPackr.unpack(recordPayload(value, "CRDT cell")), `${id} cell`),
    );
  }
  return { datastorePath, nodeId: storedNodeId(db), vector, objects };
}
