/**
 * A PushOps body as a hostile peer would write it by hand:
 * `{ type: "PushOps", batchId: <bytes of ext 32 of extType, or a bin 32 when extType is null>, ops: [] }`.
 * The bench of the wire's extension refusal (bench/wire.ts) and its end-to-end test
 * (test/hostile/wire-extension.test.ts) send the same one.
 */
export function pushOpsWithLargeBatchId(extType: number | null, bytes: number): Uint8Array {
  const text = (s: string) => [0xa0 | s.length, ...new TextEncoder().encode(s)];
  const lead = extType === null ? [0xc6, 0, 0, 0, 0] : [0xc9, 0, 0, 0, 0, extType];
  const head = [0x83, ...text("type"), ...text("PushOps"), ...text("batchId"), ...lead];
  const tail = [...text("ops"), 0x90];
  const body = new Uint8Array(head.length + bytes + tail.length);
  body.set(head);
  new DataView(body.buffer).setUint32(head.length - lead.length + 1, bytes);
  body.fill(0x5a, head.length, head.length + bytes);
  body.set(tail, head.length + bytes);
  return body;
}
