// The local store's basic operations in order: set, get, exists, list by prefix, delete.

import { db, log } from "../../../sdk/assemblyscript/assembly";

export function run(): void {
  db.set("fruit/apple", "red");
  db.set("fruit/banana", "yellow");
  db.set("fruit/cherry", "dark red");
  log.info("set fruit/apple, fruit/banana, fruit/cherry");

  const apple = db.getString("fruit/apple");
  log.info(`get fruit/apple = ${apple === null ? "<absent>" : apple}`);

  const names = db.keyStrings("fruit/");
  log.info(`keys under fruit/: ${names.join(", ")}`);

  const rows = db.scanAll("fruit/");
  for (let i = 0; i < rows.length; i++) log.info(`scan ${rows[i].keyString()} = ${rows[i].valueString()}`);

  db.delete("fruit/banana");
  log.info(`deleted fruit/banana; exists now: ${db.exists("fruit/banana")}`);
  const banana = db.getString("fruit/banana");
  log.info(`get fruit/banana = ${banana === null ? "<absent>" : banana}`);

  // Leave the datastore as we found it, so that every run prints the same lines.
  db.delete("fruit/apple");
  db.delete("fruit/cherry");
  log.info(`cleaned up; keys under fruit/: ${db.keyStrings("fruit/").length}`);
}
