import { createPrivateKey, sign, verify, X509Certificate } from "node:crypto";

/**
 * A detached signature file (JSON) over the exact bytes of another file: the signer's certificate
 * and an ECDSA / Ed25519 signature, SHA-256. The certificate must be a CA's or one that CA issued
 * (`nx cert ca`, `nx cert node`). Signed policies (src/policy/policy-signature.ts) and release
 * checksums (src/release/release-verify.ts) use it; each caller turns a refusal into its own error.
 */
interface SignatureFile {
  readonly version: number;
  readonly certificate: string;
  readonly signature: string;
}

const SIGNATURE_VERSION = 1;
/** Longest signature file read: a certificate and a signature are about 1 KiB. */
export const SIGNATURE_FILE_BYTES_MAX = 64 * 1024;

/** Throws the caller's error for `why`, one clause saying what failed. */
export type SignatureRefusal = (why: string) => never;

/** The signature file's text for `data` signed with `keyPem`, whose certificate is `certPem`. */
export function signDetached(
  data: Uint8Array,
  keyPem: string,
  certPem: string,
  refuse: SignatureRefusal,
): string {
  let certificate: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (error) {
    return refuse(`the key or certificate cannot be read: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    refuse("the key does not belong to the certificate; pass the pair nx cert wrote");
  }
  const signature = sign("sha256", data, key).toString("base64");
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

/** What the verifier says in a refusal: the signature file's path and the CA's name. */
export interface SignatureContext {
  /** Path of the signature file, named when it is not one. */
  readonly signaturePath: string;
  /** How the CA is called in a refusal: "the cluster CA", "the release CA". */
  readonly caName: string;
}

/**
 * Checks that `signatureText` signs exactly `data` with a certificate of the CA `caPem`, valid at
 * `now`; calls `refuse` with what failed otherwise. Returns the signer's subject.
 */
export function verifyDetached(
  data: Uint8Array,
  signatureText: string,
  caPem: string,
  now: Date,
  context: SignatureContext,
  refuse: SignatureRefusal,
): string {
  const parsed = signatureFileOf(signatureText) ?? refuse(`${context.signaturePath} is not a signature file`);
  const signer = certificateOf(parsed.certificate) ?? refuse("the signer's certificate cannot be read");
  const ca = certificateOf(caPem) ?? refuse(`the certificate of ${context.caName} cannot be read`);
  const subject = signer.subject.replaceAll("\n", ", ");
  const isCa = signer.fingerprint256 === ca.fingerprint256;
  if (!isCa && !(signer.checkIssued(ca) && signer.verify(ca.publicKey))) {
    refuse(`signed by ${subject}, whose certificate ${context.caName} did not issue`);
  }
  if (now < new Date(signer.validFrom) || now > new Date(signer.validTo)) {
    refuse(`the signer's certificate is not valid now (valid ${signer.validFrom} to ${signer.validTo})`);
  }
  if (!verify("sha256", data, signer.publicKey, Buffer.from(parsed.signature, "base64"))) {
    refuse("the signature does not match the file: it changed after it was signed");
  }
  return subject;
}
