import { NumaxError } from "../errors/numax-error.ts";

export type ReleaseErrorCode =
  /** A file of the release (`SHA256SUMS`, its `.sig`, a file it lists, the CA) cannot be read. */
  | "RELEASE_UNREADABLE"
  /** `SHA256SUMS` is not in `sha256sum`'s format, or names a path outside the release directory. */
  | "RELEASE_CHECKSUMS_INVALID"
  /** `SHA256SUMS.sig` is not a signature of `SHA256SUMS` by the given CA or a certificate it issued. */
  | "RELEASE_SIGNATURE_INVALID"
  /** A file's SHA-256 differs from the one `SHA256SUMS` lists: changed or incomplete. */
  | "RELEASE_CHECKSUM_MISMATCH"
  /** `npm run release` cannot describe its build: not a git checkout, or a tool is missing. */
  | "RELEASE_BUILD_FAILED";

/** Unreadable or malformed input: `nx verify` exits 2 for these, 1 for a check that failed. */
export const RELEASE_INPUT_CODES: ReadonlySet<ReleaseErrorCode> = new Set([
  "RELEASE_UNREADABLE",
  "RELEASE_CHECKSUMS_INVALID",
]);

/** A release that cannot be built or does not verify, in one line naming the file. */
export class ReleaseError extends NumaxError {
  declare readonly code: ReleaseErrorCode;

  constructor(code: ReleaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
