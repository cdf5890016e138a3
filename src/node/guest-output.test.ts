import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { passthroughSink, prefixedLineSink } from "./guest-output.ts";

function collecting() {
  const writes: string[] = [];
  const decoder = new TextDecoder();
  return {
    writes,
    stream: {
      write: (bytes: Uint8Array | string) =>
        writes.push(typeof bytes === "string" ? bytes : decoder.decode(bytes)),
    },
  };
}
const bytes = (text: string) => new TextEncoder().encode(text);

describe("guest output", () => {
  test("passthrough writes each chunk as it comes", () => {
    const { writes, stream } = collecting();
    const sink = passthroughSink(stream);
    sink.write(bytes("par"));
    sink.write(bytes("tial\n"));
    sink.end();
    assert.deepEqual(writes, ["par", "tial\n"]);
  });

  test("prefixed: one write per complete line, partial lines joined, the rest at the end", () => {
    const { writes, stream } = collecting();
    const sink = prefixedLineSink(stream, "[a] ");
    sink.write(bytes("one\ntw"));
    sink.write(bytes("o\nthree\n\nfou"));
    assert.deepEqual(writes, ["[a] one\n", "[a] two\n", "[a] three\n", "[a] \n"]);
    sink.end();
    assert.deepEqual(writes.at(-1), "[a] fou\n");
    sink.end();
    assert.equal(writes.length, 5);
  });

  test("prefixed: an endless line is written in bounded pieces", () => {
    const { writes, stream } = collecting();
    const sink = prefixedLineSink(stream, "> ");
    const chunk = bytes("x".repeat(40 * 1024));
    sink.write(chunk);
    assert.equal(writes.length, 0);
    sink.write(chunk);
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.length, 2 + 80 * 1024 + 1);
  });
});
