import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** A static file the dashboard serves under `/assets/`. */
export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

const JS = "text/javascript; charset=utf-8";

/**
 * The dashboard's scripts and stylesheet by the name the pages link them with: the files of the
 * npm packages `htmx.org`, `htmx-ext-sse` and `@picocss/pico` as installed with Numax (no CDN,
 * no build step). The specifiers are literal so the runtime dependency check sees them.
 */
const ASSET_FILES: Readonly<Record<string, { readonly url: () => string; readonly contentType: string }>> = {
  "htmx.min.js": { url: () => import.meta.resolve("htmx.org/dist/htmx.min.js"), contentType: JS },
  "sse.min.js": { url: () => import.meta.resolve("htmx-ext-sse/dist/sse.min.js"), contentType: JS },
  "pico.classless.min.css": {
    url: () => import.meta.resolve("@picocss/pico/css/pico.classless.min.css"),
    contentType: "text/css; charset=utf-8",
  },
};

/** Reads every asset once, at the dashboard's start (a missing package fails the start with its path). */
export async function loadDashboardAssets(): Promise<ReadonlyMap<string, DashboardAsset>> {
  const entries = await Promise.all(
    Object.entries(ASSET_FILES).map(async ([name, { url, contentType }]) => {
      const body = await readFile(fileURLToPath(url()));
      return [name, { contentType, body }] as const;
    }),
  );
  return new Map(entries);
}
