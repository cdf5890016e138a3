/**
 * The write path's promise to guests, against real `nx` processes killed with SIGKILL: under the
 * default durability ("group"), a line a guest logs after a write leaves the node only once that
 * write is on disk. So whatever count the guest was seen to log, the store holds at least that
 * count after kill -9 at any moment: with the guest writing in a tight loop, and with it sleeping
 * 1 ms between bursts (it wakes while commits are under way). The same for increments of a
 * replicated GCounter, which wait in the replica's batch before they reach the store. And over
 * HTTP: a handler's reply acknowledges its write, so every key a client got a 204 for is in the
 * store after kill -9.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import { storedNodeIdOf } from "../src/sync/replica/node-identity.ts";
import { NODE_ID_KEY } from "../src/sync/replica/replica-layout.ts";
import { openReplicatedState } from "../src/sync/replica/replicated-state.ts";
import { guestPath, type NxProcess, startNx, tempDir } from "./helpers/nx-process.ts";

const WRITER = guestPath("ack_writer");
const SERVER = guestPath("ack_server");
/** Clients writing at once over HTTP: replies race the group commits. */
const HTTP_CLIENTS = 8;
const RUNS_PER_MODE = 6;
const KEY = new TextEncoder().encode("ack/count");

const cleanups: (() => void)[] = [];
const running = new Set<NxProcess>();
after(() => {
  for (const nx of running) nx.child.kill("SIGKILL");
  for (const cleanup of cleanups) cleanup();
});

/** A seeded 32-bit generator: the same kill points in every run of the suite. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function loggedAcks(nx: NxProcess): number[] {
  return [...nx.stderr().matchAll(/\back (\d+)/g)].map((match) => Number(match[1]));
}

/** Resolves once the guest has logged `count` acknowledgements (fails if it exits first, or after 30 s). */
function ackLines(nx: NxProcess, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${count} acks within 30 s:\n${nx.stderr()}`)), 30_000);
    const check = (): void => {
      if (loggedAcks(nx).length >= count) done();
    };
    const done = (error?: Error): void => {
      clearTimeout(timer);
      nx.child.stderr!.off("data", check);
      if (error === undefined) resolve();
      else reject(error);
    };
    nx.child.stderr!.on("data", check);
    void nx.exited.then(() => done(new Error(`nx exited before ${count} acks:\n${nx.stderr()}`)));
    check();
  });
}

/** Whether the guest writes `ack/count` with `db_set` or increments the replicated GCounter `ack`. */
type AckWrite = "db" | "gcounter";

async function killAfterAcks(
  seed: number,
  sleepEvery: number,
  kind: AckWrite = "db",
): Promise<{ logged: number; stored: number }> {
  const dir = tempDir("nx-guest-durability-");
  cleanups.push(dir.remove);
  const random = seeded(seed);
  // The replicated state exists on a node with sync on.
  const sync = kind === "gcounter" ? ["--listen", "127.0.0.1:0", "--tls-insecure"] : [];
  const nx = startNx(["run", WRITER, "--datastore-path", dir.path, ...sync], {
    NX_WRITES: "50000000",
    NX_LOG_ONE_IN: String(500 + Math.floor(random() * 5000)),
    NX_SLEEP_EVERY: String(sleepEvery),
    NX_GCOUNTER: kind === "gcounter" ? "1" : "0",
  });
  running.add(nx);
  try {
    // Kill after a seeded number of acknowledgements: somewhere in the first second or so.
    const acks = 1 + Math.floor(random() * 25);
    await ackLines(nx, acks);
    nx.child.kill("SIGKILL");
    const { signal } = await nx.exited;
    assert.equal(signal, "SIGKILL", "the guest was still running when killed");
  } finally {
    running.delete(nx);
  }
  const logged = Math.max(...loggedAcks(nx));
  const store = await openLmdbBackend({ path: dir.path });
  try {
    if (kind === "gcounter") {
      const nodeId = storedNodeIdOf(store.get(NODE_ID_KEY));
      assert.ok(nodeId !== null, "the node stored its id");
      const replica = openReplicatedState({ backend: store, nodeId });
      const stored = Number(replica.gcounterValue("ack"));
      await replica.close();
      return { logged, stored };
    }
    const value = store.get(KEY);
    return { logged, stored: value === undefined ? 0 : Number(new TextDecoder().decode(value)) };
  } finally {
    await store.close();
  }
}

describe("a guest's acknowledged writes survive kill -9", { timeout: 300_000 }, () => {
  for (const [mode, sleepEvery, kind] of [
    ["writing in a tight loop", 0, "db"],
    ["sleeping 1 ms after every 500 writes", 500, "db"],
    // Increments wait in the replica's batch (STORE_BATCH_INTERVAL_MS): output flushes it first.
    ["GCounter increments in a tight loop", 0, "gcounter"],
    ["GCounter increments, sleeping 1 ms after every 500", 500, "gcounter"],
  ] as const) {
    it(`holds every logged count: ${mode}, ${RUNS_PER_MODE} seeds`, async () => {
      for (let run = 0; run < RUNS_PER_MODE; run++) {
        const seed = 1 + run * 7919 + sleepEvery;
        const { logged, stored } = await killAfterAcks(seed, sleepEvery, kind);
        assert.ok(logged > 0);
        assert.ok(
          stored >= logged,
          `seed ${seed}: the guest logged ack ${logged}, the store holds ${stored}`,
        );
      }
    });
  }
});

/** Runs HTTP_CLIENTS clients that PUT /ack/<n> for fresh n until killed; returns the n answered 204 and what the store holds of them. */
async function killAfterHttpAcks(seed: number): Promise<{ acked: number[]; missing: number[] }> {
  const dir = tempDir("nx-http-durability-");
  cleanups.push(dir.remove);
  const random = seeded(seed);
  const nx = startNx(["run", SERVER, "--serve", "127.0.0.1:0", "--datastore-path", dir.path]);
  running.add(nx);
  const acked: number[] = [];
  try {
    const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const killAt = 50 + Math.floor(random() * 1500);
    let next = 0;
    let killed = false;
    const client = async (): Promise<void> => {
      while (!killed) {
        const n = ++next;
        try {
          const response = await fetch(`${base}/ack/${n}`, {
            method: "PUT",
            signal: AbortSignal.timeout(10_000),
          });
          if (response.status === 204) acked.push(n);
          else assert.fail(`PUT /ack/${n} answered ${response.status}`);
        } catch (error) {
          if (killed) return;
          throw error;
        }
        if (acked.length >= killAt && !killed) {
          killed = true;
          nx.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: HTTP_CLIENTS }, client));
    const { signal } = await nx.exited;
    assert.equal(signal, "SIGKILL", "the node was still running when killed");
  } finally {
    running.delete(nx);
  }
  const store = await openLmdbBackend({ path: dir.path });
  try {
    const missing = acked.filter((n) => store.get(new TextEncoder().encode(`ack/${n}`)) === undefined);
    return { acked, missing };
  } finally {
    await store.close();
  }
}

describe("writes acknowledged by an HTTP reply survive kill -9", { timeout: 300_000 }, () => {
  it(`holds every key answered 204: ${HTTP_CLIENTS} clients, ${RUNS_PER_MODE} seeds`, async () => {
    for (let run = 0; run < RUNS_PER_MODE; run++) {
      const seed = 11 + run * 104_729;
      const { acked, missing } = await killAfterHttpAcks(seed);
      assert.ok(acked.length > 0);
      assert.deepEqual(
        missing,
        [],
        `seed ${seed}: ${missing.length} of ${acked.length} acknowledged keys lost`,
      );
    }
  });
});
