/**
 * The only environment variables a guest may see (env_get and WASI environ): names starting
 * with `NX_` or `NUMAX_`. Everything else of the host's environment stays hidden.
 */
export function isGuestVisibleEnvName(name: string): boolean {
  return name.startsWith("NX_") || name.startsWith("NUMAX_");
}

/** The visible subset of `env`, in its insertion order. */
export function guestVisibleEnv(env: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  const visible = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (isGuestVisibleEnvName(name) && typeof value === "string") visible.set(name, value);
  }
  return visible;
}
