import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { Op } from "../../src/crdt/op.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createMemoryBackend } from "../../src/store/memory-backend.ts";
import { RECORD_FORMAT_VERSION, ReplicaStoreError } from "../../src/sync/replica/replica-layout.ts";
import { openReplicatedState, type ReplicatedState } from "../../src/sync/replica/replicated-state.ts";

/**
 * Golden bytes of everything the replica persists under `__nx/` (RECORD_FORMAT_VERSION,
 * src/sync/replica/replica-layout.ts): CRDT cells of all six families (tombstones included), the
 * version vector entries (after an op applied out of order), op-log pages, the HLC and the
 * compaction record, as a deterministic replica writes them (test/crdt/fixtures/replica-records.v1.json:
 * key and value in hex). The fixture is read back by this build and must be by every later one;
 * the bytes written now must equal it, so a change of format is deliberate: bump
 * RECORD_FORMAT_VERSION, keep this fixture and its test, add the new one. Regenerate with
 * `NX_WRITE_GOLDEN=1 npx node --test test/crdt/golden-replica-records.test.ts`.
 */
const FIXTURE = new URL("fixtures/replica-records.v1.json", import.meta.url);
const SELF = "00112233445566778899aabbccddeeff" as NodeId;
const PEER = "ffeeddccbbaa99887766554433221100" as NodeId;
const NOW = 1_767_225_600_000;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Every family, a remove of each tombstone kind, a peer's op out of order, a compaction pass. */
function writeReplica(): Map<string, string> {
  const backend = createMemoryBackend();
  const peerOps: Op[] = [];
  const peer = openReplicatedState({
    backend: createMemoryBackend(),
    nodeId: PEER,
    nowMs: () => NOW,
    onLocalOps: (ops) => peerOps.push(...ops),
  });
  peer.gcounterInc("peer-count", 1n);
  peer.flush();
  peer.orsetAdd("peer-set", text("late"));
  peer.flush();
  const state = openReplicatedState({ backend, nodeId: SELF, nowMs: () => NOW });
  state.gcounterInc("count", 3n);
  state.pncounterDec("balance", 2n);
  state.lwwSet("title", text("hello"));
  state.lwwMapSet("settings", text("theme"), text("dark"));
  state.lwwMapSet("settings", text("gone"), text("x"));
  state.flush();
  state.lwwMapRemove("settings", text("gone"));
  state.orsetAdd("tags", text("kept"));
  state.orsetAdd("tags", text("dropped"));
  const a = state.rgaInsert("text", undefined, text("a"))!;
  const b = state.rgaInsert("text", a, text("b"))!;
  state.rgaInsert("text", b, text("c"));
  state.flush();
  state.orsetRemove("tags", text("dropped"));
  state.rgaDelete("text", b);
  state.flush();
  state.applyRemote([peerOps[1]]); // above the vector: held as seen until the gap closes
  state.flush();
  state.applyRemote([peerOps[0]]);
  // The peer wrote ops here, so it counts as a member: it reports having everything.
  state.compact({
    members: [],
    reports: new Map([[PEER, { vector: state.versionVector(), ageMs: 0 }]]),
  });
  state.flush();
  const records = new Map<string, string>();
  for (const [key, value] of backend.range({ prefix: text("__nx/") })) records.set(hex(key), hex(value));
  return records;
}

function values(state: ReplicatedState): unknown {
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    count: state.gcounterValue("count"),
    balance: state.pncounterValue("balance"),
    title: decode(state.lwwGet("title")!),
    settings: state.lwwMapEntries("settings").map(([f, v]) => `${decode(f)}=${decode(v)}`),
    tags: state.orsetElements("tags").map(decode),
    text: state.rgaValues("text").map(decode),
    peerSet: state.orsetElements("peer-set").map(decode),
    vector: [...state.versionVector()].sort(),
  };
}

function openFixture(records: Record<string, string>): ReplicatedState {
  const backend = createMemoryBackend();
  backend.batch(() => {
    for (const [key, value] of Object.entries(records))
      backend.put(Buffer.from(key, "hex"), Buffer.from(value, "hex"));
  });
  return openReplicatedState({ backend, nodeId: SELF, nowMs: () => NOW });
}

describe("golden bytes of the replica's records (format 1)", () => {
  const written = writeReplica();
  if (process.env.NX_WRITE_GOLDEN === "1")
    writeFileSync(FIXTURE, `${JSON.stringify(Object.fromEntries(written), null, 2)}\n`);
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, string>;

  test("this build writes exactly the committed bytes", () => {
    assert.equal(RECORD_FORMAT_VERSION, 1);
    assert.deepEqual(Object.fromEntries(written), fixture);
  });

  test("the committed bytes open to the same state (tombstones collected, a gap closed)", () => {
    assert.deepEqual(values(openFixture(fixture)), {
      count: 3n,
      balance: -2n,
      title: "hello",
      settings: ["theme=dark"],
      tags: ["kept"],
      text: ["a", "c"],
      peerSet: ["late"],
      vector: [
        [SELF, 13],
        [PEER, 2],
      ],
    });
  });

  test("a record of a newer format is refused with one line naming what and why", () => {
    const newer = { ...fixture };
    const clock = Buffer.from("__nx/clock", "latin1").toString("hex");
    newer[clock] = `02${newer[clock].slice(2)}`;
    assert.throws(
      () => openFixture(newer),
      (error: unknown) =>
        error instanceof ReplicaStoreError &&
        error.code === "REPLICA_STORE_CORRUPT" &&
        /^clock: record format 2 is not 1 \(written by a newer Numax\?\)$/.test(error.message),
    );
  });
});
