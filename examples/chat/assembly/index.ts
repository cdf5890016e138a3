// Chat between nodes, as a reactive module: lines typed on one node are printed on the others,
// and every node keeps the whole history in the RGA `chat/history`.
//
// - Input: the node started with `--stdin-topic chat/input` publishes each line typed on its
//   stdin as a local message on `chat/input`. The module appends `<name>: <line>` to the
//   history and publishes it on `chat/lines`.
// - Output: a `chat/lines` message from another node is printed on stdout as is; this node's
//   own lines are not printed again.
// - In init it prints the last HISTORY_SHOWN lines of the history, oldest first.
// NX_CHAT_NAME sets the name (default: the first 8 characters of the node id).
// Lines are inserted at the head of the RGA (the SDK knows no element ids but the ones it
// inserts), so the sequence is newest first on every node.

import { events, net, rga, stdout, system } from "../../../sdk/assemblyscript/assembly";
export { init, on_message } from "../../../sdk/assemblyscript/assembly/events";

const INPUT_TOPIC = "chat/input";
const LINES_TOPIC = "chat/lines";
const HISTORY_KEY = "chat/history";
const HISTORY_SHOWN = 10;
const DEFAULT_NAME_CHARS = 8;

let nodeId = "";
let name = "";

events.onInit((): void => {
  nodeId = net.nodeId();
  const configured = system.env("NX_CHAT_NAME");
  name = configured === null || configured.length == 0 ? nodeId.substring(0, DEFAULT_NAME_CHARS) : configured;
  events.subscribe(INPUT_TOPIC);
  events.subscribe(LINES_TOPIC);
  const newestFirst = rga.valueStrings(HISTORY_KEY);
  const shown = min(newestFirst.length, HISTORY_SHOWN);
  for (let i = shown - 1; i >= 0; i--) stdout.writeLine(newestFirst[i]);
});

events.onMessage((message: events.Message): void => {
  if (message.topic == INPUT_TOPIC) {
    const typed = message.text();
    if (typed.length == 0) return;
    const line = `${name}: ${typed}`;
    rga.insert(HISTORY_KEY, null, line);
    events.publish(LINES_TOPIC, line);
  } else if (message.topic == LINES_TOPIC && message.origin.length > 0 && message.origin != nodeId) {
    stdout.writeLine(message.text());
  }
});
