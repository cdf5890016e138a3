/**
 * The HTTP handler host calls (docs/host-api.md, "HTTP handlers") through the real wasm
 * boundary: what they answer outside a request, and with a request (src/serve/guest-request.ts).
 */
import assert from "node:assert/strict";
import { validateHeaderValue } from "node:http";
import { describe, test } from "node:test";
import { GuestRequest } from "../../src/serve/guest-request.ts";
import { AbiContext } from "../../src/wasm/abi/abi-context.ts";
import type { GuestMemoryRef } from "../../src/wasm/abi/guest-memory.ts";
import { createHttpImports } from "../../src/wasm/abi/http-imports.ts";
import type { HttpPort } from "../../src/wasm/abi/http-port.ts";
import { NX_FUNCTION_SIGNATURES } from "../../src/wasm/abi/nx-signatures.ts";
import { compileWat, recordingEnvironment, text, trampolineGuest, trampolineWat, utf8 } from "./harness.ts";

const HTTP_FUNCTIONS = [
  "req_method",
  "req_path",
  "req_query",
  "req_param",
  "req_header",
  "req_body",
  "resp_status",
  "resp_header",
  "resp_write",
  "route_add",
  "sse_start",
  "sse_send",
  "sse_forward",
  "ws_send",
  "ws_forward",
] as const;

const NAME = 1024;
const VALUE = 2048;
const OUT = 4096;

/** A guest whose http imports reach `port`. */
async function httpGuest(port: HttpPort) {
  const bytes = await compileWat(
    trampolineWat(HTTP_FUNCTIONS.map((name) => ["nx", name, NX_FUNCTION_SIGNATURES.get(name)![0]!] as const)),
  );
  const { env } = recordingEnvironment();
  const memoryRef: GuestMemoryRef = { memory: undefined };
  const nx = createHttpImports(new AbiContext(env, memoryRef), () => port);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { nx });
  const memory = instance.exports.memory as WebAssembly.Memory;
  memoryRef.memory = memory;
  const call = (name: string, ...args: number[]) =>
    (instance.exports[name] as (...a: number[]) => number)(...args);
  const write = (ptr: number, value: string): number => {
    const bytes = utf8(value);
    new Uint8Array(memory.buffer).set(bytes, ptr);
    return bytes.length;
  };
  const read = (ptr: number, len: number) => text(new Uint8Array(memory.buffer).slice(ptr, ptr + len));
  /** A named read (`req_param`, `req_header`): the value, or the code. */
  const named = (fn: string, name: string, cap = 256): string | number => {
    const n = call(fn, NAME, write(NAME, name), OUT, cap);
    return n < 0 ? n : read(OUT, n);
  };
  /** Puts raw bytes (not UTF-8 text) at `ptr`; their length. */
  const writeBytes = (ptr: number, bytes: readonly number[]): number => {
    new Uint8Array(memory.buffer).set(bytes, ptr);
    return bytes.length;
  };
  return {
    call,
    write,
    writeBytes,
    read,
    named,
    u32: (ptr: number) => new DataView(memory.buffer).getUint32(ptr, true),
  };
}

function request(): GuestRequest {
  return new GuestRequest({
    method: "POST",
    rawPath: "/hello/ada%20l/x%zz",
    query: "a=1&b=%20",
    headers: { "content-type": "text/plain", "x-many": ["one", "two"] },
    params: { name: "ada l", "*": "rest/of" },
    body: utf8("the body"),
  });
}

describe("HTTP handler host calls", () => {
  test("outside a request process every one of them answers -1", async () => {
    const guest = await trampolineGuest(recordingEnvironment().env);
    for (const name of HTTP_FUNCTIONS) {
      const arity = NX_FUNCTION_SIGNATURES.get(name)![0]!.params.length;
      assert.equal(guest.call(name, ...Array.from({ length: arity }, () => 0)), -1, name);
    }
  });

  test("the request's parts: method, decoded path, raw query, params, headers, body; -2 says the size", async () => {
    const guest = await httpGuest({ request: request() });
    const read = (fn: string) => {
      const n = guest.call(fn, OUT, 256);
      return n < 0 ? n : guest.read(OUT, n);
    };
    assert.equal(read("req_method"), "POST");
    assert.equal(read("req_path"), "/hello/ada%20l/x%zz", "a malformed escape keeps the path as sent");
    assert.equal(read("req_query"), "a=1&b=%20");
    assert.equal(read("req_body"), "the body");
    assert.equal(guest.named("req_param", "name"), "ada l");
    assert.equal(guest.named("req_param", "*"), "rest/of");
    assert.equal(guest.named("req_param", "nope"), -1);
    assert.equal(guest.named("req_param", "__proto__"), -1);
    assert.equal(guest.named("req_header", "Content-Type"), "text/plain");
    assert.equal(guest.named("req_header", "X-MANY"), "one, two");
    assert.equal(guest.named("req_header", "absent"), -1);
    assert.equal(guest.named("req_header", "__proto__"), -1);
    assert.equal(guest.named("req_param", "name", 4), -2);
    assert.equal(guest.u32(OUT), 5, "the size needed is written at out_ptr");
  });

  test("the response: status, headers and body are checked and collected until the handler ends", async () => {
    const req = request();
    const guest = await httpGuest({ request: req });
    const header = (name: string, value: string) =>
      guest.call("resp_header", NAME, guest.write(NAME, name), VALUE, guest.write(VALUE, value));
    assert.equal(guest.call("resp_status", 99), -3);
    // node:http writes a 1xx as the status line and the client waits for a final one that never comes.
    for (const informational of [100, 101, 103, 199])
      assert.equal(guest.call("resp_status", informational), -3);
    assert.equal(guest.call("resp_status", 600), -3);
    assert.equal(guest.call("resp_status", 201), 0);
    assert.equal(header("x-ok", "fine"), 0);
    assert.equal(header("x-bad", "a\r\nb: c"), -3);
    assert.equal(header("bad name", "v"), -3);
    assert.equal(header("Content-Length", "1"), -3);
    assert.equal(guest.call("resp_write", VALUE, guest.write(VALUE, "hello ")), 0);
    assert.equal(guest.call("resp_write", VALUE, guest.write(VALUE, "there")), 0);
    const response = req.close();
    assert.equal(response.status, 201);
    assert.deepEqual(response.headers, [["x-ok", "fine"]]);
    assert.equal(text(Buffer.concat(response.body)), "hello there");
    assert.equal(guest.call("resp_write", VALUE, 1), -3, "once the handler ended");
  });

  test("resp_header takes a value byte exactly when node:http can write it (any other control byte answers -3)", async () => {
    const req = request();
    const guest = await httpGuest({ request: req });
    for (let byte = 0; byte < 256; byte++) {
      const length = guest.writeBytes(VALUE, [0x61, byte, 0x62]);
      const value = String.fromCharCode(0x61, byte, 0x62);
      let writable = true;
      try {
        validateHeaderValue("x-byte", value);
      } catch {
        writable = false;
      }
      // A value taken but refused by node:http threw as the response was written, at the end of
      // the turn: an uncaught exception that stopped the node.
      const answer = guest.call("resp_header", NAME, guest.write(NAME, "x-byte"), VALUE, length);
      assert.equal(answer, writable ? 0 : -3, `byte 0x${byte.toString(16)}`);
    }
  });

  test("a header name and value reach the response one char per byte, 0x80-0x9F too (latin1, not windows-1252)", async () => {
    const req = request();
    const guest = await httpGuest({ request: req });
    // Bytes, not UTF-8 text: what a guest may put in a header value (obs-text, RFC 9110).
    const raw = [0x61, 0x80, 0x85, 0x9f, 0xa0, 0xe9, 0xff];
    const length = guest.writeBytes(VALUE, raw);
    assert.equal(guest.call("resp_header", NAME, guest.write(NAME, "x-raw"), VALUE, length), 0);
    const [[name, value]] = req.close().headers as [[string, string]];
    assert.equal(name, "x-raw");
    assert.deepEqual(
      [...value].map((char) => char.charCodeAt(0)),
      raw,
      "windows-1252 would make 0x80 U+20AC, which node:http then sends as 0xAC",
    );
  });

  test("sse_send and sse_forward answer -1 before sse_start; a refused sse_start answers -3 and marks the request", async () => {
    const req = new GuestRequest({
      method: "GET",
      rawPath: "/events",
      query: "",
      headers: {},
      params: {},
      body: new Uint8Array(0),
      openStream: () => undefined,
    });
    const guest = await httpGuest({ request: req });
    assert.equal(guest.call("sse_send", NAME, 0, VALUE, guest.write(VALUE, "tick 0")), -1);
    assert.equal(guest.call("sse_forward", NAME, guest.write(NAME, "chat/*")), -1);
    assert.equal(guest.call("sse_start"), -3, "past the listener's stream cap");
    assert.equal(req.streamRefused, true);
    assert.equal(guest.call("sse_start"), -3, "asked once");
  });

  test("ws_send and ws_forward answer -1 in a handler whose request is not a WebSocket, and outside any request", async () => {
    const guest = await httpGuest({ request: request() });
    assert.equal(guest.call("ws_send", VALUE, guest.write(VALUE, "hi"), 0), -1);
    assert.equal(guest.call("ws_forward", NAME, guest.write(NAME, "chat/*")), -1);
    const outside = await httpGuest({});
    assert.equal(outside.call("ws_send", VALUE, outside.write(VALUE, "hi"), 1), -1);
  });

  test("route_add hands method, path and handler to the route sink", async () => {
    const added: string[] = [];
    const guest = await httpGuest({
      routes: {
        add: (method, path, handler) => {
          added.push(`${method} ${path} ${handler}`);
          return 0;
        },
      },
    });
    const m = guest.write(NAME, "GET");
    const p = guest.write(VALUE, "/hello/:name");
    const h = guest.write(OUT, "hello");
    assert.equal(guest.call("route_add", NAME, m, VALUE, p, OUT, h), 0);
    assert.equal(guest.call("route_add", NAME, 0, VALUE, p, OUT, h), -3, "an empty method");
    assert.deepEqual(added, ["GET /hello/:name hello"]);
    assert.equal(guest.call("req_method", OUT, 16), -1, "no request in a route declaration");
  });
});
