/**
 * The actor kernel's public API: Erlang/OTP-style processes, mailboxes, links, monitors,
 * supervisors, registry and timers on the Node event loop. No WebAssembly in here: wasm
 * processes plug in through ProcessBackend. Guide: docs/actors.md; design: docs/design/kernel.md.
 */

export { type Clock, systemClock, type TimerHandle } from "../clock/clock.ts";
export { createVirtualClock, type VirtualClock } from "../clock/virtual-clock.ts";
export { type BehaviourDefinition, behaviour, type CallResult } from "./behaviour.ts";
export { CALL_TIMEOUT_MS_DEFAULT, type CallRequest, isCallRequest } from "./call.ts";
export {
  type ExitReason,
  exitReasonOfThrown,
  formatExitReason,
  isOrderlyExit,
  type ShutdownReason,
} from "./exit-reason.ts";
export { createKernel, type Kernel } from "./kernel.ts";
export { KernelError, type KernelErrorCode } from "./kernel-error.ts";
export {
  IO_YIELD_EVERY_REDUCTIONS_DEFAULT,
  type KernelOptions,
  MAILBOX_CAPACITY_DEFAULT,
  REDUCTION_BUDGET_DEFAULT,
} from "./kernel-options.ts";
export { copyMessage, MESSAGE_DEPTH_MAX } from "./message-copy.ts";
export { formatPid, isPid, KERNEL_PID, type Pid, type Ref, type TimerRef } from "./pid.ts";
export type { ProcessBackend } from "./process-backend.ts";
export {
  type BackendSpawnable,
  type CallRequestLike,
  type Matcher,
  type MaybePromise,
  type ProcessBody,
  type ProcessContext,
  type Spawnable,
  type SpawnOptions,
  TIMEOUT,
  type Timeout,
} from "./process-context.ts";
export { isProcessExit, ProcessExit } from "./process-exit.ts";
export type { ExitedProcessInfo, KernelStats, ProcessInfo, ProcessStatus } from "./process-info.ts";
export {
  type Caller,
  type ChildInfo,
  type ChildSpec,
  MAX_RESTARTS_DEFAULT,
  PERIOD_MS_DEFAULT,
  restartChild,
  SHUTDOWN_MS_DEFAULT,
  type ShutdownPolicy,
  type SupervisorSpec,
  startChild,
  supervisor,
  terminateChild,
  validateSupervisorSpec,
  whichChildren,
} from "./supervisor.ts";
export {
  type ChildState,
  decideSupervisor,
  MAX_RESTART_INTENSITY_REASON,
  type RestartStrategy,
  type RestartType,
  type SupervisorAction,
  type SupervisorDecision,
  type SupervisorEvent,
  type SupervisorState,
} from "./supervisor-decide.ts";
export { DownMessage, ExitMessage, isDownMessage, isExitMessage, SystemMessage } from "./system-messages.ts";
