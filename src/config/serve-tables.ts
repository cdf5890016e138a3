import { resolve } from "node:path";
import { describeError } from "../errors/numax-error.ts";
import type { Route } from "../serve/route-entry.ts";
import { checkRoutePath, parseRouteKey, parseRouteTarget } from "../serve/route-entry.ts";
import { SERVE_LIMITS_DEFAULT, type ServeLimits } from "../serve/serve-limits.ts";
import type { ServeSettings } from "../serve/serve-settings.ts";
import type { StaticMount } from "../serve/static-files.ts";
import type { ConfigIssue } from "./config-error.ts";
import { closestMatch } from "./did-you-mean.ts";
import type { SocketAddress } from "./socket-address.ts";
import { isTable } from "./toml-value.ts";
import {
  addressKind,
  durationKind,
  integerKind,
  pathKind,
  sizeKind,
  type TomlWritable,
  type ValueKind,
} from "./value-kind.ts";

/**
 * The `[[serve]]` listeners of numax.toml (docs/serving.md), an array of tables beside the flat
 * key schema (schema.ts), like `[modules.<id>]` (module-settings.ts):
 *
 *   [[serve]]
 *   listen = "127.0.0.1:8080"          # required; port 0 picks a free port
 *   tls_cert = "node.crt"              # optional, with tls_key: HTTPS (nx cert material works)
 *   tls_key = "node.key"
 *   max_body = "1MiB"                  # limits, each optional (docs/LIMITS.md)
 *   max_header = "16KiB"
 *   request_timeout = "30s"
 *   idle_timeout = "5s"
 *   max_connections = 1024
 *   max_concurrent_requests = 256
 *   max_sse_streams = 512
 *   max_websockets = 512
 *   cpu_ms_per_request = 500          # optional; default limits.cpu_ms_per_run, else 1000
 *
 *   [serve.routes]                     # the routes of the [[serve]] just above
 *   "GET /hello/:name" = "http_hello#hello"
 *
 *   [serve.static]                     # directories served as files (GET, HEAD), optional
 *   "/app/*" = "web/dist"              # relative to the working directory, like every path
 */
export const SERVE_SECTION = "serve";

const ROUTES_KEY = "routes";
const STATIC_KEY = "static";

const CPU_KEY = "cpu_ms_per_request";

/** The kinds of a `[[serve]]` table's values and its keys. */
interface ServeKinds {
  readonly address: ValueKind<SocketAddress>;
  readonly path: ValueKind<string>;
  readonly cpu: ValueKind<number>;
  readonly limits: Readonly<Record<string, readonly [keyof ServeLimits, ValueKind<number>]>>;
  readonly keys: readonly string[];
}

let serveKinds: ServeKinds | undefined;

/**
 * {@link ServeKinds}, made when a file first has `[[serve]]` tables: a plain `nx run` has none,
 * and making them with the CLI was 10 KB of the young generation it fills before its first
 * scavenge.
 */
function kinds(): ServeKinds {
  if (serveKinds !== undefined) return serveKinds;
  const limits: ServeKinds["limits"] = {
    max_body: ["maxBodyBytes", sizeKind({ minBytes: 0, maxBytes: 1024 * 1024 * 1024 })],
    max_header: ["maxHeaderBytes", sizeKind({ minBytes: 1024, maxBytes: 1024 * 1024 })],
    request_timeout: ["requestTimeoutMs", durationKind({ minMs: 100, maxMs: 3_600_000 })],
    idle_timeout: ["idleTimeoutMs", durationKind({ minMs: 100, maxMs: 3_600_000 })],
    max_connections: ["maxConnections", integerKind({ min: 1, max: 1_000_000 })],
    max_concurrent_requests: ["maxConcurrentRequests", integerKind({ min: 1, max: 100_000 })],
    max_sse_streams: ["maxSseStreams", integerKind({ min: 1, max: 1_000_000 })],
    max_websockets: ["maxWebSockets", integerKind({ min: 1, max: 1_000_000 })],
  };
  serveKinds = {
    address: addressKind({ allowPortZero: true }),
    path: pathKind(),
    cpu: integerKind({ min: 1, max: 86_400_000 }),
    limits,
    keys: ["listen", "tls_cert", "tls_key", ROUTES_KEY, STATIC_KEY, CPU_KEY, ...Object.keys(limits)],
  };
  return serveKinds;
}

/** The `[[serve]]` tables of a parsed file, and every problem with them. */
export function collectServeSettings(
  section: unknown,
  origin: string,
): { settings: ServeSettings[]; issues: ConfigIssue[] } {
  const settings: ServeSettings[] = [];
  const issues: ConfigIssue[] = [];
  const issue = (kind: ConfigIssue["kind"], subject: string, message: string): void => {
    issues.push({ kind, subject, source: "file", via: origin, message });
  };
  if (!Array.isArray(section)) {
    issue(
      "wrong-type",
      `[${SERVE_SECTION}]`,
      `write one [[${SERVE_SECTION}]] table per listener (double brackets)`,
    );
    return { settings, issues };
  }
  section.forEach((table: unknown, index) => {
    const subject = `[[${SERVE_SECTION}]] #${index + 1}`;
    if (!isTable(table)) {
      issue("wrong-type", subject, `write it as a table: listen = "127.0.0.1:8080"`);
      return;
    }
    const limits: Record<string, number> = { ...SERVE_LIMITS_DEFAULT };
    let listen: ServeSettings["listen"] | undefined;
    let certPath: string | undefined;
    let keyPath: string | undefined;
    let routes: Route[] = [];
    let staticMounts: StaticMount[] = [];
    let cpuMsPerRequest: number | undefined;
    for (const [name, value] of Object.entries(table)) {
      const at = `${subject}.${name}`;
      if (name === "listen") {
        const result = kinds().address.fromToml(value);
        if (result.ok) listen = result.value;
        else issue(result.kind, at, result.message);
      } else if (name === "tls_cert" || name === "tls_key") {
        const result = kinds().path.fromToml(value);
        if (!result.ok) issue(result.kind, at, result.message);
        else if (name === "tls_cert") certPath = result.value;
        else keyPath = result.value;
      } else if (name === ROUTES_KEY) {
        routes = collectRoutes(value, `${subject} [${SERVE_SECTION}.${ROUTES_KEY}]`, (message) =>
          issue("invalid-value", `${subject}.${ROUTES_KEY}`, message),
        );
      } else if (name === STATIC_KEY) {
        staticMounts = collectStaticMounts(
          value,
          `${subject} [${SERVE_SECTION}.${STATIC_KEY}]`,
          (message) => issue("invalid-value", `${subject}.${STATIC_KEY}`, message),
          (directory) => resolve(directory),
        );
      } else if (name === CPU_KEY) {
        const result = kinds().cpu.fromToml(value);
        if (result.ok) cpuMsPerRequest = result.value;
        else issue(result.kind, at, result.message);
      } else if (Object.hasOwn(kinds().limits, name)) {
        const [field, kind] = kinds().limits[name]!;
        const result = kind.fromToml(value);
        if (result.ok) limits[field] = result.value;
        else issue(result.kind, at, result.message);
      } else {
        const near = closestMatch(name, kinds().keys);
        issue(
          "unknown-key",
          at,
          `unknown key; ${near === undefined ? `[[${SERVE_SECTION}]] has ${kinds().keys.join(", ")}` : `did you mean ${near}?`}`,
        );
      }
    }
    if (listen === undefined && !issues.some((i) => i.subject === `${subject}.listen`)) {
      issue("invalid-value", subject, `needs listen = "127.0.0.1:8080" (the address to serve on)`);
    }
    if ((certPath === undefined) !== (keyPath === undefined)) {
      issue("contradiction", subject, "set both tls_cert and tls_key for HTTPS, or neither for plain HTTP");
    }
    if (
      routes.length === 0 &&
      staticMounts.length === 0 &&
      !issues.some(
        (i) => i.subject === `${subject}.${ROUTES_KEY}` || i.subject === `${subject}.${STATIC_KEY}`,
      )
    ) {
      issue(
        "invalid-value",
        subject,
        `has no routes: add [${SERVE_SECTION}.${ROUTES_KEY}] with "GET /path" = "module#handler" after it`,
      );
    }
    if (listen === undefined) return;
    settings.push({
      fileKeys: new Set(Object.keys(table)),
      where: `${subject} (${origin})`,
      listen,
      tls: certPath === undefined || keyPath === undefined ? undefined : { certPath, keyPath },
      limits: limits as unknown as ServeLimits,
      ...(cpuMsPerRequest === undefined ? {} : { cpuMsPerRequest }),
      routes,
      ...(staticMounts.length === 0 ? {} : { staticMounts }),
    });
  });
  return { settings, issues };
}

/** One key of a listener as `nx config show` prints it: `listen`, `max_body`, `routes."GET /x"`. */
export interface ServeTableValue {
  readonly key: string;
  readonly value: TomlWritable | undefined;
  /** Whether its table set it (else it is the default). */
  readonly set: boolean;
}

/**
 * A listener's settings as its `[[serve]]` table would write them: every key (a default where the
 * table sets none), then its routes and static directories.
 */
export function serveTableValues(settings: ServeSettings): ServeTableValue[] {
  const set = (key: string): boolean => settings.fileKeys?.has(key) ?? false;
  const values: ServeTableValue[] = [
    { key: "listen", value: kinds().address.toToml(settings.listen), set: set("listen") },
    { key: "tls_cert", value: settings.tls?.certPath, set: set("tls_cert") },
    { key: "tls_key", value: settings.tls?.keyPath, set: set("tls_key") },
  ];
  for (const [name, [field, kind]] of Object.entries(kinds().limits)) {
    values.push({ key: name, value: kind.toToml(settings.limits[field]), set: set(name) });
  }
  values.push({ key: CPU_KEY, value: settings.cpuMsPerRequest, set: set(CPU_KEY) });
  for (const route of settings.routes ?? []) {
    values.push({
      key: `${ROUTES_KEY}.${JSON.stringify(`${route.method} ${route.path}`)}`,
      value: `${route.moduleId}#${route.handler}`,
      set: true,
    });
  }
  for (const mount of settings.staticMounts ?? []) {
    values.push({ key: `${STATIC_KEY}.${JSON.stringify(mount.path)}`, value: mount.directory, set: true });
  }
  return values;
}

function collectRoutes(value: unknown, where: string, fail: (message: string) => void): Route[] {
  if (!isTable(value)) {
    fail(`write [${SERVE_SECTION}.${ROUTES_KEY}] as a table: "GET /hello/:name" = "module#handler"`);
    return [];
  }
  const routes: Route[] = [];
  for (const [key, target] of Object.entries(value)) {
    try {
      if (typeof target !== "string") {
        fail(`route "${key}" must map to a string "module#handler"`);
        continue;
      }
      routes.push({ ...parseRouteKey(key, where), ...parseRouteTarget(target, where) });
    } catch (error) {
      fail(describeError(error));
    }
  }
  return routes;
}

/**
 * A table of static directories (`"/app/*" = "web/dist"`: `[serve.static]`, or a module's
 * `static`), each directory as `directory` makes it (absolute, or kept relative to resolve later).
 */
export function collectStaticMounts(
  value: unknown,
  where: string,
  fail: (message: string) => void,
  directory: (written: string) => string,
): StaticMount[] {
  if (!isTable(value)) {
    fail(`write ${where} as a table: "/app/*" = "web/dist"`);
    return [];
  }
  const mounts: StaticMount[] = [];
  for (const [key, written] of Object.entries(value)) {
    try {
      checkRoutePath(key, where);
      if (!key.endsWith("/*")) {
        fail(
          `static route "${key}" must end in "/*" (the file's path in the directory), for example "/app/*"`,
        );
      } else if (typeof written !== "string" || written === "") {
        fail(`static route "${key}" must map to a directory, for example "web/dist"`);
      } else {
        mounts.push({ path: key, directory: directory(written) });
      }
    } catch (error) {
      fail(describeError(error));
    }
  }
  return mounts;
}
