import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { NumaxError } from "../errors/numax-error.ts";

/** Languages `nx new` scaffolds and `nx dev` builds. */
export const GUEST_LANGUAGES = ["assemblyscript", "c"] as const;
export type GuestLanguage = (typeof GUEST_LANGUAGES)[number];

/**
 * A guest project as `nx new` lays it out (docs/hot-reload.md): AssemblyScript sources under
 * `assembly/` (entry `assembly/index.ts`, compiler options in `asconfig.json`), or C sources
 * next to `main.c`; the module is built into `build/<name>.wasm`.
 */
export interface GuestProject {
  readonly dir: string;
  /** The module's name and id: `package.json`'s name, else the directory's name. */
  readonly name: string;
  readonly language: GuestLanguage;
  /** The file the compiler starts from. */
  readonly entry: string;
  readonly output: string;
  /** What `nx dev` watches: a change under it means a rebuild. */
  readonly sourceDir: string;
  /** `<name>.policy.toml` in the project's directory (what `nx new` writes), when there is one. */
  readonly policy: string | undefined;
}

/** Reads the project at `path`; a directory that is not one is refused with one line. */
export function readGuestProject(path: string): GuestProject {
  const dir = resolve(path);
  const name = projectName(dir);
  const output = join(dir, "build", `${name}.wasm`);
  const policyFile = join(dir, `${name}.policy.toml`);
  const policy = existsSync(policyFile) ? policyFile : undefined;
  if (existsSync(join(dir, "assembly", "index.ts"))) {
    return {
      dir,
      name,
      language: "assemblyscript",
      entry: join(dir, "assembly", "index.ts"),
      output,
      sourceDir: join(dir, "assembly"),
      policy,
    };
  }
  if (existsSync(join(dir, "main.c"))) {
    return { dir, name, language: "c", entry: join(dir, "main.c"), output, sourceDir: dir, policy };
  }
  throw new NumaxError(
    "USAGE_NOT_A_GUEST_PROJECT",
    `${dir} is not a guest project: it has neither assembly/index.ts (AssemblyScript) nor main.c (C); create one with \`nx new NAME\``,
  );
}

function projectName(dir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
    if (typeof manifest.name === "string" && manifest.name !== "") return manifest.name;
  } catch {
    // No package.json (a C project) or an unreadable one: the directory names the module.
  }
  return basename(dir);
}
