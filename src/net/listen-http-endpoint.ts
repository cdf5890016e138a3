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
  /** `listen` is the default address: busy, the endpoint takes a free port of its host instead. */
  readonly listenIsDefault: boolean;
  readonly logger: Logger;
}

/**
 * Opens `server` on `listen`: the bound address (the real port for port 0). When `listen` is the
 * endpoint's default and another process (another node on the machine) has it, the endpoint
 * takes a free port of the same host, said in one info line (the endpoint's own start line gives
 * its url): several nodes on one machine each get their endpoint without a warning or a setting.
 * Any other failure, or an address the user gave being in use, rejects with a NumaxError coded
 * `failureCode`, in one line naming the setting to change.
 */
export async function listenHttpEndpoint(
  server: Server,
  listen: SocketAddress,
  endpoint: HttpEndpoint,
): Promise<SocketAddress> {
  const inUse = await listenOnce(server, listen, endpoint, endpoint.listenIsDefault);
  if (inUse) {
    endpoint.logger.info(
      `the default address ${formatSocketAddress(listen)} is in use (another node?): listening on a free port instead; set ${endpoint.setting} to choose one`,
    );
    await listenOnce(server, { host: listen.host, port: 0 }, endpoint, false);
  }
  server.on("error", (error) => endpoint.logger.error("server error", { error }));
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("an HTTP server on TCP has an address");
  return { host: listen.host, port: address.port };
}

/** Listens on `listen`: false once listening, true when it is in use and `inUseIsAnswer`. */
function listenOnce(
  server: Server,
  listen: SocketAddress,
  endpoint: HttpEndpoint,
  inUseIsAnswer: boolean,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === "EADDRINUSE" && inUseIsAnswer) {
        resolve(true);
        return;
      }
      const why = error.code === "EADDRINUSE" ? "the address is in use" : (error.code ?? error.message);
      reject(
        new NumaxError(
          endpoint.failureCode,
          `cannot open ${endpoint.name} on ${formatSocketAddress(listen)}: ${why} (set ${endpoint.setting} to a free address, or off)`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onError);
      resolve(false);
    });
  });
}
