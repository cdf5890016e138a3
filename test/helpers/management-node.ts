import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type NxProcess, startNx, stopNx } from "./nx-process.ts";

/** What a management API request got back. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; undefined for an empty body. */
  readonly body: unknown;
}

/** One `nx run` node with its management API on a free port of 127.0.0.1. */
export interface ManagedNode {
  readonly nx: NxProcess;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly datastore: string;
  readonly adminToken: string;
  readonly readToken: string;
  /** The sync port, when the node syncs. */
  readonly syncPort: number | undefined;
  /** A request to `/api/v1<path>` with `token` (default the admin token; null: none). */
  api(
    method: string,
    path: string,
    options?: { token?: string | null; body?: string | Uint8Array; contentType?: string },
  ): Promise<ApiAnswer>;
}

export interface ManagedNodeOptions {
  readonly datastore: string;
  /** Guest modules to run; a reactive one keeps the node running. */
  readonly modules: readonly string[];
  /** Sync on 127.0.0.1:0 (plain TCP); default true. */
  readonly sync?: boolean;
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
}

export async function startManagedNode(options: ManagedNodeOptions): Promise<ManagedNode> {
  const nx = startNx(
    [
      "run",
      ...options.modules,
      "--datastore-path",
      options.datastore,
      "--management-listen",
      "127.0.0.1:0",
      ...(options.sync === false
        ? []
        : [
            "--listen",
            "127.0.0.1:0",
            "--tls-insecure",
            "--reconnect-initial-delay",
            "100ms",
            "--reconnect-max-delay",
            "1s",
          ]),
      "--shutdown-timeout",
      "10s",
      ...(options.args ?? []),
    ],
    options.env,
  );
  let url: string;
  let syncPort: number | undefined;
  try {
    url = (await nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    syncPort =
      options.sync === false
        ? undefined
        : Number((await nx.waitFor(/sync started nodeId=\w+ listen=127\.0\.0\.1:(\d+)/))[1]);
  } catch (error) {
    await stopNx(nx, 3000);
    throw error;
  }
  const adminToken = readFileSync(join(options.datastore, "management.token"), "utf8").trim();
  const readToken = readFileSync(join(options.datastore, "management-read.token"), "utf8").trim();
  return {
    nx,
    url,
    datastore: options.datastore,
    adminToken,
    readToken,
    syncPort,
    async api(method, path, { token = adminToken, body, contentType } = {}) {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(contentType === undefined ? {} : { "content-type": contentType }),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text === "" ? undefined : JSON.parse(text),
      };
    },
  };
}

/** Starts the managed nodes of one test file and stops every one still running (call `stopAll` from `after`). */
export function managedNodeTracker() {
  const running = new Set<NxProcess>();
  return {
    async node(options: ManagedNodeOptions): Promise<ManagedNode> {
      const node = await startManagedNode(options);
      running.add(node.nx);
      return node;
    },
    async stopAll(): Promise<void> {
      await Promise.all([...running].map((nx) => stopNx(nx, 3000)));
    },
  };
}
