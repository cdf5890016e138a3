import { createServer, type Server } from "node:net";

/**
 * `count` distinct TCP ports on 127.0.0.1 that were free a moment ago: the kernel picks them for
 * listeners on port 0, held open together (so no port is handed out twice) and then closed.
 * Another process could take one in between; a node that then fails to bind it fails the gate
 * with its own error line rather than silently sharing the port.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
