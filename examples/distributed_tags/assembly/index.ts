// A replicated tag set (ORSet): NX_TAGS="a,b" adds tags, NX_UNTAG="a" removes one. A tag added
// on one node while another removes it survives (add wins).

import { log, orset, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "tags";

export function run(): void {
  const added = system.env("NX_TAGS");
  if (added !== null) {
    const tags = added.split(",");
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i].trim();
      if (tag.length == 0) continue;
      orset.add(KEY, tag);
      log.info(`added tag ${tag}`);
    }
  }
  const removed = system.env("NX_UNTAG");
  if (removed !== null) {
    orset.remove(KEY, removed);
    log.info(`removed tag ${removed}`);
  }
  log.info(`${KEY} here: [${orset.elementStrings(KEY).join(", ")}]`);
}
