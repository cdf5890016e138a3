import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP forwarder from 127.0.0.1:<port> to 127.0.0.1:<targetPort> that the partition gate cuts
 * and heals. Bytes are forwarded unchanged (TLS passes through untouched).
 *
 * - `cut()`: every forwarded connection is destroyed on both sides, and until `heal()` every new
 *   connection is accepted and destroyed at once, so a node sees its peer go away and its
 *   reconnects fail, as with a pulled cable followed by a refused route.
 * - `heal()`: new connections are forwarded again (the nodes reconnect on their own schedule).
 *
 * @example
 * const proxy = await LoopbackProxy.start({ targetPort: 9001 });
 * // give the other node 127.0.0.1:${proxy.port} as the peer address
 * proxy.cut(); ... proxy.heal(); ... await proxy.close();
 */
export interface LoopbackProxyOptions {
  readonly targetPort: number;
  /** Port to listen on; 0 (default) lets the kernel choose. */
  readonly port?: number;
}

export class LoopbackProxy {
  readonly targetPort: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  /** Connections accepted since start, forwarded or refused. */
  acceptedTotal = 0;
  refusedTotal = 0;

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.targetPort = targetPort;
    server.on("connection", (client) => this.#accept(client));
  }

  static start(options: LoopbackProxyOptions): Promise<LoopbackProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new LoopbackProxy(server, options.targetPort);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(proxy);
      });
    });
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  /** Connections being forwarded now. */
  get openConnections(): number {
    return this.#sockets.size / 2;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  heal(): void {
    this.#cut = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.acceptedTotal++;
    if (this.#cut) {
      this.refusedTotal++;
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort, noDelay: true });
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = () => {
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    // Errors end the pair: a reset on one side becomes a reset on the other.
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
