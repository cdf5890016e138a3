import assert from "node:assert/strict";
import { test } from "node:test";
import { WasmReader } from "./wasm-reader.ts";

test("names are read as UTF-8, invalid bytes replaced, by one decoder for all of them", () => {
  const encoded = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return [bytes.length, ...bytes];
  };
  const reader = new WasmReader(Uint8Array.from([...encoded("env"), ...encoded("héllo"), 2, 0xff, 0x41]));
  const Original = globalThis.TextDecoder;
  let made = 0;
  globalThis.TextDecoder = class extends Original {
    constructor(...args: ConstructorParameters<typeof TextDecoder>) {
      super(...args);
      made++;
    }
  };
  try {
    assert.deepEqual([reader.name(), reader.name(), reader.name()], ["env", "héllo", "\ufffdA"]);
  } finally {
    globalThis.TextDecoder = Original;
  }
  assert.equal(made, 0);
});
