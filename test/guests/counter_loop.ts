// Test guest for the sync end-to-end tests: increments the GCounter NX_KEY (default "hits") by 1,
// NX_COUNT times (default 1; one run, so they travel as one op), then logs what this node knows.

import { gcounter, log, system } from "../../sdk/assemblyscript/assembly";

export function run(): void {
  const keyText = system.env("NX_KEY");
  const key = keyText === null ? "hits" : keyText;
  const countText = system.env("NX_COUNT");
  const count: u64 = countText === null ? 1 : U64.parseInt(countText);
  for (let i: u64 = 0; i < count; i++) gcounter.inc(key, 1);
  log.info(`added ${count}; ${key} = ${gcounter.value(key)} as this node knows it`);
}
