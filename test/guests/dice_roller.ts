// Test guest for --deterministic (docs/design/determinism.md): rolls NX_ROLLS dice (default 3)
// with the host's randomness, stamps each with the host's clock, writes them to CRDTs and prints
// them. Two runs with one seed must print the same lines and leave the same replicated state.

import { crypto, lwwMap, lwwRegister, orset, stdout, system, time } from "../../sdk/assemblyscript/assembly";

export function run(): void {
  const rollsText = system.env("NX_ROLLS");
  const rolls = rollsText === null ? 3 : I32.parseInt(rollsText);
  for (let i = 0; i < rolls; i++) {
    const roll = (crypto.randomU64() % 6) + 1;
    const at = time.now();
    lwwMap.set("rolls", i.toString(), roll.toString());
    orset.add("faces", roll.toString());
    stdout.writeLine(`roll ${i}: ${roll} at ${at}`);
  }
  lwwRegister.set("last-roll-at", time.now().toString());
}
