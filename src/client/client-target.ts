import { readFile } from "node:fs/promises";
import { chooseConfigFile } from "../config/default-config-file.ts";
import { resolveConfig } from "../config/resolve.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import { NumaxError } from "../errors/numax-error.ts";
import { managementTokenFiles } from "../management/management-component.ts";
import { isUnspecifiedHost } from "../net/host-port.ts";
import type { ClientTarget } from "./management-client.ts";

/** What a client command was told about its node. */
export interface TargetOptions {
  /** `--node URL`: the management API's base URL. */
  readonly node?: string;
  /** `--token-file FILE`. */
  readonly tokenFile?: string;
  /** `--config FILE`: the local config whose `[management]` gives the defaults. */
  readonly config?: string;
}

/**
 * The node a client command talks to: `--node` and `--token-file` when given, else the local
 * configuration's `[management] listen` and `token_file` (numax.toml in the working directory,
 * or `--config`, with NX_* variables applied), as the node itself resolves them.
 */
export async function resolveClientTarget(options: TargetOptions): Promise<ClientTarget> {
  let url = options.node;
  let tokenFile = options.tokenFile;
  if (url === undefined || tokenFile === undefined) {
    const { config } = await resolveConfig({
      env: process.env,
      configPath: chooseConfigFile(options.config)?.path,
    });
    const management = config.management;
    if (url === undefined) {
      if (management.listen === "off") {
        throw usage(
          'the local configuration turns the management API off ([management] listen = "off"): pass --node URL',
        );
      }
      // A node listening on every interface is reached on loopback from here.
      const host = isUnspecifiedHost(management.listen.host) ? "127.0.0.1" : management.listen.host;
      const scheme = management.tlsCert === undefined ? "http" : "https";
      url = `${scheme}://${formatSocketAddress({ host, port: management.listen.port })}`;
    }
    tokenFile ??= managementTokenFiles(config).admin;
  }
  if (!/^https?:\/\//.test(url)) throw usage(`--node ${url}: give a URL such as http://127.0.0.1:9102`);
  return { url: url.replace(/\/+$/, ""), token: await readToken(tokenFile), tokenSource: tokenFile };
}

async function readToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usage(
      code === "ENOENT"
        ? `no token file at ${path}: the node writes it at its first start; pass --token-file FILE to use another`
        : `cannot read the token file ${path} (${code ?? String(error)})`,
    );
  }
  const token = text.trim();
  if (token.length === 0) throw usage(`the token file ${path} is empty`);
  return token;
}

/** Exit 2, as every usage error of `nx`. */
function usage(message: string): NumaxError {
  return new NumaxError("USAGE_CLIENT_TARGET", message);
}
