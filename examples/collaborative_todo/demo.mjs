#!/usr/bin/env node
// Entry of `npm run demo`: refuses an older Node in one line, then runs demo.ts.
import { refuseOlderNode } from "../node-version.mjs";

refuseOlderNode("todo-demo", "use `npm run demo` (npm ci installs Node 26 there)");
await import("./demo.ts");
