/**
 * The AssemblyScript SDK against the real `nx` host functions, in process: the probe guest
 * (sdk/assemblyscript/tests/sdk_probe.ts) runs each scenario against the runtime's guest store
 * over the in-memory backend and the ABI suite's single-node CrdtHost.
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { before, describe, test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { GuestAbortError } from "../../src/wasm/abi/guest-errors.ts";
import { instantiate, type Recorded, recordingEnvironment } from "../abi/harness.ts";
import { memoryGuestStore } from "../abi/memory-guest-store.ts";
import { RecordingCrdtHost } from "../abi/recording-crdt-host.ts";
import { buildGuests, readBytes, SDK_PROBE_WASM } from "./guest-files.ts";

const PROBE_INPUT = "numax sdk probe: ✓ UTF-8 input";

function runProbe(
  scenario: string,
  options: { crdt?: boolean } = {},
): { recorded: Recorded; error: unknown } {
  const { store } = memoryGuestStore();
  const { env, recorded } = recordingEnvironment({
    store,
    ...(options.crdt === true ? { crdt: new RecordingCrdtHost() } : {}),
    env: { NX_PROBE: scenario, NX_PROBE_INPUT: PROBE_INPUT, HOME: "/root" },
    randomFill: (target) => randomFillSync(target),
    nowMs: () => Date.now(),
  });
  const guest = instantiate(readBytes(SDK_PROBE_WASM), env);
  try {
    guest.call("run");
    return { recorded, error: undefined };
  } catch (error) {
    return { recorded, error };
  }
}

function messages(recorded: Recorded): string[] {
  return recorded.logs.map((record) => record.message);
}

function assertPassed(scenario: string, result: { recorded: Recorded; error: unknown }): void {
  if (result.error !== undefined) throw result.error;
  assert.ok(
    messages(result.recorded).some((line) =>
      new RegExp(`^probe ${scenario}: ok \\(\\d+ checks\\)$`).test(line),
    ),
    messages(result.recorded).join("\n"),
  );
}

function abortMessage(error: unknown): string {
  assert.ok(error instanceof GuestAbortError, `expected an abort, got ${String(error)}`);
  return error.guestMessage;
}

describe("AssemblyScript SDK against the nx host functions", () => {
  before(() => buildGuests("sdk_probe"));

  test("local functions: store, listings, -2 retry, error policy, time, crypto, system", () => {
    const result = runProbe("local");
    assertPassed("local", result);
    const lines = messages(result.recorded);
    const sha256 = createHash("sha256").update(PROBE_INPUT).digest("hex");
    const blake = Buffer.from(blake3(new TextEncoder().encode(PROBE_INPUT))).toString("hex");
    assert.ok(
      lines.includes(`sha256=${sha256}`),
      `SHA-256 digest, got ${lines.find((l) => l.startsWith("sha256"))}`,
    );
    assert.ok(
      lines.includes(`blake3=${blake}`),
      `BLAKE3 digest, got ${lines.find((l) => l.startsWith("blake3"))}`,
    );
    assert.ok(lines.includes("module=conformance-guest"));
    assert.deepEqual(
      result.recorded.events.map((event) => [event.name, new TextDecoder().decode(event.payload)]),
      [["probe.done", "payload"]],
    );
  });

  test("every CRDT family on a node with sync", () => {
    const result = runProbe("crdt", { crdt: true });
    assertPassed("crdt", result);
    assert.ok(messages(result.recorded).includes("node=0123456789abcdef0123456789abcdef peers=0"));
  });

  test("the default error policy aborts naming the call, its key and the code", () => {
    const { error } = runProbe("abort-reserved");
    assert.equal(
      abortMessage(error),
      'nx: db.set("__nx/forbidden"): ERR_RESERVED_KEY (-4): keys under __nx/ belong to the runtime',
    );
  });

  test("AssemblyScript's own abort reaches nx.abort as 'message at file:line:col'", () => {
    const { error } = runProbe("abort-runtime");
    assert.match(abortMessage(error), /^Index out of range at ~lib\/staticarray\.ts:\d+:\d+$/);
  });

  test("trace() logs at trace level and Math.random() is seeded by the host", () => {
    const result = runProbe("hooks");
    assertPassed("hooks", result);
    assert.deepEqual(
      result.recorded.logs.find((record) => record.level === "trace"),
      { level: "trace", message: "probe trace 1.5 2.5" },
    );
  });
});
