/**
 * `[serve.static]` directories with real requests to a real listener (`nx run --config`): files
 * with their content types, an index for a directory, HEAD, 404 for a missing file, 405 for
 * another method, a path that climbs out (`..`, `%2e%2e`, a symlink to outside) refused with 403
 * and never the file, and a bad static entry refused at start.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-static-");
const site = join(dir.path, "site");
let nx: NxProcess;
let host: string;
let port: number;

function config(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

function serve(configPath: string): NxProcess {
  return startNx([
    "run",
    examplePath("http_hello"),
    "--config",
    configPath,
    "--datastore-path",
    join(dir.path, `data-${configPath.replace(/\W/g, "")}`),
  ]);
}

before(async () => {
  mkdirSync(join(site, "js"), { recursive: true });
  writeFileSync(join(site, "index.html"), "<h1>app</h1>");
  writeFileSync(join(site, "style.css"), "h1 { color: red }");
  writeFileSync(join(site, "js", "app.js"), "console.log(1)");
  writeFileSync(join(site, "js", "index.html"), "<p>js</p>");
  writeFileSync(join(site, "data.bin"), Buffer.from([0, 1, 2]));
  writeFileSync(join(dir.path, "secret.txt"), "secret");
  symlinkSync(join(dir.path, "secret.txt"), join(site, "escape.txt"));
  symlinkSync(join(site, "style.css"), join(site, "alias.css"));
  nx = serve(
    config(
      "static.toml",
      `[[serve]]
listen = "127.0.0.1:0"

[serve.routes]
"GET /hello/:name" = "http_hello#hello"

[serve.static]
"/app/*" = "${site}"
`,
    ),
  );
  const match = await nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1):(\d+)/);
  host = match[1]!;
  port = Number(match[2]);
});

after(async () => {
  const exit = await stopNx(nx);
  dir.remove();
  assert.equal(exit.code, 0, nx.stderr());
});

/** A request with its path sent exactly as given (fetch would normalise `..` and `%2e%2e`). */
function get(
  path: string,
  method = "GET",
): Promise<{ status: number; type: string | undefined; length: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          type: res.headers["content-type"],
          length: res.headers["content-length"],
          body,
        }),
      );
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end();
  });
}

test("a file is sent with Last-Modified and X-Content-Type-Options: nosniff", async () => {
  const response = await fetch(`http://${host}:${port}/app/style.css`);
  assert.equal(response.status, 200);
  assert.ok(!Number.isNaN(Date.parse(response.headers.get("last-modified") ?? "")));
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  await response.text();
});

test("files with their content types, an index for the directory, HEAD without a body", async () => {
  assert.deepEqual(await get("/app/style.css"), {
    status: 200,
    type: "text/css; charset=utf-8",
    length: "17",
    body: "h1 { color: red }",
  });
  assert.equal((await get("/app/js/app.js")).type, "text/javascript; charset=utf-8");
  assert.equal((await get("/app/data.bin")).type, "application/octet-stream");
  assert.deepEqual(await get("/app/"), {
    status: 200,
    type: "text/html; charset=utf-8",
    length: "12",
    body: "<h1>app</h1>",
  });
  assert.equal((await get("/app/js")).body, "<p>js</p>");
  assert.equal(
    (await get("/app/alias.css")).body,
    "h1 { color: red }",
    "a symlink inside the directory is served",
  );
  assert.deepEqual(await get("/app/style.css", "HEAD"), {
    status: 200,
    type: "text/css; charset=utf-8",
    length: "17",
    body: "",
  });
  assert.equal((await get("/hello/ada")).body, "hello ada", "routes beside the static directory");
});

test("404 for a missing file, 405 for another method", async () => {
  assert.equal((await get("/app/missing.css")).status, 404);
  assert.equal((await get("/app/js/missing/")).status, 404);
  assert.equal((await get("/app/style.css", "POST")).status, 405);
});

test("a path out of the directory is refused with 403: .., ., %2e%2e, %2f, backslash, NUL, a symlink to outside", async () => {
  for (const path of [
    "/app/./style.css",
    "/app/js%5c..%5c..%5csecret.txt",
    "/app/style.css%00.txt",
    "/app/../secret.txt",
    "/app/js/../../secret.txt",
    "/app/%2e%2e/secret.txt",
    "/app/%2E%2E/secret.txt",
    "/app/..%2fsecret.txt",
    "/app/%2e%2e%2fsecret.txt",
    "/app/escape.txt",
  ]) {
    const answer = await get(path);
    assert.equal(answer.status, 403, path);
    assert.doesNotMatch(answer.body, /secret/, path);
  }
});

async function refusal(configPath: string): Promise<string> {
  const refused = serve(configPath);
  const exit = await refused.exited;
  assert.equal(exit.code, 2, refused.stderr());
  const lines = refused
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("nx: error:"));
  assert.equal(lines.length, 1, refused.stderr());
  return lines[0]!;
}

test("a static entry without /* or with a missing directory is refused at start, naming it (exit 2)", async () => {
  const entry = (name: string, key: string, value: string) =>
    config(name, `[[serve]]\nlisten = "127.0.0.1:0"\n[serve.static]\n"${key}" = "${value}"\n`);
  const noStar = serve(entry("no-star.toml", "/app", site));
  assert.equal((await noStar.exited).code, 2, noStar.stderr());
  assert.match(
    noStar.stderr(),
    /\[\[serve\]\] #1\.static \(.*no-star\.toml\): static route "\/app" must end in "\/\*"/,
  );
  assert.match(
    await refusal(entry("missing.toml", "/app/*", join(dir.path, "nowhere"))),
    /static route "\/app\/\*" = ".*nowhere": not a directory/,
  );
});

test("[modules.<id>] static serves the module's own directory, relative to the module file, with --serve and its default routes", async () => {
  const app = join(dir.path, "app");
  mkdirSync(join(app, "web"), { recursive: true });
  copyFileSync(examplePath("http_hello"), join(app, "http_hello.wasm"));
  writeFileSync(join(app, "web", "index.html"), "<h1>module ui</h1>");
  writeFileSync(join(app, "secret.txt"), "secret");
  const settings = (name: string, directory: string) =>
    config(name, `[modules.http_hello]\nstatic = { "/ui/*" = "${directory}" }\n`);
  const run = (configPath: string) =>
    startNx([
      "run",
      join(app, "http_hello.wasm"),
      "--serve",
      "127.0.0.1:0",
      "--config",
      configPath,
      "--datastore-path",
      join(dir.path, `data-${configPath.replace(/\W/g, "")}`),
    ]);
  // "web" names app/web (beside the module file), not ./web of the working directory.
  const own = run(settings("module-static.toml", "web"));
  try {
    const match = await own.waitFor(/serving HTTP url=http:\/\/127\.0\.0\.1:(\d+)/);
    const base = `http://127.0.0.1:${match[1]}`;
    const page = await fetch(`${base}/ui/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await page.text(), "<h1>module ui</h1>");
    assert.equal(await (await fetch(`${base}/hello/ada`)).text(), "hello ada", "the default routes too");
    const climbing = await new Promise<number>((resolve, reject) => {
      const port = Number(match[1]);
      request({ host: "127.0.0.1", port, path: "/ui/%2e%2e/secret.txt", timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(climbing, 403);
  } finally {
    await stopNx(own);
  }
  const missing = run(settings("module-static-missing.toml", "nowhere"));
  assert.equal((await missing.exited).code, 2, missing.stderr());
  assert.match(
    missing.stderr(),
    /nx: error: \[modules\.http_hello\] static: static route "\/ui\/\*" = ".*app\/nowhere": not a directory \(give an existing directory; relative paths are relative to the module file's directory/,
  );
});
