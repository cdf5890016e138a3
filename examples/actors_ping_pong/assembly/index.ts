// Two actors in one module: `run` starts as the "ping" side, spawns a second process of this
// same module as the "pong" side (its first message, the spawn argument, tells it so), and the
// two exchange messages. Each blocks in proc.receive while it waits; the node keeps running.

import { log, proc } from "../../../sdk/assemblyscript/assembly";

const ROUNDS = 3;

/** The pong side: answers every "ping <n>" with "pong <n>" until "stop". */
function pong(): void {
  while (true) {
    const message = proc.receive();
    if (message === null) continue;
    const text = message.text();
    if (text == "stop") return;
    proc.send(message.from, text.replace("ping", "pong"));
  }
}

export function run(): void {
  // Only a process spawned as the pong side finds its role waiting as its first message.
  const role = proc.receiveMatch(new proc.Match().startingWith("role:"), 0);
  if (role !== null) {
    pong();
    return;
  }
  const partner = proc.spawn(new proc.Spawn().withArg("role:pong").linked());
  log.info(`ping ${proc.self()} spawned pong ${partner}`);
  for (let round = 1; round <= ROUNDS; round++) {
    proc.send(partner, `ping ${round}`);
    const reply = proc.receiveMatch(new proc.Match().fromPid(partner), 5_000);
    log.info(reply === null ? `no answer to ping ${round}` : `got ${reply.text()}`);
  }
  proc.send(partner, "stop");
}
