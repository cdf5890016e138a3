import { join } from "node:path";
import { getJson, type NxLaunch, type NxProcess, startNx, stopNx } from "./nx-process.ts";

export interface SyncNodeOptions {
  /** Datastore directory (reuse it to restart the same node). */
  datastore: string;
  guest: string;
  /**
   * Fixed listen port (to restart a node at the same address); default: the node binds port 0
   * and the helper reads the port it got, so no other process can take it in between.
   */
  port?: number;
  peers?: readonly number[];
  env?: Record<string, string>;
  args?: readonly string[];
  /** Serve /v1/node and /v1/crdt/ (`gcounter` reads them); default true. */
  exposeData?: boolean;
  /** Give the node a stdin pipe (`nx.child.stdin`), e.g. for `--stdin-topic`. */
  stdin?: boolean;
  /** mTLS material (files written by `nx cert`); default plain TCP (`--tls-insecure`). */
  tls?: { dir: string; allowedPeers?: readonly string[] };
  /** An installed `numax` command and its directory instead of this repository's bin/nx.js. */
  installed?: Pick<NxLaunch, "command" | "cwd">;
  /** Another build's `nx` entry (an older release: give `exposeData: false`, it has no such flag). */
  bin?: string;
}

/** One `nx run` node in serve mode with sync (plain TCP) and its HTTP endpoint. */
export interface SyncNode {
  readonly nx: NxProcess;
  readonly port: number;
  readonly url: string;
  readonly nodeId: string;
  gcounter(key: string): Promise<bigint>;
}

export async function startSyncNode(options: SyncNodeOptions): Promise<SyncNode> {
  const nx = startNx(
    [
      "run",
      options.guest,
      "--datastore-path",
      options.datastore,
      "--listen",
      `127.0.0.1:${options.port ?? 0}`,
      ...(options.peers ?? []).flatMap((p) => ["--peer", `127.0.0.1:${p}`]),
      ...(options.tls === undefined
        ? ["--tls-insecure"]
        : [
            "--tls-cert",
            join(options.tls.dir, "node.crt"),
            "--tls-key",
            join(options.tls.dir, "node.key"),
            "--tls-ca",
            join(options.tls.dir, "ca.crt"),
            ...(options.tls.allowedPeers === undefined
              ? []
              : ["--allowed-peers", options.tls.allowedPeers.join(",")]),
          ]),
      "--observability-listen",
      "127.0.0.1:0",
      ...(options.exposeData === false ? [] : ["--observability-expose-data"]),
      "--reconnect-initial-delay",
      "100ms",
      "--reconnect-max-delay",
      "1s",
      "--shutdown-timeout",
      "10s",
      ...(options.args ?? []),
    ],
    options.env,
    { stdin: options.stdin, bin: options.bin, ...options.installed },
  );
  const started = await nx.waitFor(/sync started nodeId=([0-9a-f]{32}) listen=127\.0\.0\.1:(\d+)/);
  const port = Number(started[2]);
  const url = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  return {
    nx,
    port,
    url,
    nodeId: started[1],
    async gcounter(key) {
      const body = (await getJson(`${url}/v1/crdt/gcounter/${encodeURIComponent(key)}`)) as { value: string };
      return BigInt(body.value);
    },
  };
}

export function datastoreOf(root: string, name: string): string {
  return join(root, name);
}

/**
 * Starts and stops the sync nodes of one test file, and stops whatever is still running at the
 * end (call `stopAll` from `after`), so no test leaves a process behind even when it fails.
 */
export function syncNodeTracker() {
  const running = new Set<NxProcess>();
  return {
    async node(options: SyncNodeOptions): Promise<SyncNode> {
      const started = await startSyncNode(options);
      running.add(started.nx);
      return started;
    },
    async stop(n: SyncNode) {
      const result = await stopNx(n.nx);
      running.delete(n.nx);
      return result;
    },
    /** Forgets a process the test killed itself. */
    forget(n: SyncNode): void {
      running.delete(n.nx);
    },
    async stopAll(): Promise<void> {
      await Promise.all([...running].map((nx) => stopNx(nx, 3000)));
    },
  };
}
