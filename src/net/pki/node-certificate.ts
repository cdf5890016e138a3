import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { type NodeId, nodeIdFromCertificate } from "../../identity/node-id.ts";
import {
  type CertificateAndKey,
  distinguishedName,
  exportPrivateKey,
  generateKeyPair,
  type ValidityOptions,
  validity,
} from "./certificate-authority.ts";
import { PkiError } from "./pki-error.ts";
import type { SubjectAltName } from "./subject-alt-names.ts";
import { ECDSA_P256, x509 } from "./x509-runtime.ts";

export interface NodeCertificate extends CertificateAndKey {
  readonly nodeId: NodeId;
}

export interface IssueNodeCertificateOptions extends ValidityOptions {
  readonly ca: CertificateAndKey;
  /** The certificate's common name: a label for humans; identity is the NodeId. */
  readonly name: string;
  readonly subjectAltNames: readonly SubjectAltName[];
}

/**
 * A node certificate signed by the CA: a fresh ECDSA P-256 key, usable as TLS server and client
 * (both extended key usages), valid for the given IP addresses and DNS names.
 */
export async function issueNodeCertificate(options: IssueNodeCertificateOptions): Promise<NodeCertificate> {
  const subject = distinguishedName(options.name);
  const times = validity(options);
  const caCertificate = parseCaCertificate(options.ca.certPem);
  const caKey = await importCaKey(options.ca.keyPem, caCertificate);
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.create({
    subject,
    issuer: caCertificate.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ECDSA_P256,
    ...times,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(
        options.subjectAltNames.map((san) => ({ type: san.type, value: san.value })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
    ],
  });
  const certPem = certificate.toString("pem");
  return { certPem, keyPem: await exportPrivateKey(keys.privateKey), nodeId: nodeIdFromCertificate(certPem) };
}

function parseCaCertificate(pem: string): x509.X509Certificate {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(pem);
  } catch (error) {
    throw new PkiError("PKI_BAD_PEM", "the CA certificate is not a PEM certificate", { cause: error });
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) {
    throw new PkiError("PKI_NOT_A_CA", `the CA certificate (${certificate.subject}) is not a CA certificate`);
  }
  return certificate;
}

async function importCaKey(keyPem: string, caCertificate: x509.X509Certificate): Promise<CryptoKey> {
  let spki: Buffer;
  try {
    spki = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  } catch (error) {
    throw new PkiError("PKI_BAD_KEY", "the CA key is not a PEM private key", { cause: error });
  }
  const caSpki = new X509Certificate(new Uint8Array(caCertificate.rawData)).publicKey.export({
    type: "spki",
    format: "der",
  });
  if (!spki.equals(caSpki))
    throw new PkiError("PKI_KEY_MISMATCH", "the CA key does not belong to the CA certificate");
  try {
    const pkcs8 = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
    return await crypto.subtle.importKey("pkcs8", pkcs8, ECDSA_P256, false, ["sign"]);
  } catch (error) {
    throw new PkiError("PKI_BAD_KEY", "the CA key is not an ECDSA P-256 key (make the CA with nx cert ca)", {
      cause: error,
    });
  }
}
