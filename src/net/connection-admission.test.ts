import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConnectionAdmission, KNOWN_PEER_ADDRESSES_MAX } from "./connection-admission.ts";

const LIMITS = {
  maxPendingHandshakes: 8,
  pendingHandshakesReservedForKnownPeers: 2,
  maxPendingHandshakesPerAddress: 3,
  maxConnectionsPerAddress: 4,
};

function admitted(admission: ConnectionAdmission, address: string) {
  const verdict = admission.admit(address);
  assert.ok(verdict.admitted, `expected ${address} to be admitted`);
  return verdict.ticket;
}

function refusal(admission: ConnectionAdmission, address: string): string {
  const verdict = admission.admit(address);
  assert.ok(!verdict.admitted, `expected ${address} to be refused`);
  return verdict.reason;
}

describe("ConnectionAdmission", () => {
  test("one address gets at most its pending share, and its slots come back when handshakes end", () => {
    const admission = new ConnectionAdmission(LIMITS);
    const tickets = [1, 2, 3].map(() => admitted(admission, "10.0.0.9"));
    assert.match(refusal(admission, "10.0.0.9"), /3 handshakes already pending from this address/);
    admitted(admission, "10.0.0.10");
    tickets[0].handshakeEnded();
    tickets[0].handshakeEnded();
    assert.equal(admission.pending, 3);
    admitted(admission, "10.0.0.9");
  });

  test("one address holds at most maxConnectionsPerAddress open sockets, established ones included", () => {
    const admission = new ConnectionAdmission(LIMITS);
    const tickets = [1, 2, 3, 4].map(() => {
      const ticket = admitted(admission, "10.0.0.9");
      ticket.handshakeEnded();
      return ticket;
    });
    assert.match(refusal(admission, "10.0.0.9"), /4 connections already open from this address/);
    tickets[2].released();
    tickets[2].released();
    assert.equal(admission.openFrom("10.0.0.9"), 3);
    admitted(admission, "10.0.0.9");
  });

  test("strangers from many addresses leave the reserved slots to configured and proven peers", () => {
    const admission = new ConnectionAdmission(LIMITS, ["10.0.0.1"]);
    for (let i = 0; i < 6; i++) admitted(admission, `10.1.0.${i}`);
    assert.match(refusal(admission, "10.1.0.99"), /last 2 slots are kept for configured and allowed peers/);
    admitted(admission, "10.0.0.1");
    admission.rememberKnown("::ffff:10.0.0.2");
    admitted(admission, "10.0.0.2");
    assert.match(refusal(admission, "10.0.0.1"), /8 handshakes already pending \(the most this node takes\)/);
  });

  test("known peers are not held to the per-address limits", () => {
    const admission = new ConnectionAdmission(LIMITS, ["127.0.0.1"]);
    for (let i = 0; i < 6; i++) admitted(admission, "127.0.0.1").handshakeEnded();
    admitted(admission, "::ffff:127.0.0.1");
  });

  test("learned addresses are bounded, oldest forgotten first; configured ones stay", () => {
    const admission = new ConnectionAdmission(LIMITS, ["10.0.0.1"]);
    for (let i = 0; i <= KNOWN_PEER_ADDRESSES_MAX; i++) admission.rememberKnown(`10.2.${i >> 8}.${i & 255}`);
    assert.equal(admission.isKnown("10.2.0.0"), false);
    assert.equal(admission.isKnown("10.2.0.1"), true);
    assert.equal(admission.isKnown("10.0.0.1"), true);
  });
});
