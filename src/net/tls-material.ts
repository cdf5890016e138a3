import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { type NodeId, nodeIdFromCertificate } from "../identity/node-id.ts";
import { NetError } from "./net-error.ts";

/** A node's TLS identity: its certificate and key, and the CA it trusts, all PEM. */
export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA certificate(s) peers' certificates must chain to (`--tls-ca`). */
  readonly caPem: string;
  /** Derived from `certPem`: what peers see as this node's NodeId. */
  readonly nodeId: NodeId;
}

export interface TlsMaterialPaths {
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

/** Reads `--tls-cert`, `--tls-key` and `--tls-ca` and checks they belong together (see `tlsMaterialFromPem`). */
export async function loadTlsMaterial(paths: TlsMaterialPaths): Promise<TlsMaterial> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readPem(paths.certPath, "--tls-cert"),
    readPem(paths.keyPath, "--tls-key"),
    readPem(paths.caPath, "--tls-ca"),
  ]);
  return tlsMaterialFromPem({ certPem, keyPem, caPem }, paths);
}

/**
 * Checks PEM material before any socket sees it, so a mistake is one clear line at start-up rather
 * than a TLS alert on every connection: the certificate and the CA parse, the key is the
 * certificate's, and the certificate is signed by the CA.
 */
export function tlsMaterialFromPem(
  pem: { certPem: string; keyPem: string; caPem: string },
  names: TlsMaterialPaths = { certPath: "certificate", keyPath: "key", caPath: "CA certificate" },
): TlsMaterial {
  const cert = parseCertificate(pem.certPem, `--tls-cert ${names.certPath}`);
  const ca = parseCertificate(pem.caPem, `--tls-ca ${names.caPath}`);
  let keySpki: Buffer;
  try {
    keySpki = createPublicKey(createPrivateKey(pem.keyPem)).export({ type: "spki", format: "der" });
  } catch (error) {
    throw new NetError("NET_TLS_MATERIAL", `--tls-key ${names.keyPath} is not a PEM private key`, {
      cause: error,
    });
  }
  if (!keySpki.equals(cert.publicKey.export({ type: "spki", format: "der" }))) {
    throw new NetError(
      "NET_TLS_MATERIAL",
      `--tls-key ${names.keyPath} is not the key of --tls-cert ${names.certPath}`,
    );
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new NetError(
      "NET_TLS_MATERIAL",
      `--tls-cert ${names.certPath} is not signed by --tls-ca ${names.caPath} (peers trusting that CA would refuse it)`,
    );
  }
  return {
    certPem: pem.certPem,
    keyPem: pem.keyPem,
    caPem: pem.caPem,
    nodeId: nodeIdFromCertificate(cert.raw),
  };
}

/** The longest PEM file read (1 MiB): a certificate chain or key is a few KiB. */
export const PEM_FILE_BYTES_MAX = 1024 * 1024;

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return readInputFile(path, PEM_FILE_BYTES_MAX).toString("utf8");
  } catch (error) {
    const why = inputFileFailureReason(error, PEM_FILE_BYTES_MAX) ?? String(error);
    throw new NetError("NET_TLS_MATERIAL", `cannot read ${flag} ${path}: ${why}`, { cause: error });
  }
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new NetError("NET_TLS_MATERIAL", `${what} is not a PEM certificate`, { cause: error });
  }
}
