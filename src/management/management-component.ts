import { randomFillSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import { isLoopbackHost } from "../net/host-port.ts";
import type { Component } from "../node/component.ts";
import type { NodeComponentName } from "../node/node-components.ts";
import type { Logger } from "../observe/logger.ts";
import type { BearerTokens } from "./bearer-tokens.ts";
import type { ManagementContext } from "./management-routes.ts";
import type { ManagementServer } from "./management-server.ts";

/** File names of the tokens generated in the datastore when no token file is configured. */
export const MANAGEMENT_TOKEN_FILE_NAME = "management.token";
export const MANAGEMENT_READ_TOKEN_FILE_NAME = "management-read.token";

export interface ManagementComponent extends Component {
  readonly name: "management";
  readonly dependsOn: readonly NodeComponentName[];
  /** Undefined before start. */
  readonly server: ManagementServer | undefined;
  /** True from the moment shutdown begins. */
  readonly closing: boolean;
}

/** Where the admin and read-only tokens are: the configured files, else the datastore's. */
export function managementTokenFiles(config: NodeConfig): { admin: string; read: string } {
  const { tokenFile, readTokenFile } = config.management;
  return {
    admin: tokenFile ?? join(config.storage.datastorePath, MANAGEMENT_TOKEN_FILE_NAME),
    read: readTokenFile ?? join(config.storage.datastorePath, MANAGEMENT_READ_TOKEN_FILE_NAME),
  };
}

/**
 * The management API of a node that keeps running (docs/management-api.md). It depends on the
 * parts it reports on, so it opens once they are up and closes before any of them stops.
 * Start refuses, with one line: a non-loopback `listen` without TLS material or
 * `allow_remote_plaintext` (MANAGEMENT_REMOTE_NEEDS_TLS), unusable TLS files
 * (MANAGEMENT_TLS_INVALID), unsafe token files (MANAGEMENT_TOKEN_FILE_UNSAFE), unusable ones or
 * one token in both (MANAGEMENT_TOKEN_FILE_INVALID), a busy address given explicitly
 * (MANAGEMENT_LISTEN_FAILED).
 */
export function managementComponent(
  config: NodeConfig,
  logger: Logger,
  options: {
    readonly listen: SocketAddress;
    /** `[management] listen` was left at its default (busy: a free port instead, not a failed start). */
    readonly listenIsDefault: boolean;
    readonly context: () => ManagementContext;
  },
  dependsOn: readonly NodeComponentName[],
): ManagementComponent {
  const log = logger.child("management");
  let server: ManagementServer | undefined;
  let closing = false;
  return {
    name: "management",
    dependsOn,
    get server() {
      return server;
    },
    get closing() {
      return closing;
    },
    start: async () => {
      const { listen } = options;
      const { tlsCert, tlsKey, allowRemotePlaintext } = config.management;
      if (!isLoopbackHost(listen.host)) {
        if (tlsCert === undefined && !allowRemotePlaintext) {
          throw new NumaxError(
            "MANAGEMENT_REMOTE_NEEDS_TLS",
            `the management API on ${formatSocketAddress(listen)} would be reachable from other hosts: give it [management] tls_cert and tls_key (--management-tls-cert, --management-tls-key) for HTTPS, or --management-allow-remote-plaintext to send tokens in clear`,
          );
        }
      }
      const tls = tlsCert === undefined || tlsKey === undefined ? undefined : await readTls(tlsCert, tlsKey);
      const [{ startManagementServer }, { MANAGEMENT_ROUTES }, { tokens, files }] = await Promise.all([
        import("./management-server.ts"),
        import("./management-routes.ts"),
        loadManagementTokens(config, log),
      ]);
      server = await startManagementServer({
        listen,
        listenIsDefault: options.listenIsDefault,
        tls,
        tokens,
        routes: MANAGEMENT_ROUTES,
        context: options.context(),
        logger: log,
      });
      log.info("listening", { url: server.url, tokenFile: files.admin, readTokenFile: files.read });
    },
    beforeStop: () => {
      closing = true;
    },
    stop: () => server?.close(),
  };
}

/**
 * The admin and read-only tokens from the management token files, each generated (mode 0600,
 * logged) when missing: the management API's and the dashboard's. MANAGEMENT_TOKEN_FILE_INVALID
 * when both files hold the same token.
 */
export async function loadManagementTokens(
  config: NodeConfig,
  log: Logger,
): Promise<{ tokens: BearerTokens; files: { admin: string; read: string } }> {
  const [{ loadOrCreateToken }, { BearerTokens }] = await Promise.all([
    import("./token-files.ts"),
    import("./bearer-tokens.ts"),
  ]);
  const files = managementTokenFiles(config);
  const random = (count: number) => randomFillSync(new Uint8Array(count));
  const admin = await loadOrCreateToken(files.admin, random);
  const read = await loadOrCreateToken(files.read, random);
  if (admin.token === read.token) {
    // The admin token would pass as read-only and the other way round: no read-only access left.
    throw new NumaxError(
      "MANAGEMENT_TOKEN_FILE_INVALID",
      `management token files ${files.admin} and ${files.read} hold the same token: the read-only token must differ from the admin one (delete ${files.read} to have a new one generated)`,
    );
  }
  for (const [file, { created }] of [
    [files.admin, admin],
    [files.read, read],
  ] as const) {
    if (created) log.info("token file generated (mode 0600)", { file });
  }
  return { tokens: new BearerTokens({ admin: admin.token, read: read.token }), files };
}

/** The management API's PEM certificate and key (the dashboard's too); MANAGEMENT_TLS_INVALID when one cannot be read. */
export async function readTls(
  certPath: string,
  keyPath: string,
): Promise<{ cert: Uint8Array; key: Uint8Array }> {
  const read = async (path: string, what: string): Promise<Uint8Array> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new NumaxError(
        "MANAGEMENT_TLS_INVALID",
        `cannot read the management API's ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        { cause: error },
      );
    }
  };
  return { cert: await read(certPath, "certificate"), key: await read(keyPath, "private key") };
}
