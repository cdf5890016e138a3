import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect } from "node:tls";
import { parseHostPort } from "../../src/net/host-port.ts";
import { NetError } from "../../src/net/net-error.ts";
import { issueNodeCertificate } from "../../src/net/pki/node-certificate.ts";
import { parseSubjectAltNames } from "../../src/net/pki/subject-alt-names.ts";
import { tlsMaterialFromPem } from "../../src/net/tls-material.ts";
import { createTlsTransport } from "../../src/net/tls-transport.ts";
import { helloFrom, rawPeer } from "./helpers/raw-peer.ts";
import { recordingLogger } from "./helpers/recording-logger.ts";
import { testOp } from "./helpers/test-op.ts";
import { createTestCa } from "./helpers/test-pki.ts";
import { baseOptions, listenFor, nodeIdFor } from "./transport-contract.ts";

/**
 * Mutual TLS: a peer from another CA, a valid peer outside the allowlist and a Hello claiming a
 * NodeId its certificate does not prove are all refused, and none of them gets a message through
 * (the listener's onConnection never runs, so no op can reach the sync layer).
 */
const clusterCa = await createTestCa("Cluster CA");
const otherCa = await createTestCa("Other CA");
const LIMITS = { socketTimeoutMs: 2000 };

async function server(
  t: { after(fn: () => unknown): void },
  allowedPeers?: Iterable<import("../../src/identity/node-id.ts").NodeId>,
) {
  const logger = recordingLogger();
  const tls = await clusterCa.node("server");
  const transport = createTlsTransport({ ...baseOptions(), limits: LIMITS, logger, tls, allowedPeers });
  const listening = await listenFor(transport, "127.0.0.1:0", t);
  return { logger, tls, transport, listening, address: listening.listener.address };
}

describe("mTLS refusals", () => {
  test("a peer whose certificate comes from another CA is refused at the TLS layer", async (t) => {
    const { logger, listening, address } = await server(t);
    // It trusts our CA (so it accepts the server), but its own certificate is from another CA.
    const foreign = await otherCa.node("intruder");
    const intruderTls = { ...foreign, caPem: clusterCa.ca.certPem };
    const intruder = createTlsTransport({ ...baseOptions(), limits: LIMITS, tls: intruderTls });
    await assert.rejects(intruder.dial(address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      // Node's TLS server just closes (TLS 1.3 sends no alert the client sees): the message says why it likely did.
      assert.equal(error.code, "NET_CONNECTION_CLOSED", error.message);
      assert.match(error.message, /refuses our certificate/);
      return true;
    });
    const line = await logger.waitFor(
      /refused inbound connection: TLS with 127\.0\.0\.1:\d+ failed: its certificate is not signed by our CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    );
    assert.equal(line.level, "warn");
    assert.equal(listening.count(), 0);
  });

  test("a node refuses a server whose certificate comes from another CA, and both sides say why", async (t) => {
    const { logger, listening, address } = await server(t);
    const outsider = createTlsTransport({
      ...baseOptions(),
      limits: LIMITS,
      tls: await otherCa.node("outsider"),
    });
    await assert.rejects(outsider.dial(address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "NET_TLS_FAILED");
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /refused peer [0-9a-f]{32} at 127\.0\.0\.1:\d+: its certificate is not signed by our CA/,
      );
      return true;
    });
    // The outsider completes its side of the handshake before refusing, so the listener sees its
    // certificate and logs its own reason rather than a reset.
    await logger.waitFor(
      /refused inbound connection: TLS with 127\.0\.0\.1:\d+ failed: its certificate is not signed by our CA/,
    );
    assert.equal(listening.count(), 0);
  });

  test("a server whose certificate has expired is refused, with the reason", async (t) => {
    const expired = await issueNodeCertificate({
      ca: clusterCa.ca,
      name: "expired",
      subjectAltNames: parseSubjectAltNames("127.0.0.1"),
      days: 2,
      now: new Date(Date.now() - 10 * 24 * 3600 * 1000),
    });
    const tls = tlsMaterialFromPem({
      certPem: expired.certPem,
      keyPem: expired.keyPem,
      caPem: clusterCa.ca.certPem,
    });
    const stale = createTlsTransport({ ...baseOptions(), limits: LIMITS, tls });
    const listening = await listenFor(stale, "127.0.0.1:0", t);
    const dialer = createTlsTransport({
      ...baseOptions(),
      limits: LIMITS,
      tls: await clusterCa.node("dialer"),
    });
    await assert.rejects(dialer.dial(listening.listener.address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "NET_TLS_FAILED");
      assert.match(error.message, /its certificate has expired \(CERT_HAS_EXPIRED/);
      return true;
    });
    assert.equal(listening.count(), 0);
  });

  test("a server whose certificate does not name the dialed address is refused, with the reason", async (t) => {
    const elsewhere = await issueNodeCertificate({
      ca: clusterCa.ca,
      name: "elsewhere",
      subjectAltNames: parseSubjectAltNames("10.9.9.9"),
      days: 2,
      now: new Date(),
    });
    const tls = tlsMaterialFromPem({
      certPem: elsewhere.certPem,
      keyPem: elsewhere.keyPem,
      caPem: clusterCa.ca.certPem,
    });
    const misnamed = createTlsTransport({ ...baseOptions(), limits: LIMITS, tls });
    const listening = await listenFor(misnamed, "127.0.0.1:0", t);
    const dialer = createTlsTransport({
      ...baseOptions(),
      limits: LIMITS,
      tls: await clusterCa.node("dialer"),
    });
    await assert.rejects(dialer.dial(listening.listener.address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "NET_TLS_FAILED");
      assert.match(error.message, /does not name the address we dialed \(ERR_TLS_CERT_ALTNAME_INVALID/);
      return true;
    });
    assert.equal(listening.count(), 0);
  });

  test("a raw client from another CA cannot push a single frame through", async (t) => {
    const { listening, address } = await server(t);
    const foreign = await otherCa.node("raw-intruder");
    const { host, port } = parseHostPort(address);
    const socket = connect({
      host,
      port,
      key: foreign.keyPem,
      cert: foreign.certPem,
      ca: clusterCa.ca.certPem,
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.on("secureConnect", () => socket.write(new Uint8Array([0, 0, 0, 2, 1, 0x90])));
      socket.on("data", () => resolve("data"));
      socket.on("error", (error) => resolve(`error: ${error.message}`));
      socket.on("close", () => resolve("closed"));
    });
    socket.destroy();
    assert.match(outcome, /error|closed/);
    assert.equal(listening.count(), 0);
  });

  test("a valid peer outside the allowlist is refused with not_authorized before any op is accepted", async (t) => {
    const member = await clusterCa.node("member");
    const { logger, listening, address } = await server(t, [member.nodeId]);
    const stranger = await clusterCa.node("stranger");
    const peer = await rawPeer(address, stranger);
    await peer.send(helloFrom(stranger.nodeId));
    await peer.send({ type: "PushOps", batchId: 1, ops: [testOp(1)] });
    await peer.closed;
    const replies = peer.messages();
    assert.equal(replies.length, 1);
    assert.deepEqual(
      { type: replies[0].type, code: (replies[0] as { code: string }).code },
      { type: "Error", code: "not_authorized" },
    );
    await logger.waitFor(
      new RegExp(`refused inbound connection .*${stranger.nodeId} .* is not in allowed_peers`),
    );
    assert.equal(listening.count(), 0);

    const admitted = createTlsTransport({ ...baseOptions(), limits: LIMITS, tls: member });
    const connection = await admitted.dial(address);
    t.after(() => connection.close());
    assert.equal(listening.count(), 1);
  });

  test("a Hello claiming another NodeId than the certificate proves is refused", async (t) => {
    const { logger, listening, address } = await server(t);
    const liar = await clusterCa.node("liar");
    const claimed = nodeIdFor("somebody-trusted");
    const peer = await rawPeer(address, liar);
    await peer.send(helloFrom(claimed));
    await peer.send({ type: "PushOps", batchId: 1, ops: [testOp(1)] });
    await peer.closed;
    const replies = peer.messages();
    assert.equal(replies.length, 1);
    assert.equal(replies[0].type, "Error");
    assert.equal((replies[0] as { code: string }).code, "not_authorized");
    assert.match(
      (replies[0] as { message: string }).message,
      new RegExp(`claims NodeId ${claimed} .* proves ${liar.nodeId}`),
    );
    await logger.waitFor(/claims NodeId .* but its certificate proves/);
    assert.equal(listening.count(), 0);
  });

  test("TLS 1.2 is refused: the transport speaks TLS 1.3 only", async (t) => {
    const { listening, address } = await server(t);
    const client = await clusterCa.node("old-tls");
    const { host, port } = parseHostPort(address);
    const socket = connect({
      host,
      port,
      key: client.keyPem,
      cert: client.certPem,
      ca: client.caPem,
      maxVersion: "TLSv1.2",
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.on("secureConnect", () => resolve("connected"));
      socket.on("error", (error) => resolve(`error: ${error.message}`));
    });
    socket.destroy();
    assert.match(outcome, /^error: .*(protocol version|alert)/i);
    assert.equal(listening.count(), 0);
  });

  test("both sides derive each other's NodeId from the certificates", async (t) => {
    const { tls, transport, listening, address } = await server(t);
    const clientTls = await clusterCa.node("client");
    const client = createTlsTransport({ ...baseOptions(), limits: LIMITS, tls: clientTls });
    const outbound = await client.dial(address);
    t.after(() => outbound.close());
    const inbound = await listening.accepted();
    assert.equal(transport.localNodeId, tls.nodeId);
    assert.equal(outbound.remoteNodeId, tls.nodeId);
    assert.equal(inbound.remoteNodeId, clientTls.nodeId);
    assert.equal(inbound.authenticated, true);
  });
});

describe("TLS material checks", () => {
  test("a key that is not the certificate's, or a certificate from another CA, is one clear error", async () => {
    const a = await clusterCa.node("a");
    const b = await clusterCa.node("b");
    assert.throws(() => tlsMaterialFromPem({ certPem: a.certPem, keyPem: b.keyPem, caPem: a.caPem }), {
      code: "NET_TLS_MATERIAL",
      message: "--tls-key key is not the key of --tls-cert certificate",
    });
    assert.throws(
      () => tlsMaterialFromPem({ certPem: a.certPem, keyPem: a.keyPem, caPem: otherCa.ca.certPem }),
      {
        code: "NET_TLS_MATERIAL",
        message: /is not signed by --tls-ca/,
      },
    );
    assert.throws(() => tlsMaterialFromPem({ certPem: "nope", keyPem: a.keyPem, caPem: a.caPem }), {
      code: "NET_TLS_MATERIAL",
      message: /is not a PEM certificate/,
    });
  });
});
