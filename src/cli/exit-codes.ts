/** Exit codes of the `nx` command, stable for scripts. */
export const EXIT_OK = 0;
/** The guest or the node failed at run time: trap, abort, CPU budget, memory cap. */
export const EXIT_RUN_FAILED = 1;
/** Bad input before anything ran: flags, config, module file. */
export const EXIT_USAGE = 2;
/** A second SIGINT/SIGTERM during a graceful shutdown: exit at once (128 + SIGINT, as shells do). */
export const EXIT_SIGNAL_TWICE = 130;
