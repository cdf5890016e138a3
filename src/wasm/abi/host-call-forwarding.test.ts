import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { recordingEnvironment } from "../../../test/fixtures/wasm/guest-runtime.ts";
import { silentLogger } from "../../observe/logger.ts";
import { AuditLog } from "../../policy/audit-log.ts";
import { AbiContext } from "./abi-context.ts";
import { HostCallCounter } from "./host-call-counter.ts";
import { forwarding, HOST_FUNCTION_PARAMS_MAX } from "./host-call-forwarding.ts";
import { NX_FUNCTION_SIGNATURES } from "./nx-signatures.ts";
import { WASI_FUNCTION_SIGNATURES } from "./wasi-signatures.ts";

describe("host call forwarding", () => {
  test("no host function takes more parameters than a wrapper passes on", () => {
    const widest = Math.max(
      ...[...NX_FUNCTION_SIGNATURES.values()].flat().map((signature) => signature.params.length),
      ...[...WASI_FUNCTION_SIGNATURES.values()].flat().map((signature) => signature.params.length),
    );
    assert.equal(widest, HOST_FUNCTION_PARAMS_MAX);
  });

  test("a host function taking more parameters than a wrapper passes on is refused when wrapped", () => {
    const ctx = new AbiContext(recordingEnvironment("forwarding"), { memory: undefined });
    const ten = (
      _a: number,
      _b: number,
      _c: number,
      _d: number,
      _e: number,
      _f: number,
      _g: number,
      _h: number,
      _i: number,
      _j: number,
    ) => 0;
    const refused = /takes 10 parameters: wrappers pass on 9/;
    assert.throws(() => ctx.guard("ten", ten), refused);
    assert.throws(() => new HostCallCounter().wrap("nx", "ten", ten), refused);
    assert.throws(() => forwarding(ten), refused);
    // A wrapper's own arity is the bound: wrapping a wrapper is allowed.
    assert.doesNotThrow(() =>
      new HostCallCounter().wrap(
        "nx",
        "nine",
        ctx.guard("nine", (_a: number) => 0),
      ),
    );
  });

  test("the counter, the audit log and the guard pass every argument on, in order", async () => {
    const ctx = new AbiContext(recordingEnvironment("forwarding"), { memory: undefined });
    const seen: unknown[][] = [];
    const widest = (
      a: number,
      b: number,
      c: bigint,
      d: number,
      e: number,
      f: number,
      g: bigint,
      h: number,
      i: number,
    ) => {
      seen.push([a, b, c, d, e, f, g, h, i]);
      return 7;
    };
    const dir = mkdtempSync(join(tmpdir(), "nx-forwarding-"));
    const audit = new AuditLog({
      path: join(dir, "audit.jsonl"),
      sampleEvery: 2,
      nowMs: () => 0,
      logger: silentLogger,
    });
    try {
      const counter = new HostCallCounter();
      const logged = audit.forModule("m").wrap("nx", "widest", ctx.guard("widest", widest));
      const wrapped = counter.wrap("nx", "widest", logged);
      // Twice: the audit log passes a call it does not sample and one it does.
      assert.equal(wrapped(1, 2, 3n, 4, 5, 6, 7n, 8, 9), 7);
      assert.equal(wrapped(9, 8, 7n, 6, 5, 4, 3n, 2, 1), 7);
      assert.deepEqual(seen, [
        [1, 2, 3n, 4, 5, 6, 7n, 8, 9],
        [9, 8, 7n, 6, 5, 4, 3n, 2, 1],
      ]);
      assert.equal(counter.total(), 2);
    } finally {
      await audit.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
