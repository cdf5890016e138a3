/**
 * A real node for the hot reload tests, in process (LMDB on disk, HTTP on a real socket): module
 * `app` from `appPath`, a `--serve` listener of the modules' default routes, and a module loader
 * as `nx run`'s (read, validate, compile, check imports) that the host uses to add and reload.
 */
import { join } from "node:path";
import { resolveConfig } from "../../src/config/resolve.ts";
import { type NumaxNode, startNumaxNode } from "../../src/node/numax-node.ts";
import { SERVE_LIMITS_DEFAULT } from "../../src/serve/serve-limits.ts";
import type { StaticMount } from "../../src/serve/static-files.ts";
import { checkImports } from "../../src/wasm/guest-imports.ts";
import {
  type GuestModule,
  loadGuestModuleBytes,
  loadGuestModuleFile,
} from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { type LogRecord, recordingLogger } from "../abi/harness.ts";

export interface ReloadNodeOptions {
  /** The temporary directory: the datastore goes in `data/`. */
  readonly dir: string;
  readonly appPath: string;
  /** Info, warn and error lines of the node. */
  readonly records: LogRecord[];
  /** Configuration flags beside the datastore path (`network.listen`: sync). */
  readonly flags?: Readonly<Record<string, string | boolean>>;
  readonly moduleStaticMounts?: ReadonlyMap<string, readonly StaticMount[]>;
  /** Runs once each added or reloaded module's code is loaded, before the host gets it. */
  readonly loaded?: () => Promise<void>;
}

export async function startReloadNode(options: ReloadNodeOptions): Promise<NumaxNode> {
  const { config } = await resolveConfig({
    flags: { "storage.datastore_path": join(options.dir, "data"), ...options.flags },
    env: {},
    configPath: undefined,
  });
  const logger = recordingLogger(options.records, ["info", "warn", "error"]);
  const loadOptions = {
    memoryMaxBytes: 64 * 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger }),
    logger,
  };
  const load = async (path: string, bytes: Uint8Array | undefined): Promise<GuestModule> => {
    const module =
      bytes === undefined
        ? await loadGuestModuleFile(path, loadOptions)
        : await loadGuestModuleBytes(bytes, path, loadOptions);
    checkImports(module.label, module.imports);
    return module;
  };
  return startNumaxNode({
    config,
    logger,
    needsStore: true,
    version: () => "0.0.0",
    modules: {
      modules: [await load(options.appPath, undefined)],
      moduleSettings: new Map(),
      shutdownTimeoutMs: 5000,
      loadModule: async ({ path, bytes, moduleId }) => {
        const module = await load(path, bytes);
        await options.loaded?.();
        return moduleId === module.moduleId ? module : { ...module, moduleId };
      },
    },
    serve: {
      listeners: [
        {
          where: "--serve",
          listen: { host: "127.0.0.1", port: 0 },
          limits: SERVE_LIMITS_DEFAULT,
          routes: undefined,
        },
      ],
      moduleStaticMounts: options.moduleStaticMounts,
      cpuMsPerRequest: 1000,
      shutdownTimeoutMs: 5000,
      profile: "trusted",
    },
  });
}
