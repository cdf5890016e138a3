// Test guest for the write-path durability tests over HTTP. `PUT /ack/:n` stores "1" under
// "ack/<n>" and answers 204: a 204 is an acknowledgement, so after kill -9 the store must hold
// every key a client got a 204 for. A refused write (a full disk) answers 503. `PUT /put/:key`
// stores the request body under "put/<key>" the same way (a write large enough to fill a disk).
// `PUT /sse/:key` stores the body under "sse/<key>", then answers with an event stream (its head
// claims that write) that sends "saved" and stays open. `WS /ws/:key` stores each frame it gets
// under "ws/<key>" and answers it with a frame "saved".

import { db, http, OnError, onError, proc } from "../../sdk/assemblyscript/assembly";

export function routes(): void {
  http.route("PUT", "/ack/:n", "ack");
  http.route("PUT", "/put/:key", "put");
  http.route("PUT", "/sse/:key", "sse");
  http.route("WS", "/ws/:key", "ws");
}

export function run(): void {}

export function ack(): void {
  onError(OnError.Return);
  http.status(db.set(`ack/${http.param("n")!}`, "1") ? 204 : 503);
}

export function put(): void {
  onError(OnError.Return);
  http.status(db.set(`put/${http.param("key")!}`, http.body()) ? 204 : 503);
}

export function sse(): void {
  onError(OnError.Return);
  if (!db.set(`sse/${http.param("key")!}`, http.body())) return http.status(503);
  if (!http.sseStart() || !http.sseSend("saved")) return;
  while (true) proc.receive(-1);
}

export function ws(): void {
  const key = `ws/${http.param("key")!}`;
  while (true) {
    const frame = proc.receive(-1)!.payload;
    if (!db.set(key, frame.subarray(1)) || !http.wsSend("saved")) return;
  }
}
