#!/usr/bin/env node
// Entry of `npm run demo:examples` and `npm run cluster`: refuses an older Node in one line, then
// runs run-cluster.ts.
import { refuseOlderNode } from "./node-version.mjs";

refuseOlderNode(
  "run-cluster",
  "use `npm run demo:examples` or `npm run cluster -- <example>` (npm ci installs Node 26 there)",
);
await import("./run-cluster.ts");
