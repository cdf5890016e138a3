import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stdioWriter } from "./stdio-writer.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-stdio-writer-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for process.stdout that records what it is given (an emitter, as the stream is). */
function recordingStream() {
  const written: string[] = [];
  return Object.assign(new EventEmitter(), {
    written,
    write: (bytes: Uint8Array | string) => written.push(Buffer.from(bytes).toString()),
  });
}

describe("stdioWriter", () => {
  test("writes bytes and strings to the descriptor itself, in order, never asking for the stream", () => {
    const path = join(dir, "out");
    const fd = openSync(path, "w");
    try {
      const writer = stdioWriter(fd, () => assert.fail("the stream was used"));
      writer.write(new TextEncoder().encode("one\n"));
      writer.write("two é\n");
      writer.write(new Uint8Array(0));
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(path, "utf8"), "one\ntwo é\n");
  });

  test("from a write that fails on, hands everything to the stream, in order", () => {
    const path = join(dir, "read-only");
    writeFileSync(path, "");
    // A descriptor open for reading: write(2) fails with EBADF, as EPIPE or EAGAIN would.
    const fd = openSync(path, "r");
    const stream = recordingStream();
    try {
      const writer = stdioWriter(fd, () => stream);
      writer.write("first\n");
      writer.write(Buffer.from("second\n"));
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(stream.written, ["first\n", "second\n"]);
  });

  test("a write the stream fails later (its reader left) drops the rest with one call, not an uncaught 'error'", () => {
    const path = join(dir, "read-only-then-gone");
    writeFileSync(path, "");
    const fd = openSync(path, "r");
    const stream = recordingStream();
    const left: string[] = [];
    try {
      const writer = stdioWriter(
        fd,
        () => stream,
        (code) => left.push(code),
      );
      writer.write("queued\n");
      // What process.stdout does when its queued write meets a reader that left: an 'error' that,
      // with no listener, ends the process.
      stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      assert.equal(writer.write("after\n"), false);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(stream.written, ["queued\n"]);
    assert.deepEqual(left, ["EPIPE"]);
  });

  // Run from source, the ES module import of node:fs loads the streams (the bundle picks its
  // built-ins without it: test/cli-entry.test.ts checks that a plain nx run loads neither).
  test("a process that writes only through it loads neither net nor tty", () => {
    const script = [
      `import { processStderr, processStdout } from ${JSON.stringify(new URL("./stdio-writer.ts", import.meta.url).href)};`,
      'processStdout.write("out\\n");',
      'processStderr.write("err\\n");',
      "const loaded = process.moduleLoadList.filter((name) => /^NativeModule (net|tty)$/.test(name));",
      'processStdout.write(JSON.stringify(loaded) + "\\n");',
    ].join("\n");
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, "out\n[]\n");
    assert.equal(child.stderr, "err\n");
  });

  test("to a pipe whose reader lags, a write waits for the reader instead of queueing in memory", async () => {
    const script = [
      `import { processStdout } from ${JSON.stringify(new URL("./stdio-writer.ts", import.meta.url).href)};`,
      'process.getBuiltinModule("node:fs").writeSync(2, "start\\n");',
      "processStdout.write(new Uint8Array(4 * 1024 * 1024).fill(97));",
      'process.getBuiltinModule("node:fs").writeSync(2, "returned\\n");',
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        stderr += text;
      });
      child.stdout.pause();
      while (!stderr.includes("start")) await once(child.stderr, "data");
      // A stream would have queued the 4 MiB and returned at once; the write waits for the pipe.
      const returned = await Promise.race([
        once(child.stderr, "data").then(() => stderr.includes("returned")),
        new Promise<false>((resolve) => setTimeout(resolve, 500, false)),
      ]);
      assert.equal(returned, false, "the write returned with the pipe full and unread");
      let bytes = 0;
      child.stdout.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      child.stdout.resume();
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 0, stderr);
      assert.match(stderr, /returned/);
      assert.equal(bytes, 4 * 1024 * 1024);
    } finally {
      child.kill();
    }
  });

  test("once the reader of stdout has left (EPIPE), output is dropped with one line on stderr and the process runs on", async () => {
    const script = [
      `import { processStdout } from ${JSON.stringify(new URL("./stdio-writer.ts", import.meta.url).href)};`,
      'for (let i = 0; i < 100; i++) processStdout.write("line " + i + "\\n");',
      'process.getBuiltinModule("node:fs").writeSync(2, "ran on\\n");',
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy(); // as `| head` does once it has its lines
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "nx: stdout was closed by its reader (EPIPE): further output is dropped\nran on\n");
  });
});
