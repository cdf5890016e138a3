// HTTP handlers with default routes (docs/serving.md). Every request runs its handler in a fresh
// instance; `nx run http_hello.wasm --serve 127.0.0.1:8080` serves the routes `routes` declares.
//
// Interface (tests rely on it):
//   GET  /hello/:name  200 text/plain "hello <name>"
//   POST /echo         200 with the request body (bodies over the listener's max_body get 413
//                      before the handler runs)
//   GET  /boom         traps: 500 "internal error (request <id>)"
//   GET  /spin         never returns: stopped by its CPU budget (500)
//   GET  /events       server-sent events: "data: tick <n>" every 100 ms, n from 0, until the
//                      client goes away
//   GET  /topics/*     server-sent events: every module message on the topic (the rest of the
//                      path, e.g. /topics/chat/room) as "event: <topic>" "data: <payload>"
//   POST /publish/*    publishes the request body on the topic (the rest of the path): 204
//   WS   /ws/echo      WebSocket: echoes every frame (text as text, binary as binary); the text
//                      frame "boom" traps (the connection closes with 1011)
//   WS   /ws/topics/*  WebSocket: every module message on the topic as a text frame
//                      {"topic":"<topic>","data":"<payload>"}, and echoes frames as /ws/echo
// A chat page over WebSocket with pub/sub is the ws_chat example.

import { events, http, proc } from "../../../sdk/assemblyscript/assembly";

export function routes(): void {
  http.route("GET", "/hello/:name", "hello");
  http.route("POST", "/echo", "echo");
  http.route("GET", "/boom", "boom");
  http.route("GET", "/spin", "spin");
  http.route("GET", "/events", "ticks");
  http.route("GET", "/topics/*", "topic");
  http.route("POST", "/publish/*", "publish");
  http.route("WS", "/ws/echo", "wsEcho");
  http.route("WS", "/ws/topics/*", "wsTopic");
}

export function hello(): void {
  http.setHeader("content-type", "text/plain; charset=utf-8");
  http.write(`hello ${http.param("name")!}`);
}

export function echo(): void {
  const type = http.header("content-type");
  if (type !== null) http.setHeader("content-type", type);
  http.write(http.body());
}

export function boom(): void {
  unreachable();
}

let spins: u64 = 0;

export function spin(): void {
  while (true) spins++;
}

/** One process per stream: it lives as long as the stream, waiting (not spinning) between ticks. */
export function ticks(): void {
  if (!http.sseStart()) return;
  for (let n = 0; ; n++) {
    if (!http.sseSend(`tick ${n}`)) return;
    proc.receive(100);
  }
}

/** The node writes the topic's messages to the stream; the process only has to stay alive. */
export function topic(): void {
  if (!http.sseStart() || !http.sseForward(http.param("*")!)) return;
  while (true) proc.receive(-1);
}

export function publish(): void {
  http.status(events.publish(http.param("*")!, http.body()) ? 204 : 400);
}

/** One process per connection: every frame is a message, answered with the same frame. */
export function wsEcho(): void {
  while (true) {
    const frame = proc.receive(-1)!.payload;
    const data = frame.subarray(1);
    if (frame[0] == http.WS_TEXT && String.UTF8.decodeUnsafe(data.dataStart, <usize>data.byteLength) == "boom") unreachable();
    if (!http.wsSend(data, frame[0] == http.WS_BINARY)) return;
  }
}

export function wsTopic(): void {
  if (!http.wsForward(http.param("*")!)) return;
  wsEcho();
}
