/**
 * WebAssembly guests as actor processes (issue 7): a kernel ProcessBackend whose code is a guest
 * export, the `proc_*` ABI behind it, capability profiles per spawn and instance pools.
 * Guide: docs/actors.md ("WebAssembly processes"); design: docs/design/wasm-processes.md.
 */
export {
  DEFAULT_PROFILE,
  exceedsGrants,
  GRANT_CRDT,
  GRANT_DB,
  GRANT_LINK,
  GRANT_SERVE,
  type Grants,
  grantNames,
  PROFILES,
  parseProfile,
} from "./capability-profile.ts";
export {
  exitReasonText,
  GUEST_MESSAGE_TYPE,
  type GuestMessage,
  guestMessage,
  guestMessageBytes,
  guestMessageText,
  guestView,
  isGuestMessage,
} from "./guest-message.ts";
export type { ProcessOutput } from "./instance-pool.ts";
export type {
  GuestProgram,
  SpawnRunning,
  WasmProcessBackend,
  WasmProcessExit,
} from "./wasm-process-backend.ts";
export { WasmProcessError, type WasmProcessErrorCode } from "./wasm-process-error.ts";
export {
  IDLE_INSTANCES_MAX_DEFAULT,
  PROCESSES_MAX_DEFAULT,
  WasmProcessHost,
  type WasmProcessHostOptions,
  type WasmProcessHostStats,
  type WasmSpawnOptions,
} from "./wasm-process-host.ts";
