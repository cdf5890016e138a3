import type { FuzzTarget } from "../fuzz-target.ts";
import { abiTarget } from "./abi-target.ts";
import {
  frameTarget,
  messageJsonTarget,
  messageMsgpackTarget,
  opTarget,
  stateTarget,
} from "./codec-targets.ts";
import { configTarget, policyTarget, wasmTarget } from "./file-targets.ts";

/** Every decoder a peer or a file can reach (docs/supply-chain.md#fuzzing). */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  frameTarget,
  messageMsgpackTarget,
  messageJsonTarget,
  opTarget,
  stateTarget,
  configTarget,
  policyTarget,
  wasmTarget,
  abiTarget,
];
