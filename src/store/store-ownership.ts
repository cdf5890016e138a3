/**
 * Who has a datastore open. LMDB itself lets several processes share an environment, but a
 * Numax store holds LMDB's single write lock across a whole event-loop turn (see
 * docs/design/store.md), so a second writer would stall: each store is owned by one backend.
 */

/** Store directories (real paths) opened by a backend of this process and not yet closed. */
const openInThisProcess = new Set<string>();

/** Records `storePath` as open here; false when it already is. */
export function claimInThisProcess(storePath: string): boolean {
  if (openInThisProcess.has(storePath)) return false;
  openInThisProcess.add(storePath);
  return true;
}

export function releaseInThisProcess(storePath: string): void {
  openInThisProcess.delete(storePath);
}

/**
 * Process ids, other than `ownPid`, holding a slot in LMDB's reader table. `readerList` is the
 * text of `mdb_reader_list` (lmdb-js `readerList()`): a header line, then one line per slot,
 * "pid thread txnid". Slots of dead processes must have been cleared first (`readerCheck()`).
 *
 * @example otherReaderPids("  pid  thread  txnid\n  4242 7f0a 12\n", 1) // [4242]
 */
export function otherReaderPids(readerList: string, ownPid: number): number[] {
  const pids = new Set<number>();
  for (const line of readerList.split("\n")) {
    const match = /^[\s,]*(\d+)\s+[0-9a-fA-F]+\s+(?:\d+|-)\s*$/.exec(line);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid !== ownPid) pids.add(pid);
  }
  return [...pids];
}
