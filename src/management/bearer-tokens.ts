import { createHash, timingSafeEqual } from "node:crypto";

/** What a request's token grants: every route, or only reading (GET and HEAD). */
export type TokenAccess = "admin" | "read";

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

/**
 * Checks `Authorization: Bearer <token>` against the admin and read-only tokens. The comparison
 * is over SHA-256 digests with `timingSafeEqual` (equal lengths whatever was sent), and both
 * tokens are always compared, so the time taken tells nothing about either.
 */
export class BearerTokens {
  readonly #admin: Buffer;
  readonly #read: Buffer;

  constructor(tokens: { readonly admin: string; readonly read: string }) {
    this.#admin = digest(tokens.admin);
    this.#read = digest(tokens.read);
  }

  /** The access `authorization` (the header's value) grants; undefined: none. */
  access(authorization: string | undefined): TokenAccess | undefined {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
    if (match === null) return undefined;
    const presented = digest(match[1]!);
    const admin = timingSafeEqual(presented, this.#admin);
    const read = timingSafeEqual(presented, this.#read);
    return admin ? "admin" : read ? "read" : undefined;
  }
}
