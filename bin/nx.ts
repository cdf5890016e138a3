#!/usr/bin/env node
import { enableCompileCache } from "node:module";

// Type stripping and compiling our sources costs most of a cold start; Node's on-disk compile
// cache (in the OS temp dir) makes every later `nx` start skip that work.
enableCompileCache();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
