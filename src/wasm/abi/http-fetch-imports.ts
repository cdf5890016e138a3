import { ERR_FETCH_DENIED, ERR_INTERNAL, ERR_NOT_FOUND } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { VALUE_BYTES_MAX } from "./abi-limits.ts";
import { GuestInputError, inputCopy, inputView, outputPointer } from "./guest-input.ts";
import { writeBytes } from "./guest-output.ts";
import type { FetchRequest } from "./http-fetch-port.ts";

/** Longest URL `http_fetch` takes. */
export const HTTP_FETCH_URL_BYTES_MAX = 8 * 1024;
/** Longest header block `http_fetch` takes (every `name: value` line together). */
export const HTTP_FETCH_HEADERS_BYTES_MAX = 64 * 1024;
/** Longest method name. */
const METHOD_BYTES_MAX = 32;

const latin1 = new TextDecoder("latin1");

function headerLines(block: string): [string, string][] {
  const headers: [string, string][] = [];
  for (const line of block.split("\n")) {
    const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (trimmed === "") continue;
    const colon = trimmed.indexOf(":");
    if (colon <= 0) throw new GuestInputError(`header line without "name:": ${trimmed.slice(0, 64)}`);
    headers.push([trimmed.slice(0, colon).trim(), trimmed.slice(colon + 1).trim()]);
  }
  return headers;
}

/** `(method_ptr, method_len, url_ptr, url_len, headers_ptr, headers_len, body_ptr, body_len)` */
type FetchArgs = [number, number, number, number, number, number, number, number];

/** The last response of one instance, read by `http_response_headers` / `http_response_body`. */
interface HeldResponse {
  readonly headers: Uint8Array;
  readonly body: Uint8Array;
}

/**
 * `http_fetch` and its two readers for one guest instance (docs/host-api.md, "Outbound HTTP").
 * `http_fetch` returns a promise: the runtime installs it as a suspending import (JSPI), so the
 * guest's stack parks while the request runs and the node serves others. The instance keeps
 * only its latest response; {@link HttpFetchImports.reset} drops it when a pooled instance
 * starts a new life, so no response outlives the process that fetched it.
 */
export interface HttpFetchImports {
  readonly http_fetch: (...args: FetchArgs) => Promise<number>;
  readonly http_response_headers: (outPtr: number, outCap: number) => number;
  readonly http_response_body: (outPtr: number, outCap: number) => number;
  reset(): void;
}

export function createHttpFetchImports(ctx: AbiContext): HttpFetchImports {
  const { views } = ctx;
  let held: HeldResponse | undefined;

  function request(
    ...[methodPtr, methodLen, urlPtr, urlLen, headersPtr, headersLen, bodyPtr, bodyLen]: FetchArgs
  ): FetchRequest {
    const memory = views.bytes();
    const method = latin1.decode(inputView(memory, methodPtr, methodLen, METHOD_BYTES_MAX));
    const url = latin1.decode(inputView(memory, urlPtr, urlLen, HTTP_FETCH_URL_BYTES_MAX));
    const headers = headerLines(
      latin1.decode(inputView(memory, headersPtr, headersLen, HTTP_FETCH_HEADERS_BYTES_MAX)),
    );
    const body = bodyLen >>> 0 === 0 ? undefined : inputCopy(memory, bodyPtr, bodyLen, VALUE_BYTES_MAX);
    if (method === "" || url === "") throw new GuestInputError("empty method or URL");
    return { method, url, headers, body };
  }

  function read(part: keyof HeldResponse) {
    return ctx.guard(`http_response_${part}`, (outPtr: number, outCap: number): number => {
      const memory = views.bytes();
      const out = outputPointer(memory, outPtr, outCap);
      if (held === undefined) return ERR_NOT_FOUND;
      return writeBytes(memory, views.data(), out, outCap >>> 0, held[part]);
    });
  }

  return {
    http_fetch: async (...args: FetchArgs): Promise<number> => {
      held = undefined;
      let fetchRequest: FetchRequest;
      try {
        fetchRequest = request(...args);
      } catch (error) {
        return error instanceof GuestInputError ? ERR_INTERNAL : ctx.fail("http_fetch", error);
      }
      const fetcher = ctx.env.httpFetch;
      if (fetcher === undefined) return ERR_FETCH_DENIED;
      const outcome = await fetcher.fetch(fetchRequest);
      if (!outcome.ok) return outcome.code;
      const lines = outcome.headers.map(([name, value]) => `${name}: ${value}\n`).join("");
      // Header names and values are byte strings (one char per byte): latin1 gives the bytes back.
      held = { headers: Buffer.from(lines, "latin1"), body: outcome.body };
      return outcome.status;
    },
    http_response_headers: read("headers"),
    http_response_body: read("body"),
    reset: () => {
      held = undefined;
    },
  };
}
