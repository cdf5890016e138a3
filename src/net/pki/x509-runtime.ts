// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata API installed before the library is evaluated: this import must stay first.
import "reflect-metadata";
import type { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** Every key Numax generates: ECDSA on P-256 with SHA-256 signatures (small, fast, TLS 1.3 friendly). */
export const ECDSA_P256: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256",
};
