import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";
import { formatSize, parseSize } from "../../src/config/size.ts";
import { NumaxError } from "../../src/errors/numax-error.ts";

const PROPERTY_RUNS = { seed: 20_240_605, numRuns: 300 };

function assertRejects(parse: (text: string) => number, text: string, code: string, pattern: RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => {
      assert.ok(error instanceof NumaxError, `expected a NumaxError for ${JSON.stringify(text)}`);
      assert.equal(error.code, code);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    },
  );
}

describe("parseDuration", () => {
  test("reads the units humans write", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("2m"), 120_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("1d"), 86_400_000);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("1h2m3s4ms"), 3_723_004);
    assert.equal(parseDuration("0s"), 0);
  });

  test("refuses garbage with a reason", () => {
    const code = "USAGE_INVALID_DURATION";
    assertRejects(parseDuration, "", code, /empty/);
    assertRejects(parseDuration, "30", code, /missing unit after 30/);
    assertRejects(parseDuration, "1.5s", code, /fractions are not allowed/);
    assertRejects(parseDuration, "30 s", code, /remove the spaces/);
    assertRejects(parseDuration, " 30s", code, /remove the spaces/);
    assertRejects(parseDuration, "-5s", code, /negative/);
    assertRejects(parseDuration, "30sec", code, /unknown unit "sec"/);
    assertRejects(parseDuration, "5S", code, /unknown unit "S"/);
    assertRejects(parseDuration, "s", code, /expected a number/);
    assertRejects(parseDuration, "30s1m", code, /largest to the smallest/);
    assertRejects(parseDuration, "1s1s", code, /once/);
    assertRejects(parseDuration, "99999999999999999999d", code, /too large/);
    assertRejects(parseDuration, "abc", code, /expected a number/);
  });

  test("format then parse is the identity (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (ms) => parseDuration(formatDuration(ms)) === ms,
      ),
      PROPERTY_RUNS,
    );
  });

  test("every accepted string names the same duration after a round trip (property)", () => {
    const part = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom("ms", "s", "m", "h", "d"));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), (parts) => {
        const text = parts.map(([count, unit]) => `${count}${unit}`).join("");
        let ms: number;
        try {
          ms = parseDuration(text);
        } catch (error) {
          // Only the unit-order rule may refuse these well-formed parts.
          return error instanceof NumaxError && /once, from the largest/.test(error.message);
        }
        return parseDuration(formatDuration(ms)) === ms;
      }),
      PROPERTY_RUNS,
    );
  });

  test("random strings either parse to a safe integer or fail with a NumaxError (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        try {
          const ms = parseDuration(text);
          return Number.isSafeInteger(ms) && ms >= 0;
        } catch (error) {
          return error instanceof NumaxError && error.code === "USAGE_INVALID_DURATION";
        }
      }),
      PROPERTY_RUNS,
    );
  });
});

describe("parseSize", () => {
  test("reads binary and decimal units and plain bytes", () => {
    assert.equal(parseSize("16MiB"), 16 * 1024 * 1024);
    assert.equal(parseSize("512KiB"), 512 * 1024);
    assert.equal(parseSize("1GB"), 1_000_000_000);
    assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
    assert.equal(parseSize("4096"), 4096);
    assert.equal(parseSize("10B"), 10);
    assert.equal(parseSize("1TB"), 1e12);
  });

  test("refuses garbage with a reason", () => {
    const code = "USAGE_INVALID_SIZE";
    assertRejects(parseSize, "", code, /empty/);
    assertRejects(parseSize, "16 MiB", code, /remove the spaces/);
    assertRejects(parseSize, "16mib", code, /case-sensitive: did you mean MiB/);
    assertRejects(parseSize, "16M", code, /ambiguous unit "M"; write MiB .* or MB/);
    assertRejects(parseSize, "1.5MiB", code, /fractions are not allowed/);
    assertRejects(parseSize, "-1", code, /negative/);
    assertRejects(parseSize, "16XB", code, /unknown unit "XB"/);
    assertRejects(parseSize, "MiB", code, /expected an integer/);
    assertRejects(parseSize, "99999999999TiB", code, /too large/);
  });

  test("format then parse is the identity, and format picks an exact unit (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (bytes) => {
        const text = formatSize(bytes);
        return parseSize(text) === bytes && /^\d+(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/.test(text);
      }),
      PROPERTY_RUNS,
    );
    assert.equal(formatSize(16 * 1024 * 1024), "16MiB");
    assert.equal(formatSize(1_000_000), "1MB");
    assert.equal(formatSize(1000 + 1), "1001B");
  });

  test("random strings either parse to a safe integer or fail with a NumaxError (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        try {
          const bytes = parseSize(text);
          return Number.isSafeInteger(bytes) && bytes >= 0;
        } catch (error) {
          return error instanceof NumaxError && error.code === "USAGE_INVALID_SIZE";
        }
      }),
      PROPERTY_RUNS,
    );
  });
});
