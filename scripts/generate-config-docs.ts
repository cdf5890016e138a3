// Regenerates the reference table of docs/configuration.md from the config schema.
// Run after changing src/config/schema.ts: node scripts/generate-config-docs.ts
import { readFile, writeFile } from "node:fs/promises";
import { updateConfigReference } from "../src/config/config-reference.ts";

const path = new URL("../docs/configuration.md", import.meta.url);
const before = await readFile(path, "utf8");
const after = updateConfigReference(before);
if (after === before) {
  console.log("docs/configuration.md is up to date");
} else {
  await writeFile(path, after);
  console.log("docs/configuration.md updated");
}
