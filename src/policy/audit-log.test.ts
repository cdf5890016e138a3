import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../observe/logger.ts";
import { AuditLog } from "./audit-log.ts";
import { PolicyAudit } from "./policy-audit.ts";

test("the audit log samples one call in N per function, writes every denial, as JSON lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nx-audit-log-"));
  try {
    const path = join(dir, "audit.jsonl");
    const log = new AuditLog({
      path,
      sampleEvery: 3,
      nowMs: () => Date.UTC(2026, 11, 6),
      logger: silentLogger,
    });
    const calls = log.forModule("m");
    let n = 0;
    const dbGet = calls.wrap("nx", "db_get", () => ++n);
    const timeNow = calls.wrap("nx", "time_now", () => 5n);
    for (let i = 0; i < 7; i++) dbGet();
    for (let i = 0; i < 3; i++) timeNow();
    const audit = new PolicyAudit("m", silentLogger, () => 0, log);
    for (let i = 0; i < 30; i++) audit.denied("db_set", "db.write", `k${i}`);
    await log.close();
    const lines = readFileSync(path, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const time = "2026-12-06T00:00:00.000Z";
    assert.deepEqual(lines.slice(0, 3), [
      { time, kind: "call", module: "m", call: "nx.db_get", result: 3, calls: 3 },
      { time, kind: "call", module: "m", call: "nx.db_get", result: 6, calls: 3 },
      { time, kind: "call", module: "m", call: "nx.time_now", result: 5, calls: 3 },
    ]);
    // Every denial, past the warning lines' rate limit too.
    assert.equal(lines.length, 3 + 30);
    assert.deepEqual(lines[3], {
      time,
      kind: "denied",
      module: "m",
      call: "db_set",
      capability: "db.write",
      key: "k0",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
