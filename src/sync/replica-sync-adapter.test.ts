import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { NODE_A, NODE_B } from "../crdt/testing/test-ops.ts";
import { frameLength } from "../net/frame.ts";
import { WIRE_FORMATS } from "../net/wire-format.ts";
import { createMemoryBackend } from "../store/memory-backend.ts";
import { createSyncMessageCodec } from "./crdt-op-codec.ts";
import { openReplicatedState } from "./replica/replicated-state.ts";
import { replicaForSync } from "./replica-sync-adapter.ts";

const codec = createSyncMessageCodec();

test("every snapshot part fits max_message_size in either wire format, and the parts carry the whole state", () => {
  // Keys of characters JSON escapes to 6 bytes, values up to 6 KiB: about 20 parts under 16 KiB.
  const entryArb = fc.tuple(
    fc.string({ unit: fc.constantFrom("a", "\u0000", "\ud800", '"'), minLength: 1, maxLength: 200 }),
    fc.integer({ min: 0, max: 6 * 1024 }),
  );
  fc.assert(
    fc.property(fc.array(entryArb, { minLength: 1, maxLength: 60 }), (entries) => {
      const maxMessageSizeBytes = 16 * 1024;
      const state = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A });
      for (const [key, length] of entries) state.lwwSet(key, new Uint8Array(length).fill(0xff));
      const parts = replicaForSync(state, maxMessageSizeBytes).snapshotParts(false);
      for (const part of parts)
        for (const format of WIRE_FORMATS)
          assert.ok(frameLength(codec.encode(part, format).byteLength) <= maxMessageSizeBytes, format);
      const receiver = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_B });
      for (const part of parts) replicaForSync(receiver).applySnapshotPart(part);
      for (const [key] of entries) assert.deepEqual(receiver.lwwGet(key), state.lwwGet(key), key);
    }),
    { seed: 20261206, numRuns: 20 },
  );
});
