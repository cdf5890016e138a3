import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatHostPort, isLoopbackHost, isUnspecifiedHost, parseHostPort } from "./host-port.ts";
import { NetError } from "./net-error.ts";

const PROPERTY_RUNS = { seed: 20_261_206, numRuns: 300 };

describe("host:port addresses", () => {
  test("parse host names, IPv4 and bracketed IPv6, port 0 included", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:9000"), { host: "127.0.0.1", port: 9000 });
    assert.deepEqual(parseHostPort("node-a.example:0"), { host: "node-a.example", port: 0 });
    assert.deepEqual(parseHostPort("[::1]:65535"), { host: "::1", port: 65535 });
  });

  test("format and parse are inverse for every IP and port", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (host, port) => {
        assert.deepEqual(parseHostPort(formatHostPort(host, port)), { host, port });
      }),
      PROPERTY_RUNS,
    );
  });

  test("refuse anything else with NET_ADDRESS_INVALID and an example", () => {
    for (const bad of ["9000", "host:", "host:65536", "::1:9000", "[not-ip]:1", "a b:1", "[::1]", ""]) {
      assert.throws(
        () => parseHostPort(bad),
        (error: unknown) =>
          error instanceof NetError &&
          error.code === "NET_ADDRESS_INVALID" &&
          error.message.includes("for example 127.0.0.1:9000"),
        bad,
      );
    }
  });
});

test("loopback hosts are localhost, ::1 and 127.0.0.0/8 addresses only; unspecified ones are 0.0.0.0 and ::", () => {
  for (const host of ["localhost", "::1", "127.0.0.1", "127.255.3.9"])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "127.example.com", "::ffff:127.0.0.1"])
    assert.equal(isLoopbackHost(host), false, host);
  assert.deepEqual(["0.0.0.0", "::", "127.0.0.1", "::1"].map(isUnspecifiedHost), [true, true, false, false]);
});
