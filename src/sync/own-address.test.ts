import assert from "node:assert/strict";
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
