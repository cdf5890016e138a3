import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { createDirectories } from "../fs/create-directories.ts";
import type { Logger } from "../observe/logger.ts";
import { STORE_DIRECTORY_NAME } from "./datastore-layout.ts";
import type { ExtendedKvBackend } from "./extended-kv-backend.ts";
import { reservedKey } from "./reserved-keys.ts";
import { StoreError } from "./store-error.ts";

/**
 * The store's format marker, `__nx/format`: STORE_FORMAT_MAGIC then the format version (u16
 * big-endian). Every opener reads it first (`ensureStoreFormat`): a store of a newer format is
 * refused before anything reads a record this build might misread, an older one is migrated.
 * See docs/design/compatibility.md#store-format.
 */
export const STORE_FORMAT_KEY: Uint8Array = reservedKey("format");

/** "NXST": a value under STORE_FORMAT_KEY without it is damage, not a format. */
export const STORE_FORMAT_MAGIC: Uint8Array = new TextEncoder().encode("NXST");

/**
 * The store format this build writes. Format 0 is a store from before the marker (Numax 0.1.x up
 * to this change): the same layout as format 1 without `__nx/format`. Format 2 adds two kinds of
 * RGA cell (a ghost and an anchored element, what collecting a queue's tombstones leaves), which
 * a format-1 build cannot decode. Format 3 lets op-log pages hold `lww_map_batch` ops (op kind 11,
 * what `[sync] coalesce_map_writes` makes), which a format-2 build cannot decode. Bump it with every
 * change to a stored key or record layout, and add the step from the previous format to
 * STORE_MIGRATIONS.
 */
export const STORE_FORMAT_VERSION = 3;

/**
 * Where the copy of a store taken before migrating it to format N lives:
 * `<datastore>/migration-backups/before-format-N/`, itself a datastore directory (an older `nx`
 * runs on it with `--datastore-path`).
 */
export const MIGRATION_BACKUPS_DIRECTORY = "migration-backups";

/** The copy being taken goes to `before-format-N.partial/` and is renamed when complete. */
const PARTIAL_SUFFIX = ".partial";

/**
 * One step from format `from` to `from + 1`. `migrate` must be idempotent: a crash before the
 * marker says `from + 1` runs it again on a store it may have half changed.
 */
export interface StoreMigration {
  readonly from: number;
  readonly description: string;
  migrate(backend: ExtendedKvBackend): Promise<void> | void;
}

export const STORE_MIGRATIONS: readonly StoreMigration[] = [
  {
    from: 0,
    description: "record the store format (format 0's records are format 1's)",
    migrate: () => {},
  },
  {
    from: 1,
    description: "allow RGA ghost and anchored cells (format 1's records are format 2's)",
    migrate: () => {},
  },
  {
    from: 2,
    description: "allow lww_map_batch ops in op-log pages (format 2's records are format 3's)",
    migrate: () => {},
  },
];

/** The store `ensureStoreFormat` works on: a backend that can copy itself (LMDB's copy). */
export interface FormattedStore extends ExtendedKvBackend {
  readonly datastorePath: string;
  copyCompacted(directory: string): Promise<void>;
}

/** What opening did to the store's format. */
export interface StoreFormatOutcome {
  /** The format the store had: STORE_FORMAT_VERSION for a new store. */
  readonly from: number;
  readonly to: number;
  /** The copy taken before migrating, when the store was migrated. */
  readonly backupPath: string | undefined;
}

export function encodeStoreFormat(version: number): Uint8Array {
  const value = new Uint8Array(STORE_FORMAT_MAGIC.length + 2);
  value.set(STORE_FORMAT_MAGIC, 0);
  new DataView(value.buffer).setUint16(STORE_FORMAT_MAGIC.length, version);
  return value;
}

/** The format a marker value names; undefined (no marker) is format 0 unless the store is empty. */
export function decodeStoreFormat(value: Uint8Array, datastorePath: string): number {
  const magic = value.subarray(0, STORE_FORMAT_MAGIC.length);
  if (value.length !== STORE_FORMAT_MAGIC.length + 2 || !magic.every((b, i) => b === STORE_FORMAT_MAGIC[i])) {
    throw new StoreError(
      "STORE_CORRUPT",
      `datastore ${datastorePath} has a damaged format marker (__nx/format is not "NXST" + version): restore it from a snapshot`,
    );
  }
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint16(STORE_FORMAT_MAGIC.length);
}

/**
 * The format of a store whose marker is `marker` (undefined: format 0); STORE_FORMAT_NEWER when
 * this build cannot read it. Read-only openers (`nx inspect`, `nx diff`) check this alone.
 */
export function readableStoreFormat(
  marker: Uint8Array | undefined,
  datastorePath: string,
  readableVersion = STORE_FORMAT_VERSION,
): number {
  const format = marker === undefined ? 0 : decodeStoreFormat(marker, datastorePath);
  if (format > readableVersion) {
    throw new StoreError(
      "STORE_FORMAT_NEWER",
      `datastore ${datastorePath} was written by a newer Numax (store format ${format}; this build reads formats up to ${readableVersion}): run that version or newer`,
    );
  }
  return format;
}

/**
 * Refuses a store of a newer format (STORE_FORMAT_NEWER), marks a new one, and migrates an older
 * one: first a copy of it under MIGRATION_BACKUPS_DIRECTORY (taken once per target format, so a
 * retry after a crash never overwrites the pristine copy with a half-migrated one; renamed into
 * place only when whole, so a copy cut short is taken again), then each step
 * with the marker advanced and made durable after it. A crash anywhere leaves a marker naming the
 * last finished step; the next open resumes from there.
 */
export async function ensureStoreFormat(
  store: FormattedStore,
  logger: Logger,
  migrations: readonly StoreMigration[] = STORE_MIGRATIONS,
  targetVersion = STORE_FORMAT_VERSION,
): Promise<StoreFormatOutcome> {
  const marker = store.get(STORE_FORMAT_KEY);
  const isEmpty =
    marker === undefined && [...store.range({ prefix: new Uint8Array(0), limit: 1 })].length === 0;
  if (isEmpty) {
    store.put(STORE_FORMAT_KEY, encodeStoreFormat(targetVersion));
    await store.flushed();
    return { from: targetVersion, to: targetVersion, backupPath: undefined };
  }
  const from = readableStoreFormat(marker, store.datastorePath, targetVersion);
  if (from === targetVersion) return { from, to: from, backupPath: undefined };
  const backupPath = join(store.datastorePath, MIGRATION_BACKUPS_DIRECTORY, `before-format-${targetVersion}`);
  if (!existsSync(join(backupPath, STORE_DIRECTORY_NAME, "data.mdb"))) {
    // Copied aside, then renamed into place: a crash mid-copy leaves only the partial directory,
    // which the next attempt discards, never a truncated copy that would pass for the backup.
    const partialPath = `${backupPath}${PARTIAL_SUFFIX}`;
    await rm(partialPath, { recursive: true, force: true });
    createDirectories(join(partialPath, STORE_DIRECTORY_NAME));
    await store.copyCompacted(join(partialPath, STORE_DIRECTORY_NAME));
    await rm(backupPath, { recursive: true, force: true });
    await rename(partialPath, backupPath);
  }
  for (let version = from; version < targetVersion; version++) {
    const step = migrations.find((m) => m.from === version);
    if (step === undefined) throw new Error(`no store migration from format ${version}`);
    logger.info("migrating the store", { from: version, to: version + 1, step: step.description });
    await step.migrate(store);
    store.put(STORE_FORMAT_KEY, encodeStoreFormat(version + 1));
    await store.flushed();
  }
  logger.info("store migrated", { from, to: targetVersion, backup: backupPath });
  return { from, to: targetVersion, backupPath };
}
