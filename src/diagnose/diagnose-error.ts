import { NumaxError } from "../errors/numax-error.ts";

/** Stable codes of the operating errors of `nx inspect`, `nx diff`, `nx replay` and `nx oplog export`. */
export type DiagnoseErrorCode =
  /** A flag's value is not one the command takes. */
  | "DIAGNOSE_BAD_ARGUMENT"
  /** The directory named holds no store (no `store/data.mdb`). */
  | "DIAGNOSE_NO_STORE"
  /** The store holds a record this build cannot read. */
  | "DIAGNOSE_STORE_UNREADABLE"
  /** The op-log file is missing, not an op-log export, of a newer format, cut or damaged. */
  | "DIAGNOSE_OPLOG_INVALID"
  /** The directory to replay into holds files already. */
  | "DIAGNOSE_TARGET_NOT_EMPTY";

/** An operating error of a diagnosis command: the `nx` commands print it as one line and exit with 2. */
export class DiagnoseError extends NumaxError {
  declare readonly code: DiagnoseErrorCode;

  constructor(code: DiagnoseErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
