// Test guest for the write-path durability tests over HTTP. `PUT /ack/:n` stores "1" under
// "ack/<n>" and answers 204: a 204 is an acknowledgement, so after kill -9 the store must hold
// every key a client got a 204 for. A refused write (a full disk) answers 503. `PUT /put/:key`
// stores the request body under "put/<key>" the same way (a write large enough to fill a disk).

import { db, http, OnError, onError } from "../../sdk/assemblyscript/assembly";

export function routes(): void {
  http.route("PUT", "/ack/:n", "ack");
  http.route("PUT", "/put/:key", "put");
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
