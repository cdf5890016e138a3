import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { NumaxError } from "../errors/numax-error.ts";

/** Random bytes in a generated token (base64url: 43 characters). */
export const MANAGEMENT_TOKEN_BYTES = 32;

/** A token file longer than this is refused: a token is one short line, not a file to slurp. */
export const MANAGEMENT_TOKEN_FILE_MAX_BYTES = 4096;

/** Permission bits a token file must not have: any for group or others. */
const SHARED_MODE_BITS = 0o077;

/**
 * The token in the file at `path`, generated first when the file is missing (MANAGEMENT_TOKEN_BYTES
 * random bytes as base64url, one line, created with mode 0600 and never overwritten). A file
 * group or others may access, an empty one or an unreadable one is refused with one line: a
 * NumaxError coded MANAGEMENT_TOKEN_FILE_UNSAFE or MANAGEMENT_TOKEN_FILE_INVALID.
 */
export async function loadOrCreateToken(
  path: string,
  randomBytes: (count: number) => Uint8Array,
): Promise<{ token: string; created: boolean }> {
  const token = Buffer.from(randomBytes(MANAGEMENT_TOKEN_BYTES)).toString("base64url");
  try {
    // O_EXCL: two nodes starting on one datastore never both write a token.
    const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await file.writeFile(`${token}\n`);
    } finally {
      await file.close();
    }
    return { token, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw invalid(path, error);
  }
  return { token: await readToken(path), created: false };
}

async function readToken(path: string): Promise<string> {
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & SHARED_MODE_BITS) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw new NumaxError(
        "MANAGEMENT_TOKEN_FILE_UNSAFE",
        `management token file ${path} has mode ${mode}: group or others may read it; run chmod 600 ${path}`,
      );
    }
    if (info.size > MANAGEMENT_TOKEN_FILE_MAX_BYTES) {
      throw new NumaxError(
        "MANAGEMENT_TOKEN_FILE_INVALID",
        `management token file ${path} holds ${info.size} bytes, more than ${MANAGEMENT_TOKEN_FILE_MAX_BYTES}: it should hold one token line (delete it to have a new one generated)`,
      );
    }
    const file = await open(path, "r");
    try {
      text = await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof NumaxError) throw error;
    throw invalid(path, error);
  }
  const token = text.trim();
  if (token.length === 0 || /\s/.test(token)) {
    throw new NumaxError(
      "MANAGEMENT_TOKEN_FILE_INVALID",
      `management token file ${path} must hold one token on one line (delete it to have a new one generated)`,
    );
  }
  return token;
}

function invalid(path: string, error: unknown): NumaxError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new NumaxError(
    "MANAGEMENT_TOKEN_FILE_INVALID",
    `cannot use management token file ${path}: ${code}`,
    {
      cause: error,
    },
  );
}
