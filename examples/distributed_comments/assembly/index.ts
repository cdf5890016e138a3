// A replicated comment thread (RGA). Each node appends NX_COMMENT after the last comment it
// wrote (remembered in its local store); comments written concurrently after the same one
// appear in the same order on every node.

import { db, log, net, rga, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "comments";
const LAST_ID_KEY = "distributed_comments/last-id";

export function run(): void {
  const requested = system.env("NX_COMMENT");
  const text = requested === null ? `hello from ${net.nodeId().substring(0, 8)}` : requested;
  const id = rga.insert(KEY, db.get(LAST_ID_KEY), text);
  if (id === null) system.abort("the comment this node wrote last is unknown to the RGA");
  db.set(LAST_ID_KEY, id!);
  log.info(`appended "${text}"`);
  const comments = rga.valueStrings(KEY);
  log.info(`${KEY} here (${comments.length}): [${comments.join(", ")}]`);
}
