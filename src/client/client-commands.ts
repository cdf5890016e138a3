import { readFile } from "node:fs/promises";
import { NumaxError } from "../errors/numax-error.ts";
import { KEYS_PAGE_DEFAULT, KEYS_PAGE_MAX } from "../node/key-page.ts";
import { resolveClientTarget, type TargetOptions } from "./client-target.ts";
import {
  type KeysPage,
  type KeyView,
  type ModuleView,
  type NodeView,
  type PeerView,
  type ProcessView,
  renderKey,
  renderKeys,
  renderPeers,
  renderProcesses,
  renderStatus,
} from "./client-views.ts";
import { ManagementClient } from "./management-client.ts";

/** Most keys `nx keys --all` fetches, in pages of the API's largest page. */
export const CLIENT_KEYS_ALL_MAX = 100_000;

export interface ClientOptions extends TargetOptions {
  readonly json?: boolean;
}

export interface CommandOutput {
  write(text: string): unknown;
}

/**
 * The `nx` client commands (docs/cli.md "Client commands"): each resolves its node, makes its
 * requests through the management API, and prints a table for people or, with `--json`, the
 * API's JSON for scripts. Failures are ManagementClientErrors carrying the exit code.
 */
async function clientFor(options: TargetOptions): Promise<ManagementClient> {
  return new ManagementClient(await resolveClientTarget(options));
}

function print(out: CommandOutput, options: ClientOptions, value: unknown, text: () => string): void {
  out.write(options.json === true ? `${JSON.stringify(value, null, 2)}\n` : text());
}

export async function runStatus(options: ClientOptions, out: CommandOutput): Promise<void> {
  const client = await clientFor(options);
  const [node, modules, peers] = await Promise.all([
    client.get<NodeView>("/node"),
    client.get<ModuleView[]>("/modules"),
    client.get<PeerView[]>("/peers").catch(() => []),
  ]);
  print(out, options, { node, modules, peers }, () => renderStatus(node, modules, peers));
}

export async function runPs(options: ClientOptions, out: CommandOutput): Promise<void> {
  const processes = await (await clientFor(options)).get<ProcessView[]>("/processes");
  print(out, options, processes, () => renderProcesses(processes));
}

export async function runPeers(options: ClientOptions, out: CommandOutput): Promise<void> {
  const peers = await (await clientFor(options)).get<PeerView[]>("/peers");
  print(out, options, peers, () => renderPeers(peers));
}

export async function runPeersAdd(
  address: string,
  options: ClientOptions,
  out: CommandOutput,
): Promise<void> {
  const peer = await (await clientFor(options)).post<PeerView>("/peers", { address });
  print(out, options, peer, () => `added peer ${peer.address} (${peer.state})\n`);
}

export async function runPeersRemove(
  address: string,
  options: ClientOptions,
  out: CommandOutput,
): Promise<void> {
  await (await clientFor(options)).delete(`/peers/${encodeURIComponent(address)}`);
  print(out, options, { removed: address }, () => `removed peer ${address}\n`);
}

export async function runKeys(
  prefix: string | undefined,
  options: ClientOptions & { readonly limit?: number; readonly cursor?: string; readonly all?: boolean },
  out: CommandOutput,
): Promise<void> {
  const client = await clientFor(options);
  const page = (cursor: string | undefined, limit: number) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (prefix !== undefined) query.set("prefix", prefix);
    if (cursor !== undefined) query.set("cursor", cursor);
    return client.get<KeysPage>(`/keys?${query}`);
  };
  let list: KeysPage;
  if (options.all === true) {
    const keys: KeysPage["keys"][number][] = [];
    let cursor: string | null | undefined = options.cursor;
    do {
      const next: KeysPage = await page(cursor ?? undefined, KEYS_PAGE_MAX);
      keys.push(...next.keys);
      cursor = next.nextCursor;
    } while (cursor !== null && keys.length < CLIENT_KEYS_ALL_MAX);
    list = { keys, nextCursor: cursor };
  } else {
    list = await page(options.cursor, options.limit ?? KEYS_PAGE_DEFAULT);
  }
  print(out, options, list, () => renderKeys(list));
}

export async function runGet(
  key: string,
  options: ClientOptions & { readonly family?: string },
  out: CommandOutput,
): Promise<void> {
  const query = options.family === undefined ? "" : `?family=${encodeURIComponent(options.family)}`;
  const view = await (await clientFor(options)).get<KeyView>(`/keys/${encodeURIComponent(key)}${query}`);
  print(out, options, view, () => renderKey(view));
}

export async function runReload(
  moduleId: string,
  file: string | undefined,
  options: ClientOptions,
  out: CommandOutput,
): Promise<void> {
  let bytes: Uint8Array | undefined;
  if (file !== undefined) {
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new NumaxError(
        "USAGE_RELOAD_FILE",
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  }
  const answer = await (await clientFor(options)).post<{ module: ModuleView; reloadMs: number }>(
    `/modules/${encodeURIComponent(moduleId)}/reload`,
    bytes,
  );
  print(
    out,
    options,
    answer,
    () =>
      `reloaded ${answer.module.id} in ${answer.reloadMs.toFixed(0)} ms (code sha256 ${answer.module.hash.slice(0, 12)}, reload ${answer.module.reloads})\n`,
  );
}
