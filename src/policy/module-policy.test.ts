import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import { CAPABILITY_NAMES, fetchHostsOf, parsePolicy, serveRefusal } from "./module-policy.ts";
import { PolicyError } from "./policy-error.ts";

const ORIGIN = "examples/kv.policy.toml";

function refusal(table: Record<string, unknown>): string {
  try {
    parsePolicy(table, ORIGIN);
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    assert.equal(error.code, "POLICY_INVALID");
    return error.message;
  }
  assert.fail("the policy was accepted");
}

describe("parsePolicy", () => {
  test("reads every capability of docs/design/policies.md", () => {
    const policy = parsePolicy(
      {
        capabilities: {
          db: { read: ["kv/*"], write: ["kv/*"] },
          crdt: { gcounter: ["visits"], "lww-map": ["m/*"] },
          messages: { publish: ["kv/*"], subscribe: ["chat/*"] },
          http: { fetch: ["api.example.com", "127.0.0.1:8080"] },
          env: ["NX_GREETING"],
          time: true,
          random: false,
          net: { peers: true },
          network: { serve: true },
          processes: { spawn: "storage" },
        },
        quotas: {},
      },
      ORIGIN,
    );
    assert.deepEqual(
      [...policy.globs].map(([name, globs]) => [name, globs.map((glob) => glob.source)]),
      [
        ["db.read", ["kv/*"]],
        ["db.write", ["kv/*"]],
        ["crdt.gcounter", ["visits"]],
        ["crdt.lww-map", ["m/*"]],
        ["messages.publish", ["kv/*"]],
        ["messages.subscribe", ["chat/*"]],
        ["env", ["NX_GREETING"]],
      ],
    );
    assert.deepEqual([...policy.switches], ["time", "net.peers", "network.serve"]);
    assert.deepEqual(policy.httpFetchHosts, ["api.example.com", "127.0.0.1:8080"]);
    assert.equal(policy.spawnProfile, "storage");
  });

  test("an empty policy grants nothing", () => {
    const policy = parsePolicy({}, ORIGIN);
    assert.equal(policy.globs.size, 0);
    assert.equal(policy.switches.size, 0);
    assert.deepEqual(policy.httpFetchHosts, []);
    assert.equal(policy.spawnProfile, undefined);
  });

  test("each bad policy is one line naming the file and the key, with a hint", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { capabilities: { db: { raed: ["x"] } } },
        "capabilities.db.raed: unknown capability; did you mean db.read?",
      ],
      [
        { capabilities: { files: true } },
        "capabilities.files: unknown capability; the capabilities are db.read",
      ],
      [
        { capabilities: { db: { read: "kv/*" } } },
        `capabilities.db.read: expected a list of globs, for example ["kv/*"]`,
      ],
      [{ capabilities: { db: { read: [""] } } }, "capabilities.db.read: an empty glob matches nothing"],
      // A shared key glob without a key: "/" names nothing (a topic "/" is a topic like any).
      [
        { capabilities: { crdt: { gcounter: ["/"] } } },
        "capabilities.crdt.gcounter: an empty glob matches nothing",
      ],
      [{ capabilities: { time: "yes" } }, "capabilities.time: expected true or false"],
      [
        { capabilities: { http: { fetch: ["https://x.org"] } } },
        `capabilities.http.fetch: "https://x.org" is not a host`,
      ],
      [
        { capabilities: { processes: { spawn: "root" } } },
        `capabilities.processes.spawn: unknown capability profile "root"`,
      ],
      [{ capabilites: {} }, "capabilites: unknown table; a policy has [capabilities]"],
      [{ capabilities: [] }, "capabilities: write [capabilities] as a table"],
      [
        { quotas: { ops_per_sec: 0n } },
        "quotas.ops_per_sec: expected an integer from 1 to 1000000000, got 0",
      ],
    ];
    for (const [table, expected] of cases) {
      const message = refusal(table);
      assert.ok(message.startsWith(`${ORIGIN}: ${expected}`), message);
      assert.ok(!message.includes("\n"), message);
    }
  });

  test("any value of the wrong kind under any capability is refused in one line naming that key", () => {
    const wrongValue = fc.oneof(
      fc.integer().map(BigInt),
      fc.string(),
      fc.array(fc.integer().map(BigInt), { minLength: 1 }),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.constantFrom(...CAPABILITY_NAMES), wrongValue, (name, value) => {
        const [head, ...rest] = name.split(".");
        const leaf = rest.length === 0 ? value : { [rest[0]!]: value };
        let message: string | undefined;
        try {
          parsePolicy({ capabilities: { [head!]: leaf } }, ORIGIN);
        } catch (error) {
          assert.ok(error instanceof PolicyError);
          message = error.message;
        }
        // Some values are right for some capabilities (a boolean for a switch, a string profile).
        if (message === undefined) return;
        assert.ok(message.startsWith(`${ORIGIN}: capabilities.${name}: `), message);
        assert.ok(!message.includes("\n"));
      }),
      propertyRuns(500),
    );
  });

  test("http.fetch: the policy's hosts, narrowed by http_fetch_hosts when set; without a policy http_fetch_hosts alone", () => {
    const policy = parsePolicy(
      { capabilities: { http: { fetch: ["a.example", "b.example:8080"] } } },
      ORIGIN,
    );
    assert.deepEqual(fetchHostsOf(policy, []), ["a.example", "b.example:8080"]);
    assert.deepEqual(fetchHostsOf(policy, ["B.example:8080", "c.example"]), ["b.example:8080"]);
    assert.deepEqual(fetchHostsOf(parsePolicy({}, ORIGIN), ["c.example"]), []);
    assert.deepEqual(fetchHostsOf(undefined, ["c.example"]), ["c.example"]);
  });

  test("network.serve: routes may name a module whose policy grants it, or one without a policy", () => {
    assert.equal(serveRefusal(undefined), undefined);
    assert.equal(
      serveRefusal(parsePolicy({ capabilities: { network: { serve: true } } }, ORIGIN)),
      undefined,
    );
    assert.equal(
      serveRefusal(parsePolicy({}, ORIGIN)),
      `its policy ${ORIGIN} does not grant network.serve (add network.serve = true to its [capabilities])`,
    );
  });
});
