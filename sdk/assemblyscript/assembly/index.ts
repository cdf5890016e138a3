// The Numax guest SDK for AssemblyScript: the whole `nx` host ABI behind typed wrappers.
//
//   import { db, log } from "<path to>/sdk/assemblyscript/assembly";
//
//   export function run(): void {
//     const runs = db.getString("runs");
//     db.set("runs", (runs === null ? 1 : I32.parseInt(runs) + 1).toString());
//     log.info("hello from a guest");
//   }
//
// Guide: docs/sdk.md. Output buffers grow and retry on ERR_BUFFER_TOO_SMALL by themselves;
// errors follow the policy in error.ts (abort by default, or return + lastError()).

// The compiler's abort / trace / seed hooks live here; importing it keeps them in every program
// that uses the SDK (the build names them with --use, see asconfig.json).
import "./hooks";
import * as abi from "./abi";
import * as crypto from "./crypto";
import * as db from "./db";
import * as events from "./events";
import * as fetch from "./fetch";
import * as gcounter from "./gcounter";
import * as http from "./http";
import * as limits from "./limits";
import * as log from "./log";
import * as lwwMap from "./lww-map";
import * as lwwRegister from "./lww-register";
import * as net from "./net";
import * as orset from "./orset";
import * as pncounter from "./pncounter";
import * as proc from "./process";
import * as rga from "./rga";
import * as stdout from "./stdout";
import * as system from "./system";
import * as time from "./time";

export {
  abi,
  crypto,
  db,
  events,
  fetch,
  gcounter,
  http,
  limits,
  log,
  lwwMap,
  lwwRegister,
  net,
  orset,
  pncounter,
  proc,
  rga,
  stdout,
  system,
  time,
};
export { fromUtf8, jsonString, toHex, utf8 } from "./encoding";
export { Entry } from "./entry";
export { ErrorCode, errorName, lastError, OnError, onError } from "./error";
export { Response } from "./fetch";
export { Peer } from "./net";
