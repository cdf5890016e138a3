import { createReadStream, realpathSync, statSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { ServeError } from "./serve-error.ts";

/**
 * A directory served under a route path ending in `*` (`[serve.static]`, docs/serving.md): a
 * web UI's files next to the module that serves its API.
 */
export interface StaticMount {
  /** Route path whose wildcard is the file's path in the directory: `/app/*`. */
  readonly path: string;
  /** The directory, absolute. */
  readonly directory: string;
}

/** Content types by extension; any other file is `application/octet-stream`. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
};

/** The file a directory's path (the wildcard empty or ending in `/`) stands for. */
const INDEX_FILE = "index.html";

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
}

/**
 * The mount's directory as its real path (symlinks resolved, so that files are checked against
 * it), or a {@link ServeError} saying it is missing or not a directory.
 */
export function resolveMountDirectory(
  mount: StaticMount,
  where: string,
  relativeTo = "the working directory",
): string {
  try {
    const real = realpathSync(mount.directory);
    if (statSync(real).isDirectory()) return real;
  } catch {}
  throw new ServeError(
    "SERVE_INVALID_ROUTE",
    `${where}: static route "${mount.path}" = ${JSON.stringify(mount.directory)}: not a directory (give an existing directory; relative paths are relative to ${relativeTo})`,
  );
}

/**
 * What a request for `tail` (the wildcard, percent-decoded) in the real directory `root` leads
 * to: a file inside it, `forbidden` for a path that climbs out (`..`, `%2e%2e`, a backslash or NUL,
 * a symlink to outside), or `missing`.
 */
export async function locateStaticFile(
  root: string,
  tail: string,
): Promise<{ kind: "file"; path: string; size: number; mtime: Date } | { kind: "forbidden" | "missing" }> {
  const segments = tail.split("/");
  if (segments.some((segment) => segment === ".." || segment === "." || /[\\\0]/.test(segment))) {
    return { kind: "forbidden" };
  }
  let path = join(root, ...segments);
  if (tail === "" || tail.endsWith("/")) path = join(path, INDEX_FILE);
  for (let tries = 0; tries < 2; tries++) {
    let real: string;
    try {
      // Per request: the asynchronous call, so a slow disk never holds other requests.
      real = await realpath(path);
    } catch {
      return { kind: "missing" };
    }
    if (real !== root && !real.startsWith(root + sep)) return { kind: "forbidden" };
    const found = await stat(real).catch(() => undefined);
    if (found === undefined) return { kind: "missing" };
    if (found.isFile()) return { kind: "file", path: real, size: found.size, mtime: found.mtime };
    if (!found.isDirectory()) return { kind: "missing" };
    path = join(real, INDEX_FILE);
  }
  return { kind: "missing" };
}

/** Answers a GET or HEAD for `tail` from the mount whose real directory is `root`. */
export async function serveStaticFile(
  res: ServerResponse,
  method: string,
  root: string,
  tail: string,
  plain: (status: number, body: string) => void,
): Promise<void> {
  const found = await locateStaticFile(root, tail);
  if (found.kind !== "file") {
    return found.kind === "forbidden"
      ? plain(403, "forbidden: the path leaves the static directory\n")
      : plain(404, "not found\n");
  }
  res.statusCode = 200;
  res.setHeader("Content-Type", contentTypeOf(found.path));
  res.setHeader("Content-Length", found.size);
  res.setHeader("Last-Modified", found.mtime.toUTCString());
  res.setHeader("X-Content-Type-Options", "nosniff");
  if (method === "HEAD") {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const file = createReadStream(found.path);
    file.once("error", () => {
      res.destroy();
      resolve();
    });
    res.once("close", resolve);
    file.pipe(res);
  });
}
