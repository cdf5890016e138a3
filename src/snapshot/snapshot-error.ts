import { NumaxError } from "../errors/numax-error.ts";

/** Stable codes of every operating error of snapshots and their export files. */
export type SnapshotErrorCode =
  /** The file named is missing or unreadable. */
  | "SNAPSHOT_FILE_UNREADABLE"
  /** The file does not start with the snapshot magic: not a Numax snapshot. */
  | "SNAPSHOT_NOT_A_SNAPSHOT"
  /** The file's format version is one this build cannot read (written by a newer Numax). */
  | "SNAPSHOT_VERSION_UNSUPPORTED"
  /** The store inside is of a newer store format than this build reads (written by a newer Numax). */
  | "SNAPSHOT_STORE_FORMAT_NEWER"
  /** The file is shorter or longer than its prefix says, or its header is malformed. */
  | "SNAPSHOT_MALFORMED"
  /** The bytes do not match the file's checksum: damaged in transit or on disk. */
  | "SNAPSHOT_CHECKSUM_MISMATCH"
  /** The datastore to restore into holds files already. */
  | "SNAPSHOT_TARGET_NOT_EMPTY"
  /** The output file exists already. */
  | "SNAPSHOT_OUTPUT_EXISTS"
  /** The output file's directory is missing or not a directory. */
  | "SNAPSHOT_OUTPUT_UNWRITABLE"
  /** The certificate given with `--tls-cert` cannot be read or parsed. */
  | "SNAPSHOT_CERT_INVALID"
  /** The snapshot was taken on another node than the one that will open the datastore. */
  | "SNAPSHOT_IDENTITY_MISMATCH"
  /**
   * Nothing checks which node will open the datastore (no `--tls-cert`) and neither
   * `--same-identity` nor `--new-identity` was given, or both were.
   */
  | "SNAPSHOT_IDENTITY_UNCHOSEN"
  /** No snapshot with that id. */
  | "SNAPSHOT_NOT_FOUND"
  /** The snapshot id is not one this node gives. */
  | "SNAPSHOT_ID_INVALID"
  /** The datastore to export has no store (nothing was ever written there). */
  | "SNAPSHOT_SOURCE_EMPTY";

/**
 * An operating error of a snapshot command: bad file, damaged bytes, occupied target, identity
 * mismatch. The `nx` commands print each as one line and exit with 2 (bad input).
 */
export class SnapshotError extends NumaxError {
  declare readonly code: SnapshotErrorCode;

  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
