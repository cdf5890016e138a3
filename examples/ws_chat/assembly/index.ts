// A chat page over WebSocket with pub/sub (docs/serving.md). `nx run ws_chat.wasm --serve
// 127.0.0.1:8080` serves the routes `routes` declares; with --listen/--peer, the room's messages
// reach the clients of every node that runs this module.
//
// Interface (tests rely on it):
//   GET /           200 text/html: a chat page over /ws/lobby
//   WS  /ws/:room   WebSocket: every text frame is published on chat/<room>, and every message on
//                   chat/<room> (this node's or a peer's) is sent as {"topic":"chat/<room>","data":"<text>"}

import { events, http, proc } from "../../../sdk/assemblyscript/assembly";

export function routes(): void {
  http.route("GET", "/", "page");
  http.route("WS", "/ws/:room", "room");
}

/** Pub/sub: the node sends the room's messages (everyone's, this client's too); frames are published. */
export function room(): void {
  const topic = `chat/${http.param("room")!}`;
  if (!http.wsForward(topic)) return;
  while (true) {
    const frame = proc.receive(-1)!.payload;
    if (frame[0] == http.WS_TEXT) events.publish(topic, frame.subarray(1));
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>chat</title>
<ul id="log"></ul>
<form id="say"><input id="text" autofocus autocomplete="off"><button>send</button></form>
<script>
const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/lobby");
socket.onmessage = (event) => {
  const li = document.createElement("li");
  li.textContent = JSON.parse(event.data).data;
  document.getElementById("log").append(li);
};
document.getElementById("say").onsubmit = (event) => {
  event.preventDefault();
  const text = document.getElementById("text");
  if (text.value !== "") socket.send(text.value);
  text.value = "";
};
</script>
`;

export function page(): void {
  http.setHeader("content-type", "text/html; charset=utf-8");
  http.write(PAGE);
}
