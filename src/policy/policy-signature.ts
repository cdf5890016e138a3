import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { signDetached, verifyDetached } from "../net/pki/detached-signature.ts";
import { PEM_FILE_BYTES_MAX } from "../net/tls-material.ts";
import { PolicyError } from "./policy-error.ts";

/** A policy file's signature sits beside it: `NAME.policy.toml.sig`. */
export const POLICY_SIGNATURE_SUFFIX = ".sig";

/**
 * A policy's signature file is a detached signature (src/net/pki/detached-signature.ts) over the
 * exact bytes of the policy file, by the cluster CA or a certificate it issued: a node or an
 * operator signs with the key `nx cert` gave it. Returns the signature file's text for `policy`
 * signed with `keyPem`, whose certificate is `certPem`.
 */
export function signPolicy(policy: Uint8Array, keyPem: string, certPem: string): string {
  return signDetached(policy, keyPem, certPem, (why) => {
    throw new PolicyError("POLICY_SIGNATURE_INVALID", why);
  });
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
  verifyDetached(
    policy,
    signatureText,
    caPem,
    now,
    { signaturePath: `${path}${POLICY_SIGNATURE_SUFFIX}`, caName: "the cluster CA" },
    (why) => {
      throw new PolicyError(
        "POLICY_SIGNATURE_INVALID",
        `policy ${path}: ${why}; the node requires signed policies (nx policy sign signs one)`,
      );
    },
  );
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
