import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { nodeIdFromCertificate } from "../../src/identity/node-id.ts";
import { createCertificateAuthority } from "../../src/net/pki/certificate-authority.ts";
import { issueNodeCertificate } from "../../src/net/pki/node-certificate.ts";
import { parseSubjectAltNames } from "../../src/net/pki/subject-alt-names.ts";
import { tlsMaterialFromPem } from "../../src/net/tls-material.ts";
import { createTlsTransport } from "../../src/net/tls-transport.ts";
import { baseOptions, listenFor } from "./transport-contract.ts";

const NOW = new Date();
const sans = parseSubjectAltNames("127.0.0.1,localhost,::1,node1.example.com");

describe("certificate authority", () => {
  test("is a self-signed ECDSA P-256 CA certificate valid for the requested days", async () => {
    const ca = await createCertificateAuthority({ name: "Acme, Inc. = CA", days: 10, now: NOW });
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    // One CN attribute holding the whole name: the comma is escaped, not an attribute separator.
    assert.equal(cert.subject, "CN=Acme\\, Inc. = CA");
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const days = (new Date(cert.validTo).getTime() - NOW.getTime()) / 86_400_000;
    assert.ok(Math.abs(days - 10) < 0.01, `valid for ${days} days`);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });
});

describe("node certificate", () => {
  test("is signed by the CA, for TLS server and client, with the requested names, and has a NodeId", async () => {
    const ca = await createCertificateAuthority({ name: "CA", days: 10, now: NOW });
    const node = await issueNodeCertificate({ ca, name: "node-1", subjectAltNames: sans, days: 5, now: NOW });
    const cert = new X509Certificate(node.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.deepEqual([...(cert.keyUsage ?? [])].sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.equal(
      cert.subjectAltName,
      "IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1, DNS:node1.example.com",
    );
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(node.nodeId, nodeIdFromCertificate(node.certPem));
    const material = tlsMaterialFromPem({ certPem: node.certPem, keyPem: node.keyPem, caPem: ca.certPem });
    assert.equal(material.nodeId, node.nodeId);
  });

  test("two nodes of one CA have distinct NodeIds", async () => {
    const ca = await createCertificateAuthority({ name: "CA", days: 10, now: NOW });
    const a = await issueNodeCertificate({ ca, name: "a", subjectAltNames: sans, days: 5, now: NOW });
    const b = await issueNodeCertificate({ ca, name: "a", subjectAltNames: sans, days: 5, now: NOW });
    assert.notEqual(a.nodeId, b.nodeId);
  });

  test("refuses a CA key that is not the CA's, a non-CA certificate as CA, and bad options", async () => {
    const ca = await createCertificateAuthority({ name: "CA", days: 10, now: NOW });
    const other = await createCertificateAuthority({ name: "Other", days: 10, now: NOW });
    const issue = (overrides: Partial<Parameters<typeof issueNodeCertificate>[0]>) =>
      issueNodeCertificate({ ca, name: "n", subjectAltNames: sans, days: 5, now: NOW, ...overrides });
    await assert.rejects(issue({ ca: { certPem: ca.certPem, keyPem: other.keyPem } }), {
      code: "PKI_KEY_MISMATCH",
    });
    const leaf = await issue({});
    await assert.rejects(issue({ ca: leaf }), { code: "PKI_NOT_A_CA" });
    await assert.rejects(issue({ ca: { certPem: "garbage", keyPem: ca.keyPem } }), { code: "PKI_BAD_PEM" });
    await assert.rejects(issue({ ca: { certPem: ca.certPem, keyPem: "garbage" } }), { code: "PKI_BAD_KEY" });
    await assert.rejects(issue({ days: 0 }), { code: "PKI_BAD_DAYS" });
    await assert.rejects(issue({ name: "" }), { code: "PKI_BAD_NAME" });
    await assert.rejects(issue({ name: "a\nb" }), { code: "PKI_BAD_NAME" });
  });

  test("--san accepts IPv4, IPv6 and DNS names and refuses anything else", () => {
    assert.deepEqual(parseSubjectAltNames(" 10.0.0.5 , Node-1.Example.com,"), [
      { type: "ip", value: "10.0.0.5" },
      { type: "dns", value: "node-1.example.com" },
    ]);
    assert.throws(() => parseSubjectAltNames("10.0.0.5,not a name"), {
      code: "PKI_BAD_SAN",
      message: /"not a name"/,
    });
    assert.throws(() => parseSubjectAltNames(","), { code: "PKI_BAD_SAN" });
  });

  test("an expired node certificate is refused by Node's TLS", async (t) => {
    const longAgo = new Date(NOW.getTime() - 30 * 86_400_000);
    const ca = await createCertificateAuthority({ name: "CA", days: 3650, now: longAgo });
    const material = async (name: string, now: Date) => {
      const node = await issueNodeCertificate({ ca, name, subjectAltNames: sans, days: 1, now });
      return tlsMaterialFromPem({ certPem: node.certPem, keyPem: node.keyPem, caPem: ca.certPem });
    };
    const server = createTlsTransport({ ...baseOptions(), tls: await material("expired-server", longAgo) });
    const listening = await listenFor(server, "127.0.0.1:0", t);
    const client = createTlsTransport({ ...baseOptions(), tls: await material("fresh-client", NOW) });
    await assert.rejects(client.dial(listening.listener.address), {
      code: "NET_TLS_FAILED",
      message: /CERT_HAS_EXPIRED/,
    });
    assert.equal(listening.count(), 0);
  });
});
