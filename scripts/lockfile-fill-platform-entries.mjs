#!/usr/bin/env node
// The package registry reachable here does not serve every platform build of packages such as
// @biomejs/biome or msgpackr-extract, so `npm install` leaves their optional, other-platform
// packages out of package-lock.json and `npm ci` then rejects the lock as out of sync.
// This adds each missing optional dependency as a platform-gated entry (os/cpu from its name),
// which `npm ci` skips on every machine whose platform does not match.
// Run after `npm install` changes the lock: node scripts/lockfile-fill-platform-entries.mjs
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const packages = lock.packages;
const platformOf = (name) => {
  const os = ["android", "darwin", "freebsd", "linux", "openbsd", "sunos", "win32", "aix"].find((o) =>
    name.includes(`-${o}-`),
  );
  const cpu = ["arm64", "x64", "arm", "ia32", "ppc64", "s390x", "riscv64", "loong64"].find(
    (c) => name.endsWith(`-${c}`) || name.includes(`-${c}-`),
  );
  return { os, cpu, libc: name.endsWith("-musl") ? "musl" : undefined };
};
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (packages[key] || packages[`${path}/${key}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu) continue;
    packages[key] = {
      version: version.replace(/^[\^~]/, ""),
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform-gated optional entries to package-lock.json`);
