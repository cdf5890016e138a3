import { NumaxError } from "../errors/numax-error.ts";

/** Exit code of a client command whose node answered an error (404, 409, 422, ...). */
export const EXIT_NODE_ERROR = 1;
/** Exit code of a client command that could not reach the node (refused, timed out, not HTTP). */
export const EXIT_NODE_UNREACHABLE = 3;
/** Exit code of a client command whose token the node refused (401). */
export const EXIT_UNAUTHORIZED = 4;

/** How long a client command waits for the node's answer. */
export const CLIENT_REQUEST_TIMEOUT_MS = 10_000;

/** Where a client command sends its requests, and the token it sends. */
export interface ClientTarget {
  /** The management API's base, e.g. `http://127.0.0.1:9102` (no `/api/v1`). */
  readonly url: string;
  readonly token: string;
  /** Where the token was read from, for the 401 line. */
  readonly tokenSource: string;
}

/**
 * A client command failed: `code` is stable for scripts, `exitCode` is the command's (see
 * docs/cli.md "Client commands"), `message` is the one line printed.
 */
export class ManagementClientError extends NumaxError {
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(code, message, { ...options, commandExitCode: exitCode });
  }
}

/** The typed error body every non-2xx answer of the API carries. */
interface ApiErrorBody {
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
}

/**
 * The `nx` client commands' side of the management API (docs/management-api.md): one request
 * per call, the bearer token on each, JSON in and out, every failure a ManagementClientError
 * with the exit code scripts rely on.
 */
export class ManagementClient {
  readonly #target: ClientTarget;

  constructor(target: ClientTarget) {
    this.#target = target;
  }

  get url(): string {
    return this.#target.url;
  }

  /** GET `/api/v1${path}`: the parsed JSON answer. */
  get<T>(path: string): Promise<T> {
    return this.#request("GET", path, undefined) as Promise<T>;
  }

  /** POST a JSON body, or raw bytes (a module file, sent as `application/wasm`). */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.#request("POST", path, body) as Promise<T>;
  }

  /** DELETE: resolves once the node answered 2xx. */
  async delete(path: string): Promise<void> {
    await this.#request("DELETE", path, undefined);
  }

  async #request(method: string, path: string, body: unknown): Promise<unknown> {
    const url = `${this.#target.url}/api/v1${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#target.token}` };
    let payload: string | Uint8Array | undefined;
    if (body instanceof Uint8Array) {
      headers["content-type"] = "application/wasm";
      payload = body;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(CLIENT_REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ManagementClientError(
        "CLIENT_NODE_UNREACHABLE",
        `cannot reach the node at ${this.#target.url}: ${reasonOf(error)} (is it running with its management API on? point at it with --node URL)`,
        EXIT_NODE_UNREACHABLE,
        { cause: error },
      );
    }
    const text = await response.text();
    if (response.ok) return text.length === 0 ? undefined : parseJson(text, url);
    if (response.status === 401) {
      throw new ManagementClientError(
        "CLIENT_UNAUTHORIZED",
        `the node at ${this.#target.url} refused the token from ${this.#target.tokenSource} (401): use the node's token file with --token-file FILE`,
        EXIT_UNAUTHORIZED,
      );
    }
    const error = (tryParseJson(text) as ApiErrorBody | undefined)?.error;
    const code = typeof error?.code === "string" ? error.code : `HTTP_${response.status}`;
    const message = typeof error?.message === "string" ? error.message : text.trim().slice(0, 200);
    throw new ManagementClientError(
      "CLIENT_NODE_ERROR",
      `the node answered ${response.status} ${code}: ${message}`,
      EXIT_NODE_ERROR,
    );
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError")
    return `no answer within ${CLIENT_REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause?.code === "ECONNREFUSED") return "connection refused";
  if (typeof cause?.code === "string") return cause.code;
  return error instanceof Error ? error.message : String(error);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseJson(text: string, url: string): unknown {
  const value = tryParseJson(text);
  if (value === undefined) {
    throw new ManagementClientError(
      "CLIENT_NODE_UNREACHABLE",
      `${url} did not answer JSON: is --node the management API's address (not the serving or metrics one)?`,
      EXIT_NODE_UNREACHABLE,
    );
  }
  return value;
}
