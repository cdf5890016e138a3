import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/config-error.ts";
import { parseConfigText } from "../../src/config/config-file.ts";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { PolicyError } from "../../src/policy/policy-error.ts";
import { parsePolicyBytes } from "../../src/policy/policy-file.ts";
import { validateAndInstrument } from "../../src/wasm/compile-guest-module.ts";
import { ModuleLoadError } from "../../src/wasm/module-load-error.ts";
import { dictionaryOf, type FuzzTarget } from "../fuzz-target.ts";

const TOML_TOKENS = dictionaryOf(
  "[node]\n",
  "[sync]\n",
  "[tls]\n",
  "[modules.a]\n",
  "[[serve]]\n",
  "[policy]\n",
  "[capabilities]\n",
  " = ",
  '"',
  "'''",
  "\n",
  "[",
  "]",
  "{",
  "}",
  "true",
  "-1",
  "1e400",
  "0x",
  "listen",
  "peers",
  "max_message_size",
  '"64KiB"',
  "datastore_path",
  "db.read",
  '["kv/*"]',
);

/**
 * The config file: TOML parsed, then resolved against the schema. A bad file is an issue or a
 * ConfigError listing the problems; nothing else may escape.
 */
export const configTarget: FuzzTarget = {
  name: "config",
  description: "numax.toml: parsed and resolved; refused only as a config issue or ConfigError",
  inputBytesMax: 4096,
  dictionary: TOML_TOKENS,
  run(input) {
    const parsed = parseConfigText(Buffer.from(input).toString("utf8"), "fuzz.toml");
    if (!parsed.ok) return;
    try {
      resolveConfigLayers({ file: { path: "fuzz.toml", table: parsed.table } });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  },
};

/** A module's policy file (docs/design/policies.md): parsed or refused with a PolicyError. */
export const policyTarget: FuzzTarget = {
  name: "policy",
  description: "policy files: parsed or refused with a PolicyError",
  inputBytesMax: 4096,
  dictionary: TOML_TOKENS,
  run(input) {
    try {
      parsePolicyBytes(input, "fuzz.policy.toml");
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
    }
  },
};

const MEMORY_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The loader's validation and instrumentation of a module file: refused with a ModuleLoadError,
 * or instrumented into a module that still validates.
 */
export const wasmTarget: FuzzTarget = {
  name: "wasm",
  description: "WebAssembly validation and instrumentation: a ModuleLoadError, or an output that validates",
  inputBytesMax: 16 * 1024,
  dictionary: dictionaryOf(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    [0x01],
    [0x02],
    [0x03],
    [0x05],
    [0x07],
    [0x0a],
    [0x0b],
    [0x60, 0x00, 0x00],
    [0x03, 0x01, 0x00],
    [0x02, 0x40],
    [0x03, 0x40],
    [0x0c, 0x00],
    [0x0f],
    "run",
    "memory",
    "__nx_fuel",
    "init",
  ),
  run(input) {
    let instrumented: { bytes: Uint8Array };
    try {
      instrumented = validateAndInstrument(input, "fuzz.wasm", MEMORY_MAX_BYTES);
    } catch (error) {
      if (error instanceof ModuleLoadError) return;
      throw error;
    }
    assert.ok(WebAssembly.validate(instrumented.bytes), "the instrumented module does not validate");
  },
};
