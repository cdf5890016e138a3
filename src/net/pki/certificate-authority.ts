import type { webcrypto } from "node:crypto";
import { PkiError } from "./pki-error.ts";
import { ECDSA_P256, x509 } from "./x509-runtime.ts";

/** A certificate and its private key, PEM (the key as unencrypted PKCS#8). */
export interface CertificateAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ValidityOptions {
  /** Days from `now` the certificate stays valid. */
  readonly days: number;
  /** The issue time (injected so tests can make expired or future certificates). */
  readonly now: Date;
}

/** Certificates start a little in the past so a peer whose clock lags slightly still accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_VALIDITY_DAYS = 36500;

/** A cluster CA: ECDSA P-256 key and a self-signed certificate that may only sign node certificates. */
export async function createCertificateAuthority(
  options: ValidityOptions & { name: string },
): Promise<CertificateAndKey> {
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName(options.name),
    keys,
    signingAlgorithm: ECDSA_P256,
    ...validity(options),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificate.toString("pem"), keyPem: await exportPrivateKey(keys.privateKey) };
}

export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

export async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export function validity(options: ValidityOptions): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(options.days) || options.days < 1 || options.days > MAX_VALIDITY_DAYS) {
    throw new PkiError(
      "PKI_BAD_DAYS",
      `--days must be a whole number from 1 to ${MAX_VALIDITY_DAYS}, got ${options.days}`,
    );
  }
  const start = options.now.getTime();
  return { notBefore: new Date(start - CLOCK_SKEW_MS), notAfter: new Date(start + options.days * DAY_MS) };
}

/** `CN=<name>`, built structurally so commas or equals signs in a name cannot inject attributes. */
export function distinguishedName(name: string): x509.JsonName {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new PkiError(
      "PKI_BAD_NAME",
      `--name must be 1 to 64 printable characters, got ${JSON.stringify(name)}`,
    );
  }
  return [{ CN: [name] }];
}
