import { createHash, X509Certificate } from "node:crypto";
import { NumaxError } from "../errors/numax-error.ts";

/** A node's identity: 32 lowercase hex characters (the first 16 bytes of SHA-256 over its SPKI). */
export type NodeId = string & { readonly __brand: "NodeId" };

const NODE_ID_PATTERN = /^[0-9a-f]{32}$/;

export function isNodeId(value: string): value is NodeId {
  return NODE_ID_PATTERN.test(value);
}

/** Parses user or wire input; throws a NumaxError naming the bad value. */
export function parseNodeId(value: string): NodeId {
  if (!isNodeId(value)) {
    throw new NumaxError(
      "INVALID_NODE_ID",
      `invalid NodeId "${value}": expected 32 lowercase hex characters`,
    );
  }
  return value;
}

/** NodeId of a DER-encoded SubjectPublicKeyInfo. */
export function nodeIdFromSpki(spkiDer: Uint8Array): NodeId {
  return createHash("sha256").update(spkiDer).digest("hex").slice(0, 32) as NodeId;
}

/** NodeId of a certificate (PEM or DER), as every Numax node derives it from its peer's certificate. */
export function nodeIdFromCertificate(certificate: string | Uint8Array): NodeId {
  const cert = new X509Certificate(certificate);
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  return nodeIdFromSpki(spki);
}

/** A fresh random NodeId, for nodes that run without TLS (persisted by the node on first start). */
export function randomNodeId(randomBytes: (n: number) => Uint8Array): NodeId {
  return Buffer.from(randomBytes(16)).toString("hex") as NodeId;
}
