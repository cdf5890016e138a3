import { silentLogger } from "../observe/logger.ts";
import { type LmdbBackend, type LmdbBackendOptions, openLmdbBackend } from "./lmdb-backend.ts";
import { ensureStoreFormat, type StoreFormatOutcome } from "./store-format.ts";

/** A node's datastore, open: its store, and what opening did to the store's format. */
export interface OpenedDatastore {
  readonly backend: LmdbBackend;
  readonly format: StoreFormatOutcome;
}

/**
 * Opens a node's datastore: the LMDB store (`openLmdbBackend`), then its format marker checked
 * before anything reads a record (`ensureStoreFormat`): a new store is marked, an older one
 * migrated after a copy, a newer one refused. Every opener of a node's data goes through here; the
 * bare KV backend stays free of the marker so that its contract suite sees only its own keys.
 *
 * @throws StoreError as `openLmdbBackend`, and STORE_FORMAT_NEWER or STORE_CORRUPT (damaged marker).
 * @example
 * const { backend, format } = await openDatastore({ path: "./nx-data", logger });
 */
export async function openDatastore(options: LmdbBackendOptions): Promise<OpenedDatastore> {
  const backend = await openLmdbBackend(options);
  try {
    const format = await ensureStoreFormat(backend, (options.logger ?? silentLogger).child("store"));
    return { backend, format };
  } catch (error) {
    await backend.close();
    throw error;
  }
}
