import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeFrame, FRAME_HEADER_BYTES, FRAME_LENGTH_BYTES, type Frame } from "../../src/net/frame.ts";
import { FRAME_BODY_INITIAL_CAPACITY_BYTES, FrameDecoder } from "../../src/net/frame-decoder.ts";
import { NetError } from "../../src/net/net-error.ts";
import { FORMAT_TAGS, type WireFormat } from "../../src/net/wire-format.ts";
import { fuzzSettings } from "./helpers/fuzz-settings.ts";

const MAX = 1024;

function frame(format: WireFormat, body: number[]): Frame {
  return { format, body: new Uint8Array(body) };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

function plain(frames: readonly Frame[]): Array<{ format: WireFormat; body: number[] }> {
  return frames.map((f) => ({ format: f.format, body: [...f.body] }));
}

function header(length: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, false);
  bytes[FRAME_LENGTH_BYTES] = tag;
  return bytes;
}

describe("frame encoding", () => {
  test("the length prefix counts the tag byte and the body, big-endian", () => {
    const bytes = encodeFrame(frame("json", [0x7b, 0x7d]), MAX);
    assert.deepEqual([...bytes], [0, 0, 0, 3, FORMAT_TAGS.json, 0x7b, 0x7d]);
  });

  test("a frame above the limit is refused when encoding", () => {
    assert.throws(
      () => encodeFrame({ format: "msgpack", body: new Uint8Array(MAX) }, MAX),
      (error: unknown) => error instanceof NetError && error.code === "NET_FRAME_TOO_LARGE",
    );
  });
});

describe("FrameDecoder", () => {
  test("decodes frames split at every possible point", () => {
    const frames = [
      frame("msgpack", [1, 2, 3]),
      frame("json", []),
      frame("json", [9]),
      frame("msgpack", [4, 5]),
    ];
    const stream = concat(frames.map((f) => encodeFrame(f, MAX)));
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const decoder = new FrameDecoder(MAX);
        const out = chunk(stream, [a, b]).flatMap((c) => decoder.push(c));
        assert.deepEqual(plain(out), plain(frames), `cuts at ${a}, ${b}`);
        assert.equal(decoder.bufferedBytes, 0);
        assert.equal(decoder.hasPartialFrame, false);
      }
    }
  });

  test("an absurd length prefix fails at the header, before allocating the body", () => {
    const decoder = new FrameDecoder(MAX);
    assert.throws(
      () => decoder.push(header(0xffffffff, FORMAT_TAGS.msgpack)),
      (error: unknown) =>
        error instanceof NetError && error.code === "NET_FRAME_TOO_LARGE" && /4294967295/.test(error.message),
    );
    assert.equal(decoder.bufferedBytes, 0);
  });

  test("the length check happens even when the header arrives one byte at a time", () => {
    const decoder = new FrameDecoder(MAX);
    const bytes = header(MAX + 1, FORMAT_TAGS.json);
    for (let i = 0; i < FRAME_HEADER_BYTES - 1; i++)
      assert.deepEqual(decoder.push(bytes.subarray(i, i + 1)), []);
    assert.ok(decoder.bufferedBytes <= FRAME_HEADER_BYTES);
    assert.throws(() => decoder.push(bytes.subarray(FRAME_HEADER_BYTES - 1)), {
      code: "NET_FRAME_TOO_LARGE",
    });
  });

  test("a frame of exactly the limit is accepted", () => {
    const decoder = new FrameDecoder(MAX);
    const body = new Uint8Array(MAX - 1).fill(7);
    const [out] = decoder.push(encodeFrame({ format: "msgpack", body }, MAX));
    assert.equal(out.body.byteLength, MAX - 1);
  });

  test("length 0 and unknown tags are typed errors, and the decoder stays failed", () => {
    assert.throws(() => new FrameDecoder(MAX).push(header(0, FORMAT_TAGS.json)), {
      code: "NET_FRAME_MALFORMED",
    });
    for (const tag of [0x00, 0x03, 0x47, 0xff]) {
      const decoder = new FrameDecoder(MAX);
      assert.throws(() => decoder.push(header(1, tag)), { code: "NET_UNKNOWN_FORMAT" });
      assert.throws(() => decoder.push(encodeFrame(frame("json", [1]), MAX)), { code: "NET_UNKNOWN_FORMAT" });
    }
  });

  test("holds one partial frame only: buffered bytes are the header plus that frame's body", () => {
    const decoder = new FrameDecoder(MAX);
    const bytes = encodeFrame({ format: "msgpack", body: new Uint8Array(500) }, MAX);
    decoder.push(bytes.subarray(0, 100));
    assert.equal(decoder.bufferedBytes, FRAME_HEADER_BYTES + 500);
    assert.equal(decoder.hasPartialFrame, true);
    assert.equal(decoder.push(bytes.subarray(100)).length, 1);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test("a frame's buffer grows with the bytes that arrive, not with the length its header announces", () => {
    const max = 16 * 1024 * 1024;
    const decoder = new FrameDecoder(max);
    const body = new Uint8Array(max - 1).map((_, index) => index % 251);
    const bytes = encodeFrame({ format: "msgpack", body }, max);
    decoder.push(bytes.subarray(0, FRAME_HEADER_BYTES + 10));
    // A stranger's 5-byte header alone used to cost the whole announced 16 MiB.
    assert.ok(decoder.bufferedBytes <= FRAME_HEADER_BYTES + FRAME_BODY_INITIAL_CAPACITY_BYTES);
    decoder.push(bytes.subarray(FRAME_HEADER_BYTES + 10, 1024 * 1024));
    assert.ok(
      decoder.bufferedBytes <= FRAME_HEADER_BYTES + 2 * 1024 * 1024,
      `buffered ${decoder.bufferedBytes}`,
    );
    const [out] = decoder.push(bytes.subarray(1024 * 1024));
    assert.equal(out.body.byteLength, body.byteLength);
    assert.deepEqual(out.body, body);
  });

  test("property: any frames, chunked anywhere, come out identical and in order", () => {
    const frameArb = fc.record({
      format: fc.constantFrom<WireFormat>("msgpack", "json"),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = concat(frames.map((f) => encodeFrame(f, MAX)));
          const decoder = new FrameDecoder(MAX);
          const out: Frame[] = [];
          for (const piece of chunk(stream, cuts)) {
            out.push(...decoder.push(piece));
            assert.ok(decoder.bufferedBytes <= FRAME_LENGTH_BYTES + MAX);
          }
          assert.deepEqual(plain(out), plain(frames));
        },
      ),
      fuzzSettings(300),
    );
  });
});

describe("FrameDecoder fuzz", () => {
  /** Feeds a stream; checks the memory bound after every chunk; returns the typed error, if any. */
  function feed(stream: Uint8Array, cuts: readonly number[], max: number): NetError | undefined {
    const decoder = new FrameDecoder(max);
    try {
      for (const piece of chunk(stream, cuts)) {
        for (const out of decoder.push(piece)) assert.ok(out.body.byteLength <= max - 1);
        assert.ok(decoder.bufferedBytes <= FRAME_LENGTH_BYTES + max, `buffered ${decoder.bufferedBytes}`);
      }
      return undefined;
    } catch (error) {
      assert.ok(error instanceof NetError, `not a NetError: ${String(error)}`);
      assert.ok(["NET_FRAME_TOO_LARGE", "NET_FRAME_MALFORMED", "NET_UNKNOWN_FORMAT"].includes(error.code));
      assert.ok(decoder.bufferedBytes <= FRAME_LENGTH_BYTES + max);
      return error;
    }
  }

  test("random bytes: only typed errors, never more than one bounded frame buffered", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (bytes, cuts) => {
          feed(bytes, cuts, 256);
        },
      ),
      fuzzSettings(500),
    );
  });

  test("mutated valid streams: only typed errors, bounded buffering", () => {
    const streamArb = fc
      .array(
        fc.record({
          format: fc.constantFrom<WireFormat>("msgpack", "json"),
          body: fc.uint8Array({ maxLength: 200 }),
        }),
        {
          minLength: 1,
          maxLength: 8,
        },
      )
      .map((frames) => concat(frames.map((f) => encodeFrame(f, MAX))));
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(streamArb, mutation, fc.array(fc.nat(), { maxLength: 10 }), (stream, flips, cuts) => {
        const mutated = new Uint8Array(stream);
        for (const [position, value] of flips) mutated[position % mutated.length] = value;
        feed(mutated, cuts, MAX);
      }),
      fuzzSettings(500),
    );
  });
});
