import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import type { NodeId } from "../../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame, type Frame } from "../../../src/net/frame.ts";
import { FrameDecoder } from "../../../src/net/frame-decoder.ts";
import { parseHostPort } from "../../../src/net/host-port.ts";
import { type Message, PROTOCOL_VERSION } from "../../../src/net/messages.ts";
import type { TlsMaterial } from "../../../src/net/tls-material.ts";
import type { WireFormat } from "../../../src/net/wire-format.ts";
import { codec } from "../transport-contract.ts";
import type { TestOp } from "./test-op.ts";

/**
 * A hand-driven peer on a real socket, for hostile-input tests: it writes whatever bytes a test
 * gives it and records the frames it receives and when the other side closed.
 */
export interface RawPeer {
  readonly socket: Socket;
  readonly frames: Frame[];
  /** Resolves when the socket closed (by either side). */
  readonly closed: Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  send(message: Message<TestOp>, format?: WireFormat): Promise<void>;
  /** Decoded messages received so far. */
  messages(): Message<TestOp>[];
  /** Waits for the nth received frame (0-based). */
  frame(index: number, timeoutMs?: number): Promise<Frame>;
  destroy(): void;
}

export async function rawPeer(address: string, tls?: TlsMaterial): Promise<RawPeer> {
  const { host, port } = parseHostPort(address);
  const socket = tls
    ? connectTls({ host, port, key: tls.keyPem, cert: tls.certPem, ca: tls.caPem, minVersion: "TLSv1.3" })
    : connectTcp({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once(tls ? "secureConnect" : "connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  const decoder = new FrameDecoder(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
  socket.on("data", (chunk: Buffer) => {
    frames.push(...decoder.push(chunk));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  void closed.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  const peer: RawPeer = {
    socket,
    frames,
    closed,
    write: (bytes) =>
      new Promise((resolve, reject) => socket.write(bytes, (error) => (error ? reject(error) : resolve()))),
    send: (message, format = "msgpack") =>
      peer.write(
        encodeFrame({ format, body: codec.encode(message, format) }, DEFAULT_MAX_MESSAGE_SIZE_BYTES),
      ),
    messages: () => frames.map((frame) => codec.decode(frame.body, frame.format)),
    async frame(index, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      while (frames.length <= index) {
        if (socket.destroyed && frames.length <= index)
          throw new Error(`socket closed after ${frames.length} frames`);
        if (performance.now() > deadline) throw new Error(`no frame #${index} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return frames[index];
    },
    destroy: () => socket.destroy(),
  };
  return peer;
}

export function helloFrom(nodeId: NodeId, overrides: Record<string, unknown> = {}): Message<TestOp> {
  return {
    type: "Hello",
    nodeId,
    protocolVersion: PROTOCOL_VERSION,
    formats: ["msgpack", "json"],
    preferredFormat: "msgpack",
    versionVector: new Map(),
    features: [],
    ...overrides,
  } as Message<TestOp>;
}
