import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { parsePolicy } from "./module-policy.ts";
import {
  type ModuleQuotas,
  narrowQuotas,
  parseModuleQuotas,
  QUOTA_KEYS,
  type QuotaField,
  quotasInForce,
} from "./module-quotas.ts";
import { PolicyError } from "./policy-error.ts";

const ORIGIN = "kv.policy.toml";

function refusal(table: unknown): string {
  try {
    parseModuleQuotas(table, ORIGIN);
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    assert.equal(error.code, "POLICY_INVALID");
    return error.message;
  }
  assert.fail("the quotas were accepted");
}

describe("parseModuleQuotas", () => {
  test("reads every quota of docs/design/policies.md, in a policy's [quotas]", () => {
    const policy = parsePolicy(
      {
        quotas: {
          cpu_ms_per_run: 50n,
          memory_max_mb: 16n,
          ops_per_sec: 100n,
          bytes_written_per_sec: 65536n,
          requests_per_sec: 20n,
          connections_max: 4n,
          processes_max: 8n,
          mailbox_max: 1000n,
        },
      },
      ORIGIN,
    );
    assert.deepEqual(policy.quotas, {
      cpuMsPerRun: 50,
      memoryMaxMb: 16,
      opsPerSec: 100,
      bytesWrittenPerSec: 65536,
      requestsPerSec: 20,
      connectionsMax: 4,
      processesMax: 8,
      mailboxMax: 1000,
    });
    assert.deepEqual(parsePolicy({ capabilities: { time: true } }, ORIGIN).quotas, {});
  });

  test("refuses an unknown name, a non-integer, zero and a value above the maximum, in one line", () => {
    assert.equal(
      refusal({ ops_per_sek: 1n }),
      `${ORIGIN}: quotas.ops_per_sek: unknown quota; did you mean ops_per_sec?`,
    );
    assert.equal(
      refusal({ ops_per_sec: "100" }),
      `${ORIGIN}: quotas.ops_per_sec: expected an integer from 1 to 1000000000, got "100"`,
    );
    assert.equal(
      refusal({ memory_max_mb: 0n }),
      `${ORIGIN}: quotas.memory_max_mb: expected an integer from 1 to 4096, got 0`,
    );
    assert.equal(
      refusal({ memory_max_mb: 4097n }),
      `${ORIGIN}: quotas.memory_max_mb: expected an integer from 1 to 4096, got 4097`,
    );
    assert.equal(refusal([]), `${ORIGIN}: write the quotas as a table, for example { ops_per_sec = 100 }`);
  });
});

describe("narrowQuotas", () => {
  const fields = Object.keys(QUOTA_KEYS) as QuotaField[];
  const quotas = fc.dictionary(
    fc.constantFrom(...fields),
    fc.integer({ min: 1, max: 1000 }),
  ) as fc.Arbitrary<ModuleQuotas>;

  test("the operator's table narrows the policy's and never widens it (property)", () => {
    fc.assert(
      fc.property(quotas, quotas, (policy, configured) => {
        const narrowed = narrowQuotas(policy, configured);
        for (const field of fields) {
          const [a, b] = [policy[field], configured[field]];
          const expected = a === undefined ? b : b === undefined ? a : Math.min(a, b);
          assert.equal(narrowed[field], expected);
        }
      }),
      propertyRuns(200),
    );
  });
});

describe("quotasInForce", () => {
  const NODE = { cpuMsPerRun: 1000, memoryMaxMb: 16 };
  const policy = (quotas: ModuleQuotas) => ({ quotas });

  test("a policy narrows the node's CPU budget and memory cap and never raises them", () => {
    assert.deepEqual(quotasInForce(policy({ cpuMsPerRun: 50_000, memoryMaxMb: 64 }), undefined, NODE), {
      cpuMsPerRun: 1000,
      memoryMaxMb: 16,
    });
    assert.deepEqual(quotasInForce(policy({ cpuMsPerRun: 200, memoryMaxMb: 8 }), undefined, NODE), {
      cpuMsPerRun: 200,
      memoryMaxMb: 8,
    });
    // No node-wide CPU budget: the policy's is the only one.
    assert.deepEqual(
      quotasInForce(policy({ cpuMsPerRun: 50_000 }), undefined, { cpuMsPerRun: undefined, memoryMaxMb: 16 }),
      { cpuMsPerRun: 50_000 },
    );
    // Nothing of its own: the node's limits apply as they are, and no quota is added.
    assert.deepEqual(quotasInForce(policy({ opsPerSec: 5 }), undefined, NODE), { opsPerSec: 5 });
  });

  test("the operator's [modules.<id>] quotas set the module's ceiling in place of the node's", () => {
    assert.deepEqual(
      quotasInForce(policy({ memoryMaxMb: 64 }), { memoryMaxMb: 32 }, NODE),
      { memoryMaxMb: 32 },
      "the operator may give one module more than limits.memory_max_mb; its policy still only narrows",
    );
    assert.deepEqual(quotasInForce(undefined, { cpuMsPerRun: 5000 }, NODE), { cpuMsPerRun: 5000 });
  });
});
