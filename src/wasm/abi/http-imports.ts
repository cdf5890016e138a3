import { ERR_INTERNAL, ERR_NOT_FOUND } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import { GuestInputError, inputCopy, inputView, outputPointer } from "./guest-input.ts";
import { writeBytes } from "./guest-output.ts";
import { allowsSubscription } from "./host-call-policy.ts";
import type { HttpPort, RequestPort } from "./http-port.ts";
import { binaryInput } from "./process-imports.ts";

/** Event names and data are text: an invalid sequence becomes U+FFFD. */
const utf8 = new TextDecoder("utf-8");

/** Longest route path `route_add` takes (src/serve/route-table.ts refuses longer ones anyway). */
const ROUTE_TEXT_BYTES_MAX = 4096;

/**
 * The host calls of HTTP handlers (docs/host-api.md): `req_*` read the request of the process,
 * `resp_*` build its response, `route_add` declares a default route while the module's `routes`
 * export runs. `port` answers the current process's {@link HttpPort}; without one (any other
 * process, a guest outside a node) every call answers -1.
 */
export function createHttpImports(
  ctx: AbiContext,
  port: () => HttpPort | undefined,
): Record<string, (...args: never[]) => number> {
  const { views } = ctx;
  function write(outPtr: number, outCap: number, bytes: Uint8Array | undefined): number {
    if (bytes === undefined) return ERR_NOT_FOUND;
    const memory = views.bytes();
    const out = outputPointer(memory, outPtr, outCap);
    return writeBytes(memory, views.data(), out, outCap >>> 0, bytes);
  }
  /**
   * Names, methods, paths and header values: ASCII, or bytes read one char per byte (never
   * fails), which node:http writes back as the same bytes. Not a TextDecoder("latin1"): that is
   * windows-1252 (0x80 becomes U+20AC, sent as 0xAC) and decodes in JavaScript, about 1 µs of
   * every request that sets a header.
   */
  function text(ptr: number, len: number, max: number): string {
    return binaryInput(views.bytes(), ptr, len, max);
  }
  function requestRead(name: string, part: (request: RequestPort) => Uint8Array) {
    return ctx.guard(name, (outPtr: number, outCap: number): number => {
      const request = port()?.request;
      return request === undefined ? ERR_NOT_FOUND : write(outPtr, outCap, part(request));
    });
  }
  function namedRead(name: string, part: (request: RequestPort, key: string) => Uint8Array | undefined) {
    return ctx.guard(name, (namePtr: number, nameLen: number, outPtr: number, outCap: number): number => {
      const request = port()?.request;
      if (request === undefined) return ERR_NOT_FOUND;
      return write(outPtr, outCap, part(request, text(namePtr, nameLen, KEY_BYTES_MAX)));
    });
  }
  return {
    req_method: requestRead("req_method", (request) => request.method),
    req_path: requestRead("req_path", (request) => request.path),
    req_query: requestRead("req_query", (request) => request.query),
    req_body: requestRead("req_body", (request) => request.body),
    req_param: namedRead("req_param", (request, key) => request.param(key)),
    req_header: namedRead("req_header", (request, key) => request.header(key)),
    resp_status: ctx.guard("resp_status", (status: number): number => {
      return port()?.request?.setStatus(status >>> 0) ?? ERR_NOT_FOUND;
    }),
    resp_header: ctx.guard(
      "resp_header",
      (namePtr: number, nameLen: number, valuePtr: number, valueLen: number): number => {
        const request = port()?.request;
        if (request === undefined) return ERR_NOT_FOUND;
        return request.setHeader(
          text(namePtr, nameLen, KEY_BYTES_MAX),
          text(valuePtr, valueLen, VALUE_BYTES_MAX),
        );
      },
    ),
    resp_write: ctx.guard("resp_write", (ptr: number, len: number): number => {
      const request = port()?.request;
      if (request === undefined) return ERR_NOT_FOUND;
      return request.write(inputCopy(views.bytes(), ptr, len, VALUE_BYTES_MAX));
    }),
    sse_start: ctx.guard("sse_start", (): number => port()?.request?.sseStart() ?? ERR_NOT_FOUND),
    sse_send: ctx.guard(
      "sse_send",
      (namePtr: number, nameLen: number, dataPtr: number, dataLen: number): number => {
        const request = port()?.request;
        if (request === undefined) return ERR_NOT_FOUND;
        const memory = views.bytes();
        return request.sseSend(
          utf8.decode(inputView(memory, namePtr, nameLen, KEY_BYTES_MAX)),
          utf8.decode(inputView(memory, dataPtr, dataLen, VALUE_BYTES_MAX)),
        );
      },
    ),
    sse_forward: ctx.guard("sse_forward", (ptr: number, len: number): number => {
      const request = port()?.request;
      if (request === undefined) return ERR_NOT_FOUND;
      const pattern = text(ptr, len, KEY_BYTES_MAX);
      return allowsSubscription(ctx.env.policy, "sse_forward", pattern)
        ? request.sseForward(pattern)
        : ERR_INTERNAL;
    }),
    ws_send: ctx.guard("ws_send", (ptr: number, len: number, binary: number): number => {
      const request = port()?.request;
      if (request === undefined) return ERR_NOT_FOUND;
      return request.wsSend(inputCopy(views.bytes(), ptr, len, VALUE_BYTES_MAX), binary !== 0);
    }),
    ws_forward: ctx.guard("ws_forward", (ptr: number, len: number): number => {
      const request = port()?.request;
      if (request === undefined) return ERR_NOT_FOUND;
      const pattern = text(ptr, len, KEY_BYTES_MAX);
      return allowsSubscription(ctx.env.policy, "ws_forward", pattern)
        ? request.wsForward(pattern)
        : ERR_INTERNAL;
    }),
    route_add: ctx.guard(
      "route_add",
      (
        methodPtr: number,
        methodLen: number,
        pathPtr: number,
        pathLen: number,
        handlerPtr: number,
        handlerLen: number,
      ): number => {
        const routes = port()?.routes;
        if (routes === undefined) return ERR_NOT_FOUND;
        const method = text(methodPtr, methodLen, KEY_BYTES_MAX);
        const path = text(pathPtr, pathLen, ROUTE_TEXT_BYTES_MAX);
        const handler = text(handlerPtr, handlerLen, KEY_BYTES_MAX);
        if (method === "" || path === "" || handler === "") throw new GuestInputError("empty route part");
        return routes.add(method, path, handler);
      },
    ),
  };
}
