// Outbound HTTP (docs/host-api.md, "Outbound HTTP"): the guest waits (suspended, not burning its
// CPU budget) while the node serves others. Only hosts listed in the module's http_fetch_hosts
// (numax.toml) are reached; a denied host, a failed or timed-out request and a body over 8 MiB
// follow the error policy (abort by default; under OnError.Return the call returns null and
// lastError() says which). Redirects come back as they are (status 3xx, `location` header).
//
//   import { fetch } from "../../../sdk/assemblyscript/assembly";
//
//   const response = fetch.get("http://127.0.0.1:8080/status");
//   if (response != null && response.status == 200) log.info(response.text());

import { http_fetch, http_response_body, http_response_headers } from "./abi";
import { ArgSpan, fieldArg, keyArg, valueArg } from "./arg-span";
import { failed, succeeded } from "./error";
import { outputBytes, outputText, readOutput } from "./output-buffer";

const urlArg = new ArgSpan();

/** A whole response. */
export class Response {
  constructor(
    /** 100..599 */
    public status: i32,
    /** `name: value\n` lines, names lowercase, in the order received. */
    public headers: string,
    public body: Uint8Array,
  ) {}

  /** The first header named `name` (lowercase), or null. */
  header(name: string): string | null {
    const lines = this.headers.split("\n");
    const prefix = `${name}: `;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].startsWith(prefix)) return lines[i].substring(prefix.length);
    }
    return null;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return String.UTF8.decode(this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength));
  }
}

/**
 * Sends `method url` with `headers` (`Name: value` lines separated by "\n", "" for none) and
 * `body` (string, Uint8Array or ArrayBuffer; empty for none). Null when it failed (see above).
 */
export function request<T>(method: string, url: string, headers: string, body: T): Response | null {
  keyArg.of(method);
  urlArg.of(url);
  if (headers.length == 0) fieldArg.empty();
  else fieldArg.of(headers);
  valueArg.of(body);
  const status = http_fetch(keyArg.ptr, keyArg.len, urlArg.ptr, urlArg.len, fieldArg.ptr, fieldArg.len, valueArg.ptr, valueArg.len);
  if (!succeeded(status, "fetch.request", url)) return null;
  const headerBytes = readOutput((outPtr: usize, outCap: usize): i32 => http_response_headers(outPtr, outCap));
  if (headerBytes < 0) {
    failed(headerBytes, "fetch.request", url, "response headers unreadable");
    return null;
  }
  const headerText = outputText(headerBytes);
  const bodyBytes = readOutput((outPtr: usize, outCap: usize): i32 => http_response_body(outPtr, outCap));
  if (bodyBytes < 0) {
    failed(bodyBytes, "fetch.request", url, "response body unreadable");
    return null;
  }
  return new Response(status, headerText, outputBytes(bodyBytes));
}

/** `GET url` with `headers` (see {@link request}). */
export function get(url: string, headers: string = ""): Response | null {
  return request<string>("GET", url, headers, "");
}
