import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/** Where picked ports start: above the well-known and most registered services' ports. */
const PICKED_PORTS_LOW = 10_000;

/** Random ports tried before falling back to ports the kernel picks. */
const PICK_ATTEMPTS_MAX = 200;

/**
 * `count` distinct TCP ports on 127.0.0.1 that were free a moment ago, for processes started
 * next to listen on. They are drawn at random *below* the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default) and checked by listening on
 * them: the kernel never hands out such a port by itself, neither to a listener on port 0 nor as
 * the local port of an outgoing connection. A port from the ephemeral range, free when checked,
 * was taken before the node bound it by whatever else ran meanwhile (a CI run of the suite with
 * two files at once: `cannot listen for peers on 127.0.0.1:34697: address already in use`).
 * Where no such range is left (a machine whose ephemeral range starts low), the kernel picks, as
 * before. A node that still fails to bind fails its test or gate with its own error line.
 */
export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralPortsLow() - 1;
  const servers: Server[] = [];
  try {
    if (high - PICKED_PORTS_LOW >= 1000) {
      for (let attempt = 0; servers.length < count && attempt < PICK_ATTEMPTS_MAX; attempt++) {
        const server = await listening(randomInt(PICKED_PORTS_LOW, high + 1));
        if (server !== undefined) servers.push(server);
      }
    }
    while (servers.length < count) servers.push((await listening(0))!);
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function ephemeralPortsLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : PICKED_PORTS_LOW;
  } catch {
    return PICKED_PORTS_LOW; // not Linux: no range known, the kernel picks
  }
}

/** A listener on `port` (0: the kernel picks), or undefined when that port is taken. */
function listening(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (port !== 0 && (error.code === "EADDRINUSE" || error.code === "EACCES")) resolve(undefined);
      else reject(error);
    });
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("a TCP listener has no port");
  return address.port;
}
