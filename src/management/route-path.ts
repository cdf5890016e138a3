/**
 * Route paths of the management API: literal segments and `:name` parameters, e.g.
 * `/processes/:pid`. A parameter matches one whole segment and is URL-decoded (so a CRDT key
 * holding `/` travels as `%2F`).
 */

/** The parameters of `path` when it matches `pattern`; undefined otherwise; null for bad URL encoding. */
export function matchRoutePath(pattern: string, path: string): Record<string, string> | undefined | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < want.length; index++) {
    const segment = want[index]!;
    const actual = got[index]!;
    if (!segment.startsWith(":")) {
      if (segment !== actual) return undefined;
      continue;
    }
    if (actual.length === 0) return undefined;
    try {
      params[segment.slice(1)] = decodeURIComponent(actual);
    } catch {
      return null;
    }
  }
  return params;
}

/** `/processes/:pid` as OpenAPI writes it: `/processes/{pid}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z]+)/g, "{$1}");
}
