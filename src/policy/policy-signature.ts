import { createPrivateKey, sign, verify, X509Certificate } from "node:crypto";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { PEM_FILE_BYTES_MAX } from "../net/tls-material.ts";
import { PolicyError } from "./policy-error.ts";

/** A policy file's signature sits beside it: `NAME.policy.toml.sig`. */
export const POLICY_SIGNATURE_SUFFIX = ".sig";
/** Longest signature file read: a certificate and a signature are about 1 KiB. */
export const POLICY_SIGNATURE_BYTES_MAX = 64 * 1024;

const SIGNATURE_VERSION = 1;

/**
 * The signature file (JSON): the signer's certificate and an ECDSA / Ed25519 signature over the
 * exact bytes of the policy file, SHA-256. The certificate must be the cluster CA's or one the CA
 * issued (`nx cert ca`, `nx cert node`): a node or an operator signs with the key `nx cert` gave it.
 */
interface SignatureFile {
  readonly version: number;
  readonly certificate: string;
  readonly signature: string;
}

/** The signature file's text for `policy` signed with `keyPem`, whose certificate is `certPem`. */
export function signPolicy(policy: Uint8Array, keyPem: string, certPem: string): string {
  let certificate: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      `the key or certificate cannot be read: ${(error as Error).message}`,
    );
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      "the key does not belong to the certificate; pass the pair nx cert wrote",
    );
  }
  const signature = sign("sha256", policy, key).toString("base64");
  const file: SignatureFile = { version: SIGNATURE_VERSION, certificate: certificate.toString(), signature };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The signature file in `text`, or undefined when it is not one. */
function signatureFileOf(text: string): SignatureFile | undefined {
  let file: Partial<SignatureFile> | null;
  try {
    file = JSON.parse(text) as Partial<SignatureFile> | null;
  } catch {
    return undefined;
  }
  const valid =
    typeof file === "object" &&
    file !== null &&
    file.version === SIGNATURE_VERSION &&
    typeof file.certificate === "string" &&
    typeof file.signature === "string";
  return valid ? (file as SignatureFile) : undefined;
}

function certificateOf(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * Checks that `signatureText` signs exactly `policy` with a certificate of the CA `caPem`, valid
 * at `now`. Throws a {@link PolicyError} `POLICY_SIGNATURE_INVALID` of one line naming `path`
 * and what failed.
 */
export function verifyPolicySignature(
  policy: Uint8Array,
  signatureText: string,
  caPem: string,
  path: string,
  now: Date,
): void {
  const refuse = (why: string): never => {
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      `policy ${path}: ${why}; the node requires signed policies`,
    );
  };
  const parsed =
    signatureFileOf(signatureText) ??
    refuse(`${path}${POLICY_SIGNATURE_SUFFIX} is not a signature file (nx policy sign writes one)`);
  const signer = certificateOf(parsed.certificate) ?? refuse("the signer's certificate cannot be read");
  const ca = certificateOf(caPem) ?? refuse("the CA certificate cannot be read");
  const isCa = signer.fingerprint256 === ca.fingerprint256;
  if (!isCa && !(signer.checkIssued(ca) && signer.verify(ca.publicKey))) {
    refuse(
      `signed by ${signer.subject.replaceAll("\n", ", ")}, whose certificate the cluster CA did not issue`,
    );
  }
  if (now < new Date(signer.validFrom) || now > new Date(signer.validTo)) {
    refuse(`the signer's certificate is not valid now (valid ${signer.validFrom} to ${signer.validTo})`);
  }
  if (!verify("sha256", policy, signer.publicKey, Buffer.from(parsed.signature, "base64"))) {
    refuse(
      "the signature does not match the file: it changed after it was signed (sign it again with nx policy sign)",
    );
  }
}

/** A PEM file (`what` names it in the error: `tls.ca`, `--key`); unreadable: a {@link PolicyError}. */
export function readPemText(path: string, what: string): string {
  try {
    return readInputFile(path, PEM_FILE_BYTES_MAX).toString("utf8");
  } catch (error) {
    const why = inputFileFailureReason(error, PEM_FILE_BYTES_MAX) ?? "cannot be read";
    throw new PolicyError("POLICY_UNREADABLE", `${what} ${path}: ${why}`, { cause: error });
  }
}
