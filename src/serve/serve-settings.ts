import type { SocketAddress } from "../config/socket-address.ts";
import type { Route } from "./route-entry.ts";
import type { ServeLimits } from "./serve-limits.ts";
import type { StaticMount } from "./static-files.ts";

/** One HTTP listener of the node: a `[[serve]]` table or `--serve ADDR`. */
export interface ServeSettings {
  /** What messages call it: `[[serve]] #1 (numax.toml)`, `--serve`. */
  readonly where: string;
  readonly listen: SocketAddress;
  /** PEM files (`nx cert` material works): HTTPS. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly limits: ServeLimits;
  /** CPU budget of one request's handler here; undefined: the node's (`limits.cpu_ms_per_run`, else 1 s). */
  readonly cpuMsPerRequest?: number;
  /** The routes; undefined: every module's default routes (`--serve`). */
  readonly routes: readonly Route[] | undefined;
  /** Directories served as files (`[serve.static]`); none with `--serve`. */
  readonly staticMounts?: readonly StaticMount[];
  /** The keys its `[[serve]]` table sets (what `nx config show` says the file set); absent for `--serve`. */
  readonly fileKeys?: ReadonlySet<string>;
}
