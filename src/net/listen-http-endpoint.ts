import type { Server } from "node:http";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { Logger } from "../observe/logger.ts";

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
