import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertDocumented } from "../management/openapi-conformance.ts";
import type { ApiAnswer } from "./management-node.ts";
import { guestPath, type NxProcess, pollUntil, startNx, stopNx } from "./nx-process.ts";

/** Anti-entropy interval of the test nodes: peers report their vectors this often (convergence view). */
export const TEST_ANTI_ENTROPY_MS = 500;

/**
 * One `nx run` node of the dashboard tests: the dashboard_writer guest (stdin lines become CRDT
 * writes), sync over plain TCP, the management API and the dashboard on free ports.
 */
export interface DashboardNode {
  readonly nx: NxProcess;
  readonly nodeId: string;
  readonly syncPort: number;
  /** `http://127.0.0.1:PORT` of the dashboard. */
  readonly dashboardUrl: string;
  readonly readToken: string;
  /** GET `/api/v1<path>` of the management API (admin token), checked against docs/api/openapi.yaml. */
  get(path: string): Promise<ApiAnswer>;
  /** `get`'s JSON body, which must come with 200. */
  api<T>(path: string): Promise<T>;
  /** One write (a tab-separated line, test/guests/dashboard_writer.ts); resolves once the guest made it. */
  write(...fields: string[]): Promise<void>;
}

export function dashboardNodes() {
  const running = new Set<NxProcess>();
  return {
    async start(options: { datastore: string; peers?: readonly number[] }): Promise<DashboardNode> {
      const nx = startNx(
        [
          "run",
          guestPath("dashboard_writer"),
          "--datastore-path",
          options.datastore,
          "--listen",
          "127.0.0.1:0",
          "--tls-insecure",
          ...(options.peers ?? []).flatMap((port) => ["--peer", `127.0.0.1:${port}`]),
          "--management-listen",
          "127.0.0.1:0",
          "--dashboard-listen",
          "127.0.0.1:0",
          "--stdin-topic",
          "dash/write",
          "--anti-entropy-interval",
          `${TEST_ANTI_ENTROPY_MS}ms`,
          "--reconnect-initial-delay",
          "100ms",
          "--reconnect-max-delay",
          "1s",
          "--shutdown-timeout",
          "10s",
        ],
        {},
        { stdin: true },
      );
      running.add(nx);
      const started = await nx.waitFor(/sync started nodeId=([0-9a-f]{32}) listen=127\.0\.0\.1:(\d+)/);
      const apiUrl = (await nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const dashboardUrl = (await nx.waitFor(/dashboard: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const adminToken = readFileSync(join(options.datastore, "management.token"), "utf8").trim();
      let writes = 0;
      const get = async (path: string): Promise<ApiAnswer> => {
        const response = await fetch(`${apiUrl}/api/v1${path}`, {
          headers: { authorization: `Bearer ${adminToken}` },
          signal: AbortSignal.timeout(5000),
        });
        const text = await response.text();
        const answer = {
          status: response.status,
          headers: response.headers,
          body: text === "" ? undefined : JSON.parse(text),
        };
        await assertDocumented("GET", path, answer);
        return answer;
      };
      return {
        nx,
        nodeId: started[1]!,
        syncPort: Number(started[2]),
        dashboardUrl,
        readToken: readFileSync(join(options.datastore, "management-read.token"), "utf8").trim(),
        get,
        async api<T>(path: string): Promise<T> {
          const answer = await get(path);
          assert.equal(answer.status, 200, `GET ${path}: ${JSON.stringify(answer.body)}`);
          return answer.body as T;
        },
        async write(...fields) {
          writes++;
          nx.child.stdin!.write(`${fields.join("\t")}\n`);
          const wrote = await pollUntil(
            async () => nx.stdout().match(/^wrote /gm)?.length ?? 0,
            (count) => count >= writes,
            10_000,
          );
          assert.ok(wrote >= writes, `the guest did not write ${fields.join(" ")}:\n${nx.stderr()}`);
        },
      };
    },
    async stopAll(): Promise<void> {
      // A node stopped with SIGSTOP by a test must run again to hear SIGTERM.
      for (const nx of running) nx.child.kill("SIGCONT");
      await Promise.all([...running].map((nx) => stopNx(nx, 5000)));
    },
  };
}
