import { NumaxError } from "../../errors/numax-error.ts";

export type PkiErrorCode =
  | "PKI_FILE_NOT_FOUND"
  | "PKI_FILE_UNREADABLE"
  | "PKI_BAD_PEM"
  | "PKI_BAD_KEY"
  | "PKI_KEY_MISMATCH"
  | "PKI_NOT_A_CA"
  | "PKI_OUTPUT_EXISTS"
  /** A private key would be written inside a git work tree without `--allow-in-git-tree`. */
  | "PKI_KEY_IN_GIT_TREE"
  | "PKI_WRITE_FAILED"
  | "PKI_BAD_NAME"
  | "PKI_BAD_SAN"
  | "PKI_BAD_DAYS";

/** A failure of `nx cert`: missing or wrong input files, an output that already exists, a bad option value. */
export class PkiError extends NumaxError {
  declare readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
