import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import { loadManagementTokens, readTls } from "../management/management-component.ts";
import { isLoopbackHost } from "../net/host-port.ts";
import type { Component } from "../node/component.ts";
import type { NodeComponentName } from "../node/node-components.ts";
import type { RuntimeIntrospection } from "../node/node-introspection.ts";
import type { Logger } from "../observe/logger.ts";
import type { DashboardServer } from "./dashboard-server.ts";

export interface DashboardComponent extends Component {
  readonly name: "dashboard";
  readonly dependsOn: readonly NodeComponentName[];
  /** Undefined before start. */
  readonly server: DashboardServer | undefined;
}

/**
 * The built-in dashboard (docs/dashboard.md) of a node that keeps running: read-only pages over
 * the node's RuntimeIntrospection, opened with the management API's tokens (the files it uses,
 * generated here when the API is off). It follows the API's remote rule: a non-loopback `listen`
 * needs `[management] tls_cert`/`tls_key` (it then speaks HTTPS) or `allow_remote_plaintext`.
 * Start refuses, with one line: DASHBOARD_REMOTE_NEEDS_TLS, DASHBOARD_LISTEN_FAILED (a busy
 * address given explicitly), and the management API's MANAGEMENT_TLS_INVALID,
 * MANAGEMENT_TOKEN_FILE_UNSAFE and MANAGEMENT_TOKEN_FILE_INVALID for its TLS and token files.
 */
export function dashboardComponent(
  config: NodeConfig,
  logger: Logger,
  options: {
    readonly listen: SocketAddress;
    readonly listenIsDefault: boolean;
    /** The node's introspection, built after its components are declared. */
    readonly introspection: () => RuntimeIntrospection;
  },
  dependsOn: readonly NodeComponentName[],
): DashboardComponent {
  const log = logger.child("dashboard");
  let server: DashboardServer | undefined;
  return {
    name: "dashboard",
    dependsOn,
    get server() {
      return server;
    },
    start: async () => {
      const { listen } = options;
      const { tlsCert, tlsKey, allowRemotePlaintext } = config.management;
      const [{ startDashboardServer }, { loadDashboardAssets }] = await Promise.all([
        import("./dashboard-server.ts"),
        import("./dashboard-assets.ts"),
      ]);
      if (!isLoopbackHost(listen.host) && tlsCert === undefined && !allowRemotePlaintext) {
        throw new NumaxError(
          "DASHBOARD_REMOTE_NEEDS_TLS",
          `the dashboard on ${formatSocketAddress(listen)} would be reachable from other hosts: give the management API's [management] tls_cert and tls_key for HTTPS, or --management-allow-remote-plaintext to send tokens in clear`,
        );
      }
      const tls = tlsCert === undefined || tlsKey === undefined ? undefined : await readTls(tlsCert, tlsKey);
      const { tokens, files } = await loadManagementTokens(config, log);
      server = await startDashboardServer({
        listen,
        listenIsDefault: options.listenIsDefault,
        tls,
        tokens,
        introspection: options.introspection(),
        assets: await loadDashboardAssets(),
        logger: log,
      });
      log.info("listening", { url: server.url, tokenFile: files.admin });
    },
    stop: () => server?.close(),
  };
}
