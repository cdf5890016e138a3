/**
 * Writes the seed corpus of every target into fuzz/corpus/<target>/ from the project's own
 * fixtures: the wire protocol's golden frames, ops and states of every CRDT family from the
 * property tests' generators (fixed seed), the default config file, the examples' policies, small
 * guest modules, and a few ABI call sequences. Run once when a format changes:
 *   npx node fuzz/make-seeds.ts
 * Inputs that `npm run fuzz -- TARGET --save` found sit beside them.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { renderConfigTemplate } from "../src/config/config-template.ts";
import { CRDT_FAMILIES } from "../src/crdt/op.ts";
import { encodeOp } from "../src/crdt/op-codec.ts";
import { encodeState } from "../src/crdt/state-codec.ts";
import { opArb } from "../src/crdt/testing/op-arbitraries.ts";
import { historyActions, playHistory } from "../src/crdt/testing/replica-history.ts";
import { FRAME_HEADER_BYTES } from "../src/net/frame.ts";
import { createSyncMessageCodec } from "../src/sync/crdt-op-codec.ts";
import { createSeededRandom } from "../src/sync/seeded-random.ts";
import { inputName } from "./fuzzer.ts";

const REPO_ROOT = new URL("../", import.meta.url).pathname;
const SEED = 20261206;
/** Guest modules up to this size are seeds of the wasm target (its inputs are cut at 16 KiB). */
const WASM_SEED_BYTES_MAX = 8 * 1024;

function write(target: string, inputs: readonly Uint8Array[]): void {
  const dir = join(REPO_ROOT, "fuzz/corpus", target);
  mkdirSync(dir, { recursive: true });
  for (const input of inputs) writeFileSync(join(dir, inputName(input)), input);
  process.stdout.write(`${target}: ${inputs.length} seeds\n`);
}

function filesIn(dir: string, suffix: string): string[] {
  return readdirSync(join(REPO_ROOT, dir))
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => join(REPO_ROOT, dir, name));
}

const frames = filesIn("test/net/fixtures", ".bin").map((path) => new Uint8Array(readFileSync(path)));
write("frame", frames);

const ops = fc.sample(opArb, { seed: SEED, numRuns: 12 });
const codec = createSyncMessageCodec();
const withFormatByte = (format: "msgpack" | "json", body: Uint8Array) =>
  Uint8Array.from([format === "msgpack" ? 0 : 1, ...body]);
for (const format of ["msgpack", "json"] as const) {
  const bodies: Uint8Array[] = filesIn("test/net/fixtures", `.${format}.bin`)
    .filter((path) => !path.includes("PushOps."))
    .map((path) => new Uint8Array(readFileSync(path)).subarray(FRAME_HEADER_BYTES));
  bodies.push(codec.encode({ type: "PushOps", batchId: 3, ops: ops.slice(0, 4) }, format));
  write(`message-${format}`, bodies);
}

write(
  "op",
  ops.flatMap((op) => [
    withFormatByte("msgpack", encodeOp(op, "msgpack")),
    withFormatByte("json", encodeOp(op, "json")),
  ]),
);

const states = CRDT_FAMILIES.flatMap((family) =>
  fc.sample(historyActions(), { seed: SEED, numRuns: 2 }).map((actions) => ({
    family,
    cells: playHistory(family, actions).states[0],
  })),
);
write(
  "state",
  states.flatMap((state) => [
    withFormatByte("msgpack", encodeState(state as never, "msgpack")),
    withFormatByte("json", encodeState(state as never, "json")),
  ]),
);

const encoder = new TextEncoder();
write("config", [encoder.encode(renderConfigTemplate())]);

const policies = readdirSync(join(REPO_ROOT, "examples"))
  .sort()
  .flatMap((example) => {
    try {
      return filesIn(`examples/${example}/build`, ".policy.toml");
    } catch {
      return [];
    }
  });
write(
  "policy",
  policies.map((path) => new Uint8Array(readFileSync(path))),
);

const modules = filesIn("test/guests/build", ".wasm").filter(
  (path) => statSync(path).size <= WASM_SEED_BYTES_MAX,
);
write(
  "wasm",
  modules.map((path) => new Uint8Array(readFileSync(path))),
);

const random = createSeededRandom(SEED);
write(
  "abi",
  Array.from({ length: 8 }, (_, index) => random.fill(new Uint8Array(64 + index * 32))),
);
