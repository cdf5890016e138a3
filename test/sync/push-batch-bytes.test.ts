/**
 * PushOps batches are cut by bytes as well as by ops: a batch over `max_message_size` is refused
 * by the sender's own framing (NET_FRAME_TOO_LARGE, the connection stays up), and its ops waited
 * for anti-entropy rounds (30 s each). Two SyncServices over mTLS on LMDB stores, with
 * `max_message_size` 64 KiB and ops of 4 KiB: a pull answer and a push of 40 such ops (160 KiB)
 * both arrive within seconds.
 */
import { test } from "node:test";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";
import { createTestCa } from "../net/helpers/test-pki.ts";

const VALUE_BYTES = 4096;
const OPS = 40;

const start = serviceNodesIn("nx-push-batch-bytes-");

test("ops whose batch exceeds max_message_size arrive promptly, in batches that fit", async () => {
  const ca = await createTestCa();
  const flags = { "limits.max_message_size": "64KiB" };
  const a = await start("a", { tls: await ca.node("a"), flags });
  const write = (prefix: string): void => {
    for (let i = 0; i < OPS; i++) a.replica.lwwSet(`${prefix}${i}`, new Uint8Array(VALUE_BYTES).fill(i));
  };
  write("pulled-");
  await a.replica.flushed();
  const b = await start("b", { tls: await ca.node("b"), peers: [a.port], flags });
  const holds = (prefix: string) => () =>
    Array.from({ length: OPS }, (_, i) => b.replica.lwwGet(`${prefix}${i}`)).every(
      (value) => value?.length === VALUE_BYTES,
    );
  // Well within the first anti-entropy round (30 s), which is all that brought them before.
  await b.sink.until(holds("pulled-"), "B holds the ops its first pull asked for", 10_000);
  write("pushed-");
  await b.sink.until(holds("pushed-"), "B holds the ops A pushed while connected", 10_000);
});
