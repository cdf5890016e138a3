// Replicated settings (LWW-Map): NX_SETTING="field=value" sets one field, NX_REMOVE="field"
// removes one; each field converges to its latest write and removed fields stay removed.

import { log, lwwMap, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "settings";

export function run(): void {
  const setting = system.env("NX_SETTING");
  if (setting !== null) {
    const at = setting.indexOf("=");
    if (at <= 0) system.abort(`NX_SETTING must look like field=value, got "${setting}"`);
    const field = setting.substring(0, at);
    const value = setting.substring(at + 1);
    lwwMap.set(KEY, field, value);
    log.info(`set ${KEY}.${field} = ${value}`);
  }
  const removed = system.env("NX_REMOVE");
  if (removed !== null) {
    lwwMap.remove(KEY, removed);
    log.info(`removed ${KEY}.${removed}`);
  }
  const entries = lwwMap.entries(KEY);
  const shown = new Array<string>(0);
  for (let i = 0; i < entries.length; i++) shown.push(`${entries[i].keyString()}=${entries[i].valueString()}`);
  log.info(`${KEY} here: {${shown.join(", ")}}`);
}
