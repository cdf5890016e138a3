import { isIP } from "node:net";
import { PkiError } from "./pki-error.ts";

/** A name a node certificate is valid for: peers dialing that IP or DNS name accept it. */
export interface SubjectAltName {
  readonly type: "ip" | "dns";
  readonly value: string;
}

const DNS_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`, "i");

/** Parses `--san 10.0.0.5,node1.example.com,::1`: IPv4 and IPv6 addresses and DNS names. */
export function parseSubjectAltNames(list: string): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  for (const raw of list.split(",")) {
    const value = raw.trim();
    if (value.length === 0) continue;
    if (isIP(value) !== 0) names.push({ type: "ip", value });
    else if (value.length <= 253 && DNS_NAME.test(value))
      names.push({ type: "dns", value: value.toLowerCase() });
    else {
      throw new PkiError("PKI_BAD_SAN", `--san "${value}" is neither an IP address nor a DNS name`);
    }
  }
  if (names.length === 0)
    throw new PkiError("PKI_BAD_SAN", "--san lists no name: give at least one IP address or DNS name");
  return names;
}
