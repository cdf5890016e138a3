import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { test } from "node:test";
import { isOwnAddress } from "./own-address.ts";

test("a peer address is this node's own when it reaches the same listener", () => {
  assert.equal(isOwnAddress("127.0.0.1:9000", "127.0.0.1:9000"), true);
  assert.equal(isOwnAddress("localhost:9000", "127.0.0.1:9000"), true);
  assert.equal(isOwnAddress("[::1]:9000", "127.0.0.1:9000"), true);
  assert.equal(isOwnAddress("127.0.0.1:9000", "0.0.0.0:9000"), true, "every interface includes loopback");
  assert.equal(isOwnAddress("127.0.0.1:9001", "127.0.0.1:9000"), false, "another port is another node");
  assert.equal(isOwnAddress("10.255.255.254:9000", "127.0.0.1:9000"), false);
  assert.equal(isOwnAddress("192.0.2.7:9000", "0.0.0.0:9000"), false, "not an address of this machine");
  assert.equal(isOwnAddress("not an address", "127.0.0.1:9000"), false);
});

test("a listener on every interface owns this machine's interface addresses on its port", (t) => {
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && !address.internal && address.family === "IPv4");
  if (lan === undefined) return t.skip("no non-loopback IPv4 interface here");
  assert.equal(isOwnAddress(`${lan.address}:9000`, "0.0.0.0:9000"), true);
  assert.equal(isOwnAddress(`${lan.address}:9001`, "0.0.0.0:9000"), false);
});
