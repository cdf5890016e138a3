import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { NumaxError } from "../errors/numax-error.ts";
import { CLANG_WASM_FLAGS, CLANG_WASM_LINK_FLAGS } from "./clang-wasm-flags.ts";
import type { GuestLanguage } from "./guest-project.ts";
import { NUMAX_ROOT } from "./numax-root.ts";

/** A project name: a module id and an npm package name at once. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Longest project name `nx new` accepts, in characters. */
export const PROJECT_NAME_LENGTH_MAX = 64;

/** The SDK's package name (sdk/package.json): AssemblyScript library and nx.h in one package. */
const SDK_PACKAGE = "numax-sdk";
/** The SDK package inside this Numax: a checkout's sdk/, or the copy the runtime package ships. */
const SDK_DIR = join(NUMAX_ROOT, "sdk");

/** Where `npm start` / `make run` and `nx dev` serve the scaffold's routes. */
const SCAFFOLD_SERVE_ADDRESS = "127.0.0.1:8080";

export interface ScaffoldedProject {
  readonly dir: string;
  /** The files written, relative to `dir`. */
  readonly files: readonly string[];
  /** The commands that build and run it, in order. */
  readonly commands: readonly string[];
}

/**
 * `nx new NAME`: writes a guest project into `parentDir/NAME` (docs/hot-reload.md) that builds
 * and runs with two commands: a module with a default route `GET /` that counts its visits in
 * the store. The SDK and `nx` are referenced by their paths in this Numax (a checkout, or an
 * installed package): a `file:` dependency and the scripts' `node <numax>/bin/nx.js` for
 * AssemblyScript, the `NUMAX` variable of the Makefile for C.
 * Refuses (one line) a name that cannot be a module id and a directory that exists and is not
 * empty.
 */
export function scaffoldGuestProject(
  name: string,
  language: GuestLanguage,
  parentDir: string,
): ScaffoldedProject {
  if (!PROJECT_NAME.test(name) || name.length > PROJECT_NAME_LENGTH_MAX) {
    throw new NumaxError(
      "USAGE_INVALID_PROJECT_NAME",
      `"${name}" cannot name a project: use 1 to ${PROJECT_NAME_LENGTH_MAX} lowercase letters, digits, - and _ (it is the module id and the package name)`,
    );
  }
  const dir = resolve(parentDir, name);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new NumaxError(
      "USAGE_PROJECT_EXISTS",
      `${dir} exists and is not empty: choose another name, or remove it first`,
    );
  }
  const files = language === "assemblyscript" ? assemblyScriptFiles(name) : cFiles(name);
  for (const [path, text] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(resolve(target, ".."), { recursive: true });
    writeFileSync(target, text);
  }
  return {
    dir,
    files: Object.keys(files),
    commands: language === "assemblyscript" ? ["npm install", "npm start"] : ["make", "make run"],
  };
}

const GITIGNORE = "build/\nnode_modules/\nnx-data/\n";

/** The project's policy (docs/design/policies.md): serving, and the keys its handler uses. */
function policyFile(name: string, grants: readonly string[]): string {
  return [
    `# Policy of ${name} (docs/design/policies.md): what the module may reach. Deny by default:`,
    "# grant every key, topic or capability the code comes to use (`nx policy init` on the built",
    "# .wasm lists what its imports call for).",
    "[capabilities]",
    "network.serve = true",
    ...grants,
    "",
  ].join("\n");
}

function assemblyScriptFiles(name: string): Record<string, string> {
  // `nx` by its path, not as a `file:` dependency: npm would run this Numax's own `prepare`
  // (rebuilding its guests and CLI bundle in place) at every install of the project.
  const nx = `node ${join(NUMAX_ROOT, "bin", "nx.js")}`;
  const manifest = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      build: "asc assembly/index.ts --config asconfig.json",
      start: `npm run build && ${nx} run build/${name}.wasm --policy ${name}.policy.toml --serve ${SCAFFOLD_SERVE_ADDRESS}`,
      dev: `${nx} dev . --serve ${SCAFFOLD_SERVE_ADDRESS}`,
    },
    devDependencies: {
      assemblyscript: assemblyScriptVersion(),
      // The SDK package of this Numax by its path (docs/sdk.md#the-sdk-package: by version once
      // it is published).
      [SDK_PACKAGE]: `file:${SDK_DIR}`,
    },
  };
  const asconfig = {
    extends: `./node_modules/${SDK_PACKAGE}/assemblyscript/asconfig.base.json`,
    options: {
      outFile: `build/${name}.wasm`,
      use: [
        `abort=~lib/${SDK_PACKAGE}/assemblyscript/assembly/hooks/abortHook`,
        `trace=~lib/${SDK_PACKAGE}/assemblyscript/assembly/hooks/traceHook`,
        `seed=~lib/${SDK_PACKAGE}/assemblyscript/assembly/hooks/seedHook`,
      ],
    },
  };
  return {
    "package.json": `${JSON.stringify(manifest, null, 2)}\n`,
    "asconfig.json": `${JSON.stringify(asconfig, null, 2)}\n`,
    ".gitignore": GITIGNORE,
    [`${name}.policy.toml`]: policyFile(name, ['db.read = ["visits"]', 'db.write = ["visits"]']),
    "assembly/index.ts": `// ${name}: a Numax guest module (AssemblyScript). Its routes() export declares its HTTP
// routes; every request runs its handler in a fresh instance.
import { db, http } from ${JSON.stringify(SDK_PACKAGE)};

/** The entry point: nothing to prepare, the handlers do the work. */
export function run(): void {}

export function routes(): void {
  http.route("GET", "/", "hello");
}

/** GET /: a greeting and how many visits the store has counted. */
export function hello(): void {
  const seen = db.getString("visits");
  const visits = (seen === null ? 0 : I32.parseInt(seen)) + 1;
  db.set("visits", visits.toString());
  http.setHeader("content-type", "text/plain; charset=utf-8");
  http.write(\`hello from ${name} (visit \${visits})\\n\`);
}
`,
    "README.md": `# ${name}

A Numax guest module in AssemblyScript. Build and run it:

\`\`\`sh
npm install
npm start        # builds build/${name}.wasm and serves it on http://${SCAFFOLD_SERVE_ADDRESS}
\`\`\`

\`npm run dev\` does the same and then rebuilds and hot-reloads the module on every change under
\`assembly/\`; build errors show without stopping the node.

The SDK (the package \`numax-sdk\`, a \`file:\` dependency) and \`nx\` (the scripts run it by its
path) come from the Numax this project was created from.
`,
  };
}

function cFiles(name: string): Record<string, string> {
  const compile = [...CLANG_WASM_FLAGS, "-I$(NUMAX_SDK)/c", ...CLANG_WASM_LINK_FLAGS].join(" ");
  return {
    Makefile: `# ${name}: build with \`make\`, serve with \`make run\`. NUMAX is the Numax it uses, NUMAX_SDK its SDK package.
NUMAX ?= ${NUMAX_ROOT.replace(/\/$/, "")}
NUMAX_SDK ?= ${SDK_DIR}
NX ?= node $(NUMAX)/bin/nx.js
SERVE ?= ${SCAFFOLD_SERVE_ADDRESS}

build/${name}.wasm: $(wildcard *.c) $(wildcard *.h)
\tmkdir -p build
\tclang ${compile} -o $@ $(wildcard *.c)

run: build/${name}.wasm
\t$(NX) run build/${name}.wasm --policy ${name}.policy.toml --serve $(SERVE)

dev:
\t$(NX) dev . --serve $(SERVE)

.PHONY: run dev
`,
    ".gitignore": GITIGNORE,
    [`${name}.policy.toml`]: policyFile(name, []),
    "main.c": `/* ${name}: a Numax guest module (C, no libc: everything comes from nx.h). Its routes()
 * export declares its HTTP routes; every request runs its handler in a fresh instance. */
#include "nx.h"

#define TEXT(s) s, sizeof(s) - 1

/* The entry point: nothing to prepare, the handlers do the work. */
NX_EXPORT(run) void run(void) {}

NX_EXPORT(routes) void routes(void) { nx_route_add(TEXT("GET"), TEXT("/"), TEXT("hello")); }

/* GET /: a greeting. */
NX_EXPORT(hello) void hello(void) {
  nx_resp_header(TEXT("content-type"), TEXT("text/plain; charset=utf-8"));
  nx_resp_write(TEXT("hello from ${name}\\n"));
}
`,
    "README.md": `# ${name}

A Numax guest module in C. Build and run it (clang with the wasm32 target: \`apt-get install -y clang lld\`):

\`\`\`sh
make             # builds build/${name}.wasm
make run         # serves it on http://${SCAFFOLD_SERVE_ADDRESS}
\`\`\`

\`make dev\` serves it and then rebuilds and hot-reloads the module on every change of its \`.c\`
and \`.h\` files; build errors show without stopping the node.

\`nx.h\` and \`nx\` come from the Numax checkout in the Makefile's \`NUMAX\`.
`,
  };
}

/** The AssemblyScript version this Numax builds its own guests with. */
function assemblyScriptVersion(): string {
  const manifest = JSON.parse(readFileSync(join(NUMAX_ROOT, "package.json"), "utf8")) as {
    devDependencies?: Record<string, string>;
  };
  return manifest.devDependencies?.assemblyscript ?? "^0.28.0";
}
