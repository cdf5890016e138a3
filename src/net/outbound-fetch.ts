import type { Logger } from "../observe/logger.ts";
import {
  ERR_FETCH_DENIED,
  ERR_FETCH_FAILED,
  ERR_FETCH_TOO_LARGE,
  ERR_INTERNAL,
} from "../wasm/abi/abi-codes.ts";
import type { FetchOutcome, FetchRequest, OutboundFetch } from "../wasm/abi/http-fetch-port.ts";
import { FetchHostList } from "./fetch-host-list.ts";
import { RefusalLog } from "./refusal-log.ts";

/** Time from the start of an `http_fetch` to the response's status and headers (connect included). */
export const HTTP_FETCH_HEADERS_TIMEOUT_MS = 10_000;
/** Time from the start of an `http_fetch` to the last byte of the response body. */
export const HTTP_FETCH_TOTAL_TIMEOUT_MS = 30_000;
/** Largest response body `http_fetch` hands to a guest; a larger one answers -8. */
export const HTTP_FETCH_RESPONSE_BYTES_MAX = 8 * 1024 * 1024;
/** A denied host is logged once per module and host in this interval (the rest are counted). */
export const HTTP_FETCH_DENIED_LOG_INTERVAL_MS = 60_000;

export interface OutboundFetchOptions {
  readonly moduleId: string;
  /** `http_fetch_hosts` of the module, checked by the configuration; empty: every host denied. */
  readonly hosts: readonly string[];
  readonly logger: Logger;
  readonly nowMs: () => number;
  readonly headersTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly responseBytesMax?: number;
}

class ResponseTooLarge extends Error {}

/** The body of `response`, or {@link ResponseTooLarge} as soon as it passes `max` bytes. */
async function boundedBody(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new ResponseTooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body !== null) {
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > max) {
        await response.body.cancel().catch(() => {});
        throw new ResponseTooLarge();
      }
      chunks.push(chunk);
    }
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/**
 * The `http_fetch` of one module, over Node's fetch (undici): deny by default (a host not in the
 * module's list answers -6 before any DNS lookup or connection, with one rate-limited warning
 * naming module and host), redirects never followed (the guest gets the 3xx and may fetch its
 * `location`, which passes the same check), a time limit to the headers and one to the whole
 * response, and a bound on the body read.
 */
export function createOutboundFetch(options: OutboundFetchOptions): OutboundFetch {
  const hosts = new FetchHostList(options.hosts);
  const denials = new RefusalLog(options.logger, options.nowMs, HTTP_FETCH_DENIED_LOG_INTERVAL_MS);
  const headersTimeoutMs = options.headersTimeoutMs ?? HTTP_FETCH_HEADERS_TIMEOUT_MS;
  const totalTimeoutMs = options.totalTimeoutMs ?? HTTP_FETCH_TOTAL_TIMEOUT_MS;
  const responseBytesMax = options.responseBytesMax ?? HTTP_FETCH_RESPONSE_BYTES_MAX;
  return {
    async fetch(request: FetchRequest): Promise<FetchOutcome> {
      const url = URL.parse(request.url);
      if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
        return { ok: false, code: ERR_INTERNAL };
      }
      if (!hosts.allows(url)) {
        const message = `http_fetch denied: ${url.host} is not in [modules.${options.moduleId}] http_fetch_hosts (add it there to allow it)`;
        denials.report(options.moduleId, url.host, message, {
          module: options.moduleId,
          host: url.host,
        });
        return { ok: false, code: ERR_FETCH_DENIED };
      }
      const abort = new AbortController();
      let outgoing: Request;
      try {
        // Built before anything is sent: an invalid method or header is the guest's mistake
        // (-3), not a network failure. The same Request is then sent.
        outgoing = new Request(url, {
          method: request.method,
          headers: new Headers(request.headers as [string, string][]),
          body: request.body,
          redirect: "manual",
          signal: abort.signal,
        });
      } catch {
        return { ok: false, code: ERR_INTERNAL };
      }
      const headersTimer = setTimeout(() => abort.abort(), headersTimeoutMs);
      const totalTimer = setTimeout(() => abort.abort(), totalTimeoutMs);
      try {
        const response = await fetch(outgoing);
        clearTimeout(headersTimer);
        const body = await boundedBody(response, responseBytesMax);
        return { ok: true, status: response.status, headers: [...response.headers], body };
      } catch (error) {
        return {
          ok: false,
          code: error instanceof ResponseTooLarge ? ERR_FETCH_TOO_LARGE : ERR_FETCH_FAILED,
        };
      } finally {
        clearTimeout(headersTimer);
        clearTimeout(totalTimer);
      }
    },
  };
}
