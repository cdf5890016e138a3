// Writer for the dashboard's end-to-end tests: a reactive module that turns each message on
// `dash/write` (a node started with `--stdin-topic dash/write` makes one of every stdin line)
// into one CRDT write and prints `wrote <family> <key>` after it. A line is tab-separated:
//   gcounter<TAB>KEY | lww-register<TAB>KEY<TAB>VALUE | lww-map<TAB>KEY<TAB>FIELD<TAB>VALUE |
//   orset<TAB>KEY<TAB>ELEMENT
// Keys and values are written as given: the tests use hostile ones (`<script>...`).

import { events, gcounter, lwwMap, lwwRegister, orset, stdout } from "../../sdk/assemblyscript/assembly";
export { init, on_message } from "../../sdk/assemblyscript/assembly/events";

const TOPIC = "dash/write";

events.onInit((): void => {
  events.subscribe(TOPIC);
});

events.onMessage((message: events.Message): void => {
  if (message.topic != TOPIC) return;
  const parts = message.text().split("\t");
  if (parts.length < 2) return;
  const family = parts[0];
  const key = parts[1];
  if (family == "gcounter") gcounter.inc(key);
  else if (family == "lww-register" && parts.length >= 3) lwwRegister.set(key, parts[2]);
  else if (family == "lww-map" && parts.length >= 4) lwwMap.set(key, parts[2], parts[3]);
  else if (family == "orset" && parts.length >= 3) orset.add(key, parts[2]);
  else return;
  stdout.writeLine(`wrote ${family} ${key}`);
});
