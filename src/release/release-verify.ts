import { join } from "node:path";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { SIGNATURE_FILE_BYTES_MAX, verifyDetached } from "../net/pki/detached-signature.ts";
import { PEM_FILE_BYTES_MAX } from "../net/tls-material.ts";
import {
  CHECKSUMS_FILE,
  CHECKSUMS_SIGNATURE_FILE,
  type Checksum,
  parseChecksums,
  RELEASE_CHECKSUMS_BYTES_MAX,
  sha256OfFile,
} from "./checksums.ts";
import { ReleaseError } from "./release-error.ts";

/** A release that verified: who signed its checksums and the files they cover. */
export interface VerifiedRelease {
  readonly signer: string;
  readonly files: readonly Checksum[];
}

function readReleaseFile(path: string, sizeBytesMax: number, hint: string): Buffer {
  try {
    return readInputFile(path, sizeBytesMax);
  } catch (error) {
    const why = inputFileFailureReason(error, sizeBytesMax) ?? "cannot be read";
    throw new ReleaseError("RELEASE_UNREADABLE", `${path}: ${why}; ${hint}`, { cause: error });
  }
}

/**
 * Verifies the release in `dir` (what `npm run release` wrote, signed): `SHA256SUMS.sig` is a
 * signature of `SHA256SUMS` by the CA in `caPath` or a certificate it issued, valid at `now`, and
 * every file `SHA256SUMS` lists has that SHA-256. Throws a {@link ReleaseError} on the first
 * failure, in one line naming the file.
 */
export function verifyRelease(dir: string, caPath: string, now: Date): VerifiedRelease {
  const checksumsPath = join(dir, CHECKSUMS_FILE);
  const signaturePath = join(dir, CHECKSUMS_SIGNATURE_FILE);
  const checksums = readReleaseFile(checksumsPath, RELEASE_CHECKSUMS_BYTES_MAX, "pass the release directory");
  const signature = readReleaseFile(
    signaturePath,
    SIGNATURE_FILE_BYTES_MAX,
    "an unsigned release can be checked with sha256sum -c SHA256SUMS, but not verified",
  );
  const caPem = readReleaseFile(caPath, PEM_FILE_BYTES_MAX, "--ca names the release CA's certificate");
  const signer = verifyDetached(
    checksums,
    signature.toString("utf8"),
    caPem.toString("utf8"),
    now,
    { signaturePath, caName: `the CA of ${caPath}` },
    (why) => {
      throw new ReleaseError("RELEASE_SIGNATURE_INVALID", `${checksumsPath}: ${why}`);
    },
  );
  const files = parseChecksums(checksums.toString("utf8"));
  for (const { name, sha256 } of files) {
    const path = join(dir, name);
    let actual: string;
    try {
      actual = sha256OfFile(path);
    } catch (error) {
      throw new ReleaseError(
        "RELEASE_UNREADABLE",
        `${path}: ${inputFileFailureReason(error, 0) ?? "cannot be read"}; ${CHECKSUMS_FILE} lists it`,
        {
          cause: error,
        },
      );
    }
    if (actual !== sha256) {
      throw new ReleaseError(
        "RELEASE_CHECKSUM_MISMATCH",
        `${path}: its SHA-256 is ${actual}, ${CHECKSUMS_FILE} says ${sha256}; the file changed or is incomplete: download it again`,
      );
    }
  }
  return { signer, files };
}
