import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatFieldValue, formatTextLogLine } from "./text-log-line.ts";

const NOON = new Date(2026, 11, 6, 12, 3, 4, 5);

describe("text log lines", () => {
  test("print time, level, component, message and fields on one line", () => {
    const line = formatTextLogLine({
      time: NOON,
      level: "warn",
      component: "sync.peer",
      message: "peer dropped",
      fields: { peer: "10.0.0.7:9000", reason: "read timeout", attempts: 3 },
    });
    assert.equal(
      line,
      '12:03:04.005 WARN  sync.peer: peer dropped peer=10.0.0.7:9000 reason="read timeout" attempts=3\n',
    );
  });

  test("escape control characters so that a guest cannot forge a second line", () => {
    const line = formatTextLogLine({
      time: NOON,
      level: "info",
      component: "",
      message: "hello\n12:00:00.000 ERROR forged",
      fields: { "k\r": "v\nw" },
    });
    assert.equal(line.split("\n").length, 2);
    assert.ok(line.includes("hello\\n12:00:00.000"));
    assert.ok(line.includes('k\\r="v\\nw"'));
  });

  test("format field values by type", () => {
    assert.equal(formatFieldValue(12n), "12");
    assert.equal(formatFieldValue(new Uint8Array(3)), "<3 bytes>");
    assert.equal(
      formatFieldValue(Object.assign(new Error("no room"), { code: "STORE_FULL" })),
      '"STORE_FULL: no room"',
    );
    assert.equal(formatFieldValue({ a: [1, 2n] }), '{"a":[1,"2"]}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(formatFieldValue(cyclic), '"[unserializable]"');
  });
});
