// The smallest Numax guest: logs a greeting through the host's logger.

import { log, system } from "../../../sdk/assemblyscript/assembly";

export function run(): void {
  log.info(`hello from ${system.moduleId()}`);
}
