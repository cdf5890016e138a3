/**
 * The container recipe (Dockerfile, .dockerignore) has the properties docs/install.md promises:
 * built from the packed runtime on Node 26, a non-root user, the store on a volume, a health
 * check on /ready, and numax as PID 1 so that `docker stop`'s SIGTERM reaches it. The recipe is
 * parsed; its health check command runs against a real node; the image is built only where a
 * docker daemon answers (this development machine has the client and no daemon).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { examplePath, pollUntil, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";
import { syncNodeTracker } from "../helpers/sync-node.ts";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions in order: comments dropped, continuation lines joined. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [, keyword, args] = line.trim().match(/^(\S+)\s+([\s\S]*)$/)!;
      return { keyword: keyword!.toUpperCase(), args: args!.trim() };
    });
}

const recipe = instructions(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
const all = (keyword: string) => recipe.filter((i) => i.keyword === keyword);
const one = (keyword: string): Instruction => {
  const found = all(keyword);
  assert.equal(found.length, 1, `exactly one ${keyword}`);
  return found[0]!;
};
/** `ENV A=1 B=2` lines as one map. */
const env = new Map(
  all("ENV").flatMap((i) =>
    [...i.args.matchAll(/(\w+)=(\S+)/g)].map(([, name, value]) => [name!, value!] as const),
  ),
);
/** An exec-form (JSON array) argument list, as `docker` runs it: no shell in between. */
const execForm = (args: string): string[] => {
  assert.ok(args.startsWith("["), `not exec form: ${args}`);
  return JSON.parse(args) as string[];
};

const root = tempDir("nx-dockerfile-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

describe("the container recipe", { timeout: 120_000 }, () => {
  test("is built from the packed runtime on Node 26, and its context holds only the tarball", () => {
    assert.match(one("FROM").args, /^node:26(-[\w.-]+)?$/);
    assert.ok(all("COPY").some((i) => /^numax-\*\.tgz\s/.test(i.args)));
    assert.ok(all("RUN").some((i) => /npm install --global .*numax-\*\.tgz/.test(i.args)));
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"));
    assert.deepEqual(ignored, ["*", "!numax-*.tgz"]);
  });

  test("runs as a non-root user who owns the data volume, which holds the store", () => {
    const user = one("USER").args;
    assert.ok(!["root", "0"].includes(user.split(":")[0]!), `USER ${user}`);
    const userAt = recipe.indexOf(one("USER"));
    assert.ok(userAt < recipe.indexOf(one("ENTRYPOINT")), "USER comes before ENTRYPOINT");
    assert.ok(
      recipe.slice(userAt).every((i) => i.keyword !== "RUN"),
      "no RUN after USER",
    );
    const datastore = env.get("NX_DATASTORE_PATH")!;
    assert.deepEqual(execForm(one("VOLUME").args), [datastore]);
    assert.ok(all("RUN").some((i) => i.args.includes(`chown ${user}:${user} ${datastore}`)));
  });

  test("runs numax as PID 1 (exec form), stopped by SIGTERM", () => {
    assert.equal(execForm(one("ENTRYPOINT").args)[0], "numax");
    assert.equal(one("STOPSIGNAL").args, "SIGTERM");
  });

  test("its health check passes on a ready node and fails once the node is gone", async () => {
    const healthcheck = one("HEALTHCHECK").args.match(/\bCMD\s+(\[.*\])$/);
    assert.ok(healthcheck !== null, "HEALTHCHECK ... CMD [exec form]");
    const [program, ...args] = execForm(healthcheck[1]!);
    assert.equal(program, "node");
    const n = await nodes.node({
      datastore: join(root.path, "store"),
      guest: examplePath("distributed_counter"),
      env: { NX_VISITS: "1" },
    });
    const port = new URL(n.url).port;
    const check = () =>
      spawnSync(process.execPath, args, {
        env: { ...process.env, NX_OBSERVABILITY_LISTEN: `0.0.0.0:${port}` },
        timeout: 10_000,
      }).status;
    assert.equal(
      await pollUntil(
        async () => check(),
        (status) => status === 0,
        15_000,
      ),
      0,
    );
    await nodes.stop(n);
    assert.equal(check(), 1);
  });

  test("builds", {
    timeout: 600_000,
    skip: spawnSync("docker", ["info"], { timeout: 10_000 }).status !== 0 && "no docker daemon answers",
  }, () => {
    const context = join(root.path, "context");
    mkdirSync(context);
    for (const file of ["Dockerfile", ".dockerignore"])
      copyFileSync(join(REPO_ROOT, file), join(context, file));
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", context], { cwd: REPO_ROOT });
    const tag = `numax-test:${process.pid}`;
    execFileSync("docker", ["build", "--tag", tag, context], { stdio: "inherit", timeout: 600_000 });
    execFileSync("docker", ["image", "rm", tag]);
  });
});
