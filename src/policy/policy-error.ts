import { NumaxError } from "../errors/numax-error.ts";

/** Why a module's policy is refused or missing. */
export type PolicyErrorCode =
  /** The policy file cannot be read or is not TOML. */
  | "POLICY_UNREADABLE"
  /** The policy has an unknown table or capability, or a value of the wrong kind. */
  | "POLICY_INVALID"
  /** A module has no policy and the node runs with `policy.default = "deny"`. */
  | "POLICY_MISSING"
  /** The node requires signed policies and this one is unsigned, tampered with or signed by a stranger. */
  | "POLICY_SIGNATURE_INVALID"
  /** A shared glob of one module's policy reaches keys of another module's namespace that module does not share. */
  | "POLICY_NAMESPACE_OVERLAP"
  /** A module with a policy whose namespace (`<id>/`) would be the runtime's own, `__nx/`. */
  | "POLICY_NAMESPACE_RESERVED";

/** A policy the node refuses, in one line naming the file (or table) and the key to fix. */
export class PolicyError extends NumaxError {
  declare readonly code: PolicyErrorCode;

  constructor(code: PolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
