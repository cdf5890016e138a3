import type { ERR_FETCH_DENIED, ERR_FETCH_FAILED, ERR_FETCH_TOO_LARGE, ERR_INTERNAL } from "./abi-codes.ts";

/** One outbound request of `http_fetch`, as the guest wrote it (docs/host-api.md, "Outbound HTTP"). */
export interface FetchRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  /** Undefined: no body (`body_len = 0`). */
  readonly body: Uint8Array | undefined;
}

/** What one `http_fetch` ends with: a whole response, or the ABI code the guest gets. */
export type FetchOutcome =
  | {
      readonly ok: true;
      readonly status: number;
      /** Lowercase names, in the order received. */
      readonly headers: readonly (readonly [string, string])[];
      readonly body: Uint8Array;
    }
  | {
      readonly ok: false;
      /** -3 for an invalid URL, method or header (the guest's own mistake). */
      readonly code:
        | typeof ERR_FETCH_DENIED
        | typeof ERR_FETCH_FAILED
        | typeof ERR_FETCH_TOO_LARGE
        | typeof ERR_INTERNAL;
    };

/**
 * What `http_fetch` of one module reaches: the node builds one per module from its
 * `http_fetch_hosts` (src/net/outbound-fetch.ts). It never rejects.
 */
export interface OutboundFetch {
  fetch(request: FetchRequest): Promise<FetchOutcome>;
}
