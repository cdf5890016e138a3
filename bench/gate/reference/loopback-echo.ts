import { createConnection, createServer, type Socket } from "node:net";
import type { Reference } from "../gate-report.ts";

/**
 * Same-run reference of the cluster gates: how many 64-byte messages per second one Node.js
 * process can bounce off another socket through 127.0.0.1 (a TCP echo, 64 messages in flight).
 * It moves with what bounds a loopback cluster on a shared machine (CPU speed, scheduling,
 * syscall cost) and not with Numax, so throughput and latency divided by it compare across runs.
 */
export interface LoopbackEchoReference extends Reference {
  readonly name: "loopback_echo";
  readonly ops_sec: number;
  readonly duration_secs: number;
  readonly message_bytes: number;
}

const MESSAGE_BYTES = 64;
const IN_FLIGHT = 64;

export async function measureLoopbackEcho(durationMs: number): Promise<LoopbackEchoReference> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const client: Socket = createConnection({ host: "127.0.0.1", port, noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    });
    const message = Buffer.alloc(MESSAGE_BYTES, 7);
    let received = 0;
    const started = performance.now();
    const finished = new Promise<number>((resolve) => {
      let pending = 0;
      client.on("data", (chunk: Buffer) => {
        pending += chunk.length;
        while (pending >= MESSAGE_BYTES) {
          pending -= MESSAGE_BYTES;
          received++;
          if (performance.now() - started < durationMs) client.write(message);
          else if (pending < MESSAGE_BYTES) resolve(performance.now() - started);
        }
      });
    });
    for (let i = 0; i < IN_FLIGHT; i++) client.write(message);
    const elapsedMs = await finished;
    return {
      name: "loopback_echo",
      ops_sec: Math.round(received / (elapsedMs / 1000)),
      duration_secs: Math.round(elapsedMs / 10) / 100,
      message_bytes: MESSAGE_BYTES,
    };
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
