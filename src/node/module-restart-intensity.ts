/**
 * How often a reactive module may crash before it is given up: more than MODULE_RESTARTS_MAX
 * restarts within MODULE_RESTART_WINDOW_MS (its supervisor's intensity). A file of its own so
 * that the module host names them without loading the kernel.
 */
export const MODULE_RESTARTS_MAX = 5;
export const MODULE_RESTART_WINDOW_MS = 10_000;
