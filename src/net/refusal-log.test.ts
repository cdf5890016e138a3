import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Logger } from "../observe/logger.ts";
import { REFUSAL_LOG_SOURCES_MAX, RefusalLog } from "./refusal-log.ts";

function recordingLogger(lines: string[]): Logger {
  const logger = {
    warn: (message: string) => lines.push(message),
    child: () => logger,
  } as unknown as Logger;
  return logger;
}

describe("RefusalLog", () => {
  test("a source refused again within the interval is counted, and the next line says how many", () => {
    const lines: string[] = [];
    let now = 0;
    const log = new RefusalLog(recordingLogger(lines), () => now, 10_000);
    for (let attempt = 0; attempt < 5; attempt++) {
      log.report("10.0.0.9", "NET_TLS_FAILED", "refused inbound connection: not our CA", {});
      now += 1000;
    }
    assert.deepEqual(lines, ["refused inbound connection: not our CA"]);
    now = 10_000;
    log.report("10.0.0.9", "NET_TLS_FAILED", "refused inbound connection: not our CA", {});
    assert.deepEqual(
      lines.at(-1),
      "refused inbound connection: not our CA (5 refused since the last report)",
    );
  });

  test("other sources and other kinds of refusal are logged at once", () => {
    const lines: string[] = [];
    const log = new RefusalLog(recordingLogger(lines), () => 0, 10_000);
    log.report("10.0.0.9", "NET_TLS_FAILED", "a", {});
    log.report("10.0.0.8", "NET_TLS_FAILED", "b", {});
    log.report("10.0.0.9", "NET_NOT_AUTHORIZED", "c", {});
    assert.deepEqual(lines, ["a", "b", "c"]);
  });

  test("remembers at most REFUSAL_LOG_SOURCES_MAX sources", () => {
    const lines: string[] = [];
    const log = new RefusalLog(recordingLogger(lines), () => 0, 10_000);
    for (let source = 0; source <= REFUSAL_LOG_SOURCES_MAX; source++) log.report(`s${source}`, "X", "x", {});
    // The first source was forgotten to make room: it is logged again.
    log.report("s0", "X", "again", {});
    assert.equal(lines.at(-1), "again");
    assert.equal(lines.length, REFUSAL_LOG_SOURCES_MAX + 2);
  });
});
