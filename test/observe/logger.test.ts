import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { createLogger } from "../../src/observe/create-logger.ts";
import { formatFieldValue, formatTextLogLine } from "../../src/observe/text-log-line.ts";

const FIXED_TIME = new Date(2024, 0, 2, 3, 4, 5, 6); // local time 03:04:05.006

function recorder(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

describe("text log lines", () => {
  test("HH:MM:SS.mmm LEVEL component: message key=value", () => {
    const line = formatTextLogLine({
      time: FIXED_TIME,
      level: "info",
      component: "sync.peer",
      message: "connected",
      fields: { peer: "10.0.0.2:9000", attempt: 3, tls: true, nodeId: "ab12" },
    });
    assert.equal(
      line,
      "03:04:05.006 INFO  sync.peer: connected peer=10.0.0.2:9000 attempt=3 tls=true nodeId=ab12\n",
    );
    assert.equal(
      formatTextLogLine({ time: FIXED_TIME, level: "error", component: "", message: "boom" }),
      "03:04:05.006 ERROR boom\n",
    );
  });

  test("values are quoted when needed; errors, objects, bytes and dates are readable", () => {
    assert.equal(formatFieldValue("two words"), '"two words"');
    assert.equal(formatFieldValue('say "hi"'), '"say \\"hi\\""');
    assert.equal(formatFieldValue("a=b"), '"a=b"');
    assert.equal(formatFieldValue(""), '""');
    assert.equal(formatFieldValue(12n), "12");
    assert.equal(formatFieldValue(null), "null");
    assert.equal(formatFieldValue(new TypeError("bad")), '"TypeError: bad"');
    assert.equal(
      formatFieldValue(Object.assign(new Error("gone"), { code: "PEER_GONE" })),
      '"PEER_GONE: gone"',
    );
    assert.equal(formatFieldValue({ a: [1, 2], b: "x y" }), '{"a":[1,2],"b":"x y"}');
    assert.equal(formatFieldValue(new Uint8Array(5)), "<5 bytes>");
    assert.equal(formatFieldValue(new Date(Date.UTC(2024, 0, 1))), "2024-01-01T00:00:00.000Z");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(formatFieldValue(cyclic), '"[unserializable]"');
  });

  test("a message or value with a newline cannot forge a second line", () => {
    const line = formatTextLogLine({
      time: FIXED_TIME,
      level: "warn",
      component: "guest",
      message: "hello\n03:04:05.006 ERROR fake",
      fields: { text: "a\nb", "k\ney": 1 },
    });
    assert.equal(line.split("\n").length, 2, "exactly one newline, at the end");
    assert.match(line, /hello\\n03:04:05.006 ERROR fake text="a\\nb" k\\ney=1\n$/);
  });
});

describe("createLogger", () => {
  test("text: filters by level, names nested components, writes to the destination", () => {
    const out = recorder();
    const logger = createLogger({
      level: "debug",
      format: "text",
      destination: out,
      now: () => FIXED_TIME.getTime(),
      color: false,
    });
    logger.trace("hidden");
    logger.debug("shown", { n: 1 });
    logger.child("sync").child("peer").warn("slow", { ms: 40 });
    assert.deepEqual(out.lines, [
      "03:04:05.006 DEBUG shown n=1\n",
      "03:04:05.006 WARN  sync.peer: slow ms=40\n",
    ]);
    assert.equal(logger.isLevelEnabled("trace"), false);
    assert.equal(logger.isLevelEnabled("debug"), true);
    assert.equal(logger.child("x").isLevelEnabled("error"), true);
  });

  test("text with color wraps only the level", () => {
    const out = recorder();
    createLogger({
      level: "info",
      format: "text",
      destination: out,
      now: () => FIXED_TIME.getTime(),
      color: true,
    }).error("e");
    assert.equal(out.lines[0], "03:04:05.006 \x1b[31mERROR\x1b[0m e\n");
  });

  test("json: pino NDJSON with level names, time, component and fields; messages verbatim", () => {
    const out = recorder();
    const logger = createLogger({
      level: "info",
      format: "json",
      destination: out,
      now: () => 1_700_000_000_123,
    });
    logger.debug("hidden");
    logger.info("100% done %s", { peers: 2 });
    logger
      .child("wasm")
      .child("trap")
      .error("guest trapped", { module: "app.wasm", function: "run", kind: "unreachable" });
    logger.warn("failed", { err: new Error("disk full") });
    assert.equal(out.lines.length, 3);
    const [first, second, third] = out.lines.map((line) => {
      assert.ok(line.endsWith("\n"));
      return JSON.parse(line);
    });
    assert.equal(first.level, "info");
    assert.equal(first.time, 1_700_000_000_123);
    assert.equal(first.msg, "100% done %s");
    assert.equal(first.peers, 2);
    assert.equal(first.component, undefined);
    assert.equal(typeof first.pid, "number");
    assert.deepEqual(
      {
        level: second.level,
        component: second.component,
        module: second.module,
        function: second.function,
        kind: second.kind,
      },
      { level: "error", component: "wasm.trap", module: "app.wasm", function: "run", kind: "unreachable" },
    );
    assert.equal(
      out.lines[1].match(/"component"/g)?.length,
      1,
      "one component key, not one per nesting level",
    );
    assert.equal(third.err.message, "disk full");
    assert.equal(third.err.type, "Error");
    assert.equal(logger.isLevelEnabled("debug"), false);
    assert.equal(logger.isLevelEnabled("warn"), true);
  });

  test("an unknown level is refused", () => {
    assert.throws(
      () => createLogger({ level: "verbose" as never, format: "text" }),
      /unknown log level verbose/,
    );
  });

  test("the text format never loads pino; json loads it on demand", async () => {
    const script = `
      import { createRequire } from "node:module";
      import { createLogger } from ${JSON.stringify(new URL("../../src/observe/create-logger.ts", import.meta.url).href)};
      const require = createRequire(import.meta.url);
      const pinoLoaded = () => Object.keys(require.cache).some((path) => /[\\\\/]pino[\\\\/]pino\\.js$/.test(path));
      createLogger({ level: "info", format: "text", destination: { write() {} } }).info("x");
      const afterText = pinoLoaded();
      createLogger({ level: "info", format: "json", destination: { write() {} } }).info("x");
      process.stdout.write(JSON.stringify([afterText, pinoLoaded()]));
    `;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { timeout: 30_000 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    assert.deepEqual(JSON.parse(stdout), [false, true]);
  });
});
