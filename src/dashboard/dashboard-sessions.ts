/**
 * Browser sessions of the dashboard, opened by the login form with a management token. 64
 * operators' browsers is plenty for one node; past it the oldest session is closed.
 */
export const DASHBOARD_SESSIONS_MAX = 64;

/** A session lasts this long after login (then the login form again): a working day. */
export const DASHBOARD_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Name of the session cookie (HttpOnly, SameSite=Strict, Path=/). */
export const DASHBOARD_SESSION_COOKIE = "nx_dashboard";

/**
 * Session ids (random, base64url) and when each expires. The cookie carries only the id, never
 * the token: a leaked cookie opens the read-only dashboard until it expires, not the API. Pure:
 * ids and time are given.
 */
export class DashboardSessions {
  readonly #expiresAtMs = new Map<string, number>();

  /** Remembers a new session `id` made at `nowMs`. */
  open(id: string, nowMs: number): void {
    this.#expiresAtMs.set(id, nowMs + DASHBOARD_SESSION_TTL_MS);
    if (this.#expiresAtMs.size > DASHBOARD_SESSIONS_MAX) {
      this.#expiresAtMs.delete(this.#expiresAtMs.keys().next().value!);
    }
  }

  /** True when `id` names a session that has not expired (an expired one is forgotten). */
  valid(id: string | undefined, nowMs: number): boolean {
    if (id === undefined) return false;
    const expiresAtMs = this.#expiresAtMs.get(id);
    if (expiresAtMs === undefined) return false;
    if (expiresAtMs > nowMs) return true;
    this.#expiresAtMs.delete(id);
    return false;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.#expiresAtMs.delete(id);
  }
}

/** The session id in a `Cookie` header, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const pair of (cookieHeader ?? "").split(";")) {
    const [name, value] = pair.trim().split("=", 2);
    if (name === DASHBOARD_SESSION_COOKIE && value !== undefined && value !== "") return value;
  }
  return undefined;
}
