import {
  type CertificateAndKey,
  createCertificateAuthority,
} from "../../../src/net/pki/certificate-authority.ts";
import { issueNodeCertificate } from "../../../src/net/pki/node-certificate.ts";
import { parseSubjectAltNames } from "../../../src/net/pki/subject-alt-names.ts";
import { type TlsMaterial, tlsMaterialFromPem } from "../../../src/net/tls-material.ts";

/** A CA made in memory for tests, issuing node TLS material valid for 127.0.0.1. */
export interface TestCa {
  readonly ca: CertificateAndKey;
  node(name: string): Promise<TlsMaterial>;
}

export async function createTestCa(name = "Test CA"): Promise<TestCa> {
  const now = new Date();
  const ca = await createCertificateAuthority({ name, days: 2, now });
  return {
    ca,
    async node(nodeName) {
      const node = await issueNodeCertificate({
        ca,
        name: nodeName,
        subjectAltNames: parseSubjectAltNames("127.0.0.1,localhost"),
        days: 2,
        now,
      });
      return tlsMaterialFromPem({ certPem: node.certPem, keyPem: node.keyPem, caPem: ca.certPem });
    },
  };
}
