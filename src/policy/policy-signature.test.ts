import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createCertificateAuthority } from "../net/pki/certificate-authority.ts";
import { issueNodeCertificate } from "../net/pki/node-certificate.ts";
import { PolicyError } from "./policy-error.ts";
import { signPolicy, verifyPolicySignature } from "./policy-signature.ts";

const NOW = new Date("2026-12-06T08:00:00Z");
const POLICY = new TextEncoder().encode('[capabilities]\ndb.read = ["kv/*"]\n');

async function pki() {
  const ca = await createCertificateAuthority({ name: "test CA", days: 30, now: NOW });
  const node = await issueNodeCertificate({ ca, name: "node1", subjectAltNames: [], days: 30, now: NOW });
  const stranger = await createCertificateAuthority({ name: "stranger CA", days: 30, now: NOW });
  return { ca, node, stranger };
}

function refusal(run: () => void): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    assert.equal(error.code, "POLICY_SIGNATURE_INVALID");
    return error.message;
  }
  assert.fail("accepted");
}

describe("policy signatures", () => {
  test("a policy signed by a node of the CA, or by the CA itself, verifies", async () => {
    const { ca, node } = await pki();
    verifyPolicySignature(POLICY, signPolicy(POLICY, node.keyPem, node.certPem), ca.certPem, "p.toml", NOW);
    verifyPolicySignature(POLICY, signPolicy(POLICY, ca.keyPem, ca.certPem), ca.certPem, "p.toml", NOW);
  });

  test("a tampered policy, a stranger's signature, an expired signer and garbage are refused in one line", async () => {
    const { ca, node, stranger } = await pki();
    const signature = signPolicy(POLICY, node.keyPem, node.certPem);
    const tampered = new TextEncoder().encode('[capabilities]\ndb.read = ["*"]\n');
    assert.match(
      refusal(() => verifyPolicySignature(tampered, signature, ca.certPem, "p.toml", NOW)),
      /^policy p\.toml: the signature does not match the file/,
    );
    const foreign = signPolicy(POLICY, stranger.keyPem, stranger.certPem);
    assert.match(
      refusal(() => verifyPolicySignature(POLICY, foreign, ca.certPem, "p.toml", NOW)),
      /whose certificate the cluster CA did not issue/,
    );
    const later = new Date(NOW.getTime() + 60 * 86_400_000);
    assert.match(
      refusal(() => verifyPolicySignature(POLICY, signature, ca.certPem, "p.toml", later)),
      /not valid now/,
    );
    assert.match(
      refusal(() => verifyPolicySignature(POLICY, "{}", ca.certPem, "p.toml", NOW)),
      /p\.toml\.sig is not a signature file/,
    );
    assert.match(
      refusal(() => signPolicy(POLICY, stranger.keyPem, node.certPem)),
      /the key does not belong to the certificate/,
    );
  });
});
