import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { Logger } from "../observe/logger.ts";

/** PEM certificate and key: the endpoint serves HTTPS. */
export interface HttpEndpointTls {
  readonly cert: Uint8Array;
  readonly key: Uint8Array;
}

/** The bounds every one of the node's HTTP endpoints sets on its server. */
export interface HttpEndpointLimits {
  /** Time a client has to send a whole request (headers and body), in ms. */
  readonly requestTimeoutMs: number;
  /** Open connections at most. */
  readonly connectionsMax: number;
}

/**
 * An HTTP server, or HTTPS with `tls`, bounded by `limits`; idle keep-alive connections close
 * after 5 s, and request timeouts are checked every second (Node's default is 30 s).
 */
export async function createHttpEndpointServer(
  tls: HttpEndpointTls | undefined,
  limits: HttpEndpointLimits,
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<Server> {
  const settings = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 5000,
    connectionsCheckingInterval: 1000,
  };
  const server: Server =
    tls === undefined
      ? (await import("node:http")).createServer(settings, handle)
      : (await import("node:https")).createServer(
          { ...settings, cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) },
          handle,
        );
  server.maxConnections = limits.connectionsMax;
  return server;
}

/** One of the node's own HTTP endpoints that is on by default (the management API, the dashboard). */
export interface HttpEndpoint {
  /** As the lines name it: `the management API`. */
  readonly name: string;
  /** Where its address is set: `[management] listen or --management-listen`. */
  readonly setting: string;
  /** The code of the NumaxError when it cannot listen: `MANAGEMENT_LISTEN_FAILED`. */
  readonly failureCode: string;
  /** `listen` is the default address: busy, it is one warning and no endpoint, not a failed start. */
  readonly listenIsDefault: boolean;
  readonly logger: Logger;
}

/**
 * Opens `server` on `listen`: the bound address (the real port for port 0), or undefined when
 * the endpoint's default address is in use (another node on the machine has it: one warning, the
 * node runs on without it). Any other failure rejects with a NumaxError coded `failureCode`, in
 * one line naming the setting to change.
 */
export async function listenHttpEndpoint(
  server: Server,
  listen: SocketAddress,
  endpoint: HttpEndpoint,
): Promise<SocketAddress | undefined> {
  const where = formatSocketAddress(listen);
  const bound = await new Promise<boolean>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === "EADDRINUSE" && endpoint.listenIsDefault) {
        endpoint.logger.warn(
          `not started: the default address ${where} is in use (another node?); set ${endpoint.setting} to a free address, or off`,
        );
        resolve(false);
        return;
      }
      const why = error.code === "EADDRINUSE" ? "the address is in use" : (error.code ?? error.message);
      reject(
        new NumaxError(
          endpoint.failureCode,
          `cannot open ${endpoint.name} on ${where}: ${why} (set ${endpoint.setting} to a free address, or off)`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onError);
      resolve(true);
    });
  });
  if (!bound) return undefined;
  server.on("error", (error) => endpoint.logger.error("server error", { error }));
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("an HTTP server on TCP has an address");
  return { host: listen.host, port: address.port };
}
