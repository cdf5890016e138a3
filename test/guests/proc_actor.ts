// Test guest for test/processes: an actor that obeys text commands sent to it and replies to the
// sender, so tests can drive every process function through the SDK.
//
//   "ping" -> "pong"                    "count" -> messages received so far (state in memory)
//   "self" -> its pid                   "caps" -> host_capabilities, comma-separated
//   "db" -> result of db.set            "crash" -> traps (unreachable)
//   "abort" -> aborts                   "exit:<reason>" -> proc.exit(reason)
//   "link:<pid>" -> "ok" or "no:<error code>"
//   "monitor:<pid>" / "demonitor:<pid>" / "unlink:<pid>" -> "ok" or "no"
//   "trap" -> traps exits               "wait-down" / "wait-exit" -> "<kind>:<from>:<reason>"
//   "register:<name>" -> "ok" / "no"    "whereis:<name>" -> pid or -1
//   "spawn:<profile>" -> pid or code of a child (this module, entry `run`, arg "child of <pid>")
//   "spawn-entry:<entry>" -> pid or code  "first" -> its first message's text (spawn arg)
//   "select:<prefix>" -> the oldest message starting with <prefix>, without reading others
//   "drain" -> every queued message, in order, joined by "|"
//   "gate:<tokens>" -> selective receives after a "go" (see below)
//   "spin" -> loops forever             "hog" -> allocates until memory runs out
//   "stop" -> returns

import { db, ErrorCode, lastError, OnError, onError, proc, system } from "../../sdk/assemblyscript/assembly";

let received: i32 = 0;
let firstText: string = "";

function reply(to: i32, text: string): void {
  proc.send(to, text);
}

function after(text: string, prefix: string): string {
  return text.substring(prefix.length);
}

function spin(): void {
  let n: u64 = 0;
  while (true) {
    n++;
    if (n == 0) break;
  }
}

function hog(): void {
  const kept = new Array<ArrayBuffer>(0);
  while (true) kept.push(new ArrayBuffer(64 * 1024));
}

export function run(): void {
  onError(OnError.Return);
  // A spawn argument ("child of <pid>") is first in line when there is one.
  const first = proc.receiveMatch(new proc.Match().startingWith("child of "), 0);
  if (first !== null) {
    received++;
    firstText = first.text();
  }
  // Commands are data messages; DOWN and EXIT messages wait in the mailbox for "wait-down" /
  // "wait-exit" (a selective receive, so their order among themselves is kept).
  const commands = new proc.Match().ofKinds(1 << proc.KIND_DATA);
  while (true) {
    const message = proc.receiveMatch(commands);
    if (message === null) continue;
    received++;
    const text = message.text();
    const from = message.from;
    if (text == "stop") return;
    if (text == "ping") reply(from, "pong");
    else if (text == "count") reply(from, received.toString());
    else if (text == "self") reply(from, proc.self().toString());
    else if (text == "first") reply(from, firstText);
    else if (text == "caps") reply(from, system.capabilities().join(","));
    else if (text == "db") {
      const ok = db.set("proc-actor", "written");
      reply(from, ok ? "db:ok" : `db:${lastError()}`);
    } else if (text == "crash") unreachable();
    else if (text == "abort") system.abort("asked to abort");
    else if (text.startsWith("exit:")) proc.exit(after(text, "exit:"));
    else if (text.startsWith("link:")) {
      reply(from, proc.link(I32.parseInt(after(text, "link:"))) ? "ok" : `no:${lastError()}`);
    }
    else if (text.startsWith("unlink:")) reply(from, proc.unlink(I32.parseInt(after(text, "unlink:"))) ? "ok" : "no");
    else if (text.startsWith("monitor:")) {
      reply(from, proc.monitor(I32.parseInt(after(text, "monitor:"))) ? "ok" : "no");
    } else if (text.startsWith("demonitor:")) {
      reply(from, proc.demonitor(I32.parseInt(after(text, "demonitor:"))) ? "ok" : "no");
    } else if (text == "trap") {
      proc.trapExit(true);
      reply(from, "trapping");
    } else if (text == "wait-down" || text == "wait-exit") {
      const kind = text == "wait-down" ? proc.KIND_DOWN : proc.KIND_EXIT;
      const got = proc.receiveMatch(new proc.Match().ofKinds(1 << kind), 10_000);
      reply(from, got === null ? "timeout" : `${got.kind}:${got.from}:${got.text()}`);
    } else if (text.startsWith("register:")) {
      reply(from, proc.register(after(text, "register:")) ? "ok" : "no");
    } else if (text.startsWith("whereis:")) {
      reply(from, proc.whereis(after(text, "whereis:")).toString());
    } else if (text.startsWith("spawn:")) {
      const options = new proc.Spawn()
        .withProfile(after(text, "spawn:"))
        .withArg(`child of ${proc.self()}`);
      const pid = proc.spawn(options);
      reply(from, pid > 0 ? pid.toString() : `code:${lastError() == ErrorCode.Ok ? pid : lastError()}`);
    } else if (text.startsWith("spawn-entry:")) {
      const pid = proc.spawn(new proc.Spawn().withEntry(after(text, "spawn-entry:")));
      reply(from, pid.toString());
    } else if (text.startsWith("select:")) {
      const got = proc.receiveMatch(new proc.Match().startingWith(after(text, "select:")), 5_000);
      reply(from, got === null ? "timeout" : got.text());
    } else if (text.startsWith("gate:")) {
      // Waits for "go" (skipping what was queued before it), then takes one message per token
      // without waiting ("@<pid>": the oldest from that sender, else the oldest starting with
      // the token), then drains the rest in order: "<taken...>|/|<drained...>".
      proc.receiveMatch(new proc.Match().startingWith("go"), 5_000);
      const parts = new Array<string>(0);
      const tokens = after(text, "gate:").split(",");
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i];
        const match = new proc.Match().ofKinds(1 << proc.KIND_DATA);
        if (token.startsWith("@")) match.fromPid(I32.parseInt(token.substring(1)));
        else match.startingWith(token);
        const got = proc.receiveMatch(match, 0);
        parts.push(got === null ? "-" : got.text());
      }
      parts.push("/");
      let next = proc.receive(0);
      while (next !== null) {
        parts.push(next.text());
        next = proc.receive(0);
      }
      reply(from, parts.join("|"));
    } else if (text == "drain") {
      const parts = new Array<string>(0);
      let next = proc.receive(0);
      while (next !== null) {
        parts.push(next.text());
        next = proc.receive(0);
      }
      reply(from, parts.join("|"));
    } else if (text == "spin") spin();
    else if (text == "hog") hog();
  }
}

/** A second entry point: replies "worker" to its first message, then ends. */
export function worker(): void {
  const message = proc.receive(10_000);
  if (message !== null) proc.send(message.from, "worker");
}
