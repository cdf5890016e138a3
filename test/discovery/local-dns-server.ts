import { createSocket } from "node:dgram";
import { type Answer, decode, encode, type Packet } from "dns-packet";

/** The response codes this server answers with (RFC 1035 4.1.1). */
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** The zone the server answers from: SRV records by name, A records by host name. */
export interface Zone {
  readonly srv: Map<string, { target: string; port: number }[]>;
  readonly a: Map<string, string[]>;
}

export interface LocalDnsServer {
  /** `127.0.0.1:port`, for `[discovery] dns_server`. */
  readonly address: string;
  readonly zone: Zone;
  /** When true, every question is answered SERVFAIL. */
  failing: boolean;
  close(): Promise<void>;
}

/**
 * A DNS server on 127.0.0.1 (UDP, a free port) answering SRV and A questions from a zone the
 * test changes at will (names without the final dot, lowercase); a name not in the zone is
 * NXDOMAIN.
 */
export async function startLocalDnsServer(): Promise<LocalDnsServer> {
  const zone: Zone = { srv: new Map(), a: new Map() };
  const socket = createSocket("udp4");
  const server: LocalDnsServer = {
    address: "",
    zone,
    failing: false,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (message, rinfo) => {
    let query: Packet;
    try {
      query = decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const answers: Answer[] = [];
    let rcode: keyof typeof RCODES = server.failing ? "SERVFAIL" : "NOERROR";
    if (question !== undefined && !server.failing) {
      const name = question.name.toLowerCase().replace(/\.$/, "");
      if (question.type === "SRV") {
        const records = zone.srv.get(name);
        if (records === undefined) rcode = "NXDOMAIN";
        for (const { target, port } of records ?? [])
          answers.push({
            name: question.name,
            type: "SRV",
            ttl: 5,
            data: { target, port, priority: 0, weight: 0 },
          });
      } else if (question.type === "A") {
        const ips = zone.a.get(name);
        if (ips === undefined) rcode = "NXDOMAIN";
        for (const ip of ips ?? []) answers.push({ name: question.name, type: "A", ttl: 5, data: ip });
      }
    }
    const reply = encode({
      type: "response",
      id: query.id,
      // QR (a response), RD copied, RA: a recursive resolver's answer; the low bits are the rcode.
      flags: 0x8000 | 0x0100 | 0x0080 | RCODES[rcode],
      questions: query.questions,
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  (server as { address: string }).address = `127.0.0.1:${socket.address().port}`;
  return server;
}
