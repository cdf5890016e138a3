import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ExitReason } from "./exit-reason.ts";
import { createKernel, type Kernel } from "./kernel.ts";
import { KERNEL_PID, type Pid, type Ref } from "./pid.ts";
import { type ProcessContext, TIMEOUT } from "./process-context.ts";
import { ProcessExit } from "./process-exit.ts";
import { DownMessage, ExitMessage } from "./system-messages.ts";

const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 100);
const SEED = Number(process.env.NX_PROPERTY_SEED ?? 7);

/**
 * A process driven from the test: its backend hands out the context, and the test calls link,
 * monitor, exit... on it synchronously. Messages stay in its mailbox until drained.
 */
interface Puppet {
  readonly pid: Pid;
  readonly ctx: ProcessContext;
}

async function spawnPuppet(
  kernel: Kernel,
  options: { trapExit?: boolean } = {},
  onEnd: (pid: Pid, reason: ExitReason) => void = () => {},
): Promise<Puppet> {
  let ctx: ProcessContext | undefined;
  const pid = kernel.spawn(
    {
      backend: () => ({
        kind: "puppet",
        start(c) {
          ctx = c;
          return undefined;
        },
        terminate(reason) {
          onEnd(pid, reason);
        },
      }),
    },
    options,
  );
  await kernel.idle();
  return { pid, ctx: ctx! };
}

/** Takes every queued message without waiting (the puppet's budget is set high enough). */
function drain(ctx: ProcessContext): unknown[] {
  const messages: unknown[] = [];
  for (;;) {
    const m = ctx.receive(undefined, 0);
    assert.ok(!(m instanceof Promise), "a poll with budget left answers at once");
    if (m === TIMEOUT) return messages;
    messages.push(m);
  }
}

function plain(message: unknown): unknown {
  if (message instanceof ExitMessage) return { type: "EXIT", from: message.from, reason: message.reason };
  if (message instanceof DownMessage) {
    return { type: "DOWN", ref: message.ref, pid: message.pid, reason: message.reason };
  }
  return message;
}

describe("exit signals (Erlang semantics, examples)", () => {
  it("a normal exit does not kill a linked process that does not trap exits", async () => {
    const kernel = createKernel();
    const a = await spawnPuppet(kernel);
    const b = await spawnPuppet(kernel);
    a.ctx.link(b.pid);
    assert.throws(() => b.ctx.exit("normal"), ProcessExit);
    assert.equal(kernel.isAlive(a.pid), true);
    const info = kernel.processInfo(a.pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.deepEqual(info.links, [], "the link went away with b");
  });

  it("an abnormal exit kills linked processes in a chain, and trapping stops the chain", async () => {
    const kernel = createKernel();
    const ends = new Map<Pid, ExitReason>();
    const record = (pid: Pid, reason: ExitReason) => ends.set(pid, reason);
    const a = await spawnPuppet(kernel, {}, record);
    const b = await spawnPuppet(kernel, {}, record);
    const c = await spawnPuppet(kernel, { trapExit: true }, record);
    const d = await spawnPuppet(kernel, {}, record);
    a.ctx.link(b.pid);
    b.ctx.link(c.pid);
    c.ctx.link(d.pid);
    const crash = new Error("crash", { cause: new Error("root cause") });
    kernel.exit(a.pid, crash);
    assert.equal(ends.get(a.pid), crash);
    assert.equal(ends.get(b.pid), crash, "the error travels unchanged, cause included");
    assert.equal(kernel.isAlive(c.pid), true);
    assert.equal(kernel.isAlive(d.pid), true);
    assert.deepEqual(drain(c.ctx).map(plain), [{ type: "EXIT", from: b.pid, reason: crash }]);
  });

  it("exit(pid, kill) cannot be trapped and linked processes see killed, which they can trap", async () => {
    const kernel = createKernel();
    const ends = new Map<Pid, ExitReason>();
    const target = await spawnPuppet(kernel, { trapExit: true }, (p, r) => ends.set(p, r));
    const trapper = await spawnPuppet(kernel, { trapExit: true });
    const plainLinked = await spawnPuppet(kernel, {}, (p, r) => ends.set(p, r));
    target.ctx.link(trapper.pid);
    target.ctx.link(plainLinked.pid);
    kernel.exit(target.pid, "kill");
    assert.equal(ends.get(target.pid), "killed");
    assert.equal(ends.get(plainLinked.pid), "killed");
    assert.deepEqual(drain(trapper.ctx).map(plain), [{ type: "EXIT", from: target.pid, reason: "killed" }]);
  });

  it("a process that exits with reason kill itself sends a trappable kill to its links", async () => {
    const kernel = createKernel();
    const ends = new Map<Pid, ExitReason>();
    const self = await spawnPuppet(kernel);
    const trapper = await spawnPuppet(kernel, { trapExit: true });
    const other = await spawnPuppet(kernel, {}, (p, r) => ends.set(p, r));
    self.ctx.link(trapper.pid);
    self.ctx.link(other.pid);
    assert.throws(() => self.ctx.exit("kill"), ProcessExit);
    assert.deepEqual(drain(trapper.ctx).map(plain), [{ type: "EXIT", from: self.pid, reason: "kill" }]);
    assert.equal(ends.get(other.pid), "kill");
  });

  it("exit(pid, normal) from another process is ignored unless trapped; to oneself it ends the process", async () => {
    const kernel = createKernel();
    const a = await spawnPuppet(kernel);
    const b = await spawnPuppet(kernel, { trapExit: true });
    kernel.exit(a.pid, "normal");
    assert.equal(kernel.isAlive(a.pid), true);
    kernel.exit(b.pid, "normal");
    assert.deepEqual(drain(b.ctx).map(plain), [{ type: "EXIT", from: KERNEL_PID, reason: "normal" }]);
    assert.throws(() => a.ctx.exit(a.pid, "normal"), ProcessExit);
    assert.equal(kernel.isAlive(a.pid), false);
  });

  it("monitors deliver one DOWN with the reason; noproc for a dead pid; demonitor flushes", async () => {
    const kernel = createKernel();
    const watcher = await spawnPuppet(kernel);
    const target = await spawnPuppet(kernel);
    const ref1 = watcher.ctx.monitor(target.pid);
    const ref2 = watcher.ctx.monitor(target.pid);
    kernel.exit(target.pid, "shutdown");
    const ref3 = watcher.ctx.monitor(target.pid);
    assert.deepEqual(drain(watcher.ctx).map(plain), [
      { type: "DOWN", ref: ref1, pid: target.pid, reason: "shutdown" },
      { type: "DOWN", ref: ref2, pid: target.pid, reason: "shutdown" },
      { type: "DOWN", ref: ref3, pid: target.pid, reason: "noproc" },
    ]);
    assert.equal(kernel.isAlive(watcher.pid), true, "a monitor never kills the watcher");
    const other = await spawnPuppet(kernel);
    const ref4 = watcher.ctx.monitor(other.pid);
    assert.equal(watcher.ctx.demonitor(ref4), true);
    kernel.exit(other.pid, "gone");
    assert.deepEqual(drain(watcher.ctx), []);
    const third = await spawnPuppet(kernel);
    const ref5 = watcher.ctx.monitor(third.pid);
    kernel.exit(third.pid, "gone");
    assert.equal(watcher.ctx.demonitor(ref5, { flush: true }), false);
    assert.deepEqual(drain(watcher.ctx), [], "flush removed the DOWN already delivered");
  });

  it("linking to a dead pid delivers noproc; spawnLink and spawnMonitor are atomic", async () => {
    const kernel = createKernel();
    const dead = await spawnPuppet(kernel);
    kernel.exit(dead.pid, "kill");
    const trapper = await spawnPuppet(kernel, { trapExit: true });
    trapper.ctx.link(dead.pid);
    assert.deepEqual(drain(trapper.ctx).map(plain), [{ type: "EXIT", from: dead.pid, reason: "noproc" }]);
    const plainOne = await spawnPuppet(kernel);
    assert.throws(() => plainOne.ctx.link(dead.pid), ProcessExit);
    assert.equal(await kernel.whenExited(plainOne.pid), "noproc");

    const crashAtOnce = () => {
      throw new Error("at once");
    };
    const parent = await spawnPuppet(kernel, { trapExit: true });
    const linkedChild = parent.ctx.spawnLink(crashAtOnce);
    const { pid: monitoredChild, ref } = parent.ctx.spawnMonitor(crashAtOnce);
    await kernel.idle();
    const got = drain(parent.ctx).map(plain);
    assert.equal(got.length, 2);
    assert.deepEqual((got[0] as { from: Pid }).from, linkedChild);
    assert.deepEqual((got[1] as { ref: Ref; pid: Pid }).ref, ref);
    assert.deepEqual((got[1] as { pid: Pid }).pid, monitoredChild);
  });
});

// ---- model-based property test ------------------------------------------------------------------

const REASONS: readonly ExitReason[] = ["normal", "kill", "shutdown", "boom", new Error("crash")];

interface ModelProcess {
  readonly pid: Pid;
  alive: boolean;
  trap: boolean;
  readonly links: Set<Pid>;
  /** ref → target */
  readonly monitors: Map<Ref, Pid>;
  /** ref → watcher */
  readonly watchers: Map<Ref, Pid>;
  readonly mailbox: unknown[];
  reason: ExitReason | undefined;
}

interface ModelSignal {
  readonly down: boolean;
  readonly target: Pid;
  readonly from: Pid;
  readonly reason: ExitReason;
  readonly link: boolean;
  readonly ref: Ref;
}

/** A direct transcription of Erlang's rules, kept as simple as possible. */
class Model {
  readonly procs = new Map<Pid, ModelProcess>();
  readonly order: Pid[] = [];
  private readonly queue: ModelSignal[] = [];

  add(pid: Pid, trap: boolean): void {
    this.procs.set(pid, {
      pid,
      alive: true,
      trap,
      links: new Set(),
      monitors: new Map(),
      watchers: new Map(),
      mailbox: [],
      reason: undefined,
    });
    this.order.push(pid);
  }

  get(pid: Pid): ModelProcess {
    return this.procs.get(pid)!;
  }

  alive(pid: Pid): boolean {
    return this.procs.get(pid)?.alive === true;
  }

  link(a: Pid, b: Pid): void {
    if (a === b) return;
    if (!this.alive(b)) {
      this.signal({ down: false, target: a, from: b, reason: "noproc", link: true, ref: 0 as Ref });
      return;
    }
    this.get(a).links.add(b);
    this.get(b).links.add(a);
  }

  unlink(a: Pid, b: Pid): void {
    this.get(a).links.delete(b);
    this.procs.get(b)?.links.delete(a);
  }

  monitor(a: Pid, b: Pid, ref: Ref): void {
    if (!this.alive(b)) {
      this.signal({ down: true, target: a, from: b, reason: "noproc", link: false, ref });
      return;
    }
    this.get(a).monitors.set(ref, b);
    this.get(b).watchers.set(ref, a);
  }

  demonitor(a: Pid, ref: Ref): void {
    const target = this.get(a).monitors.get(ref);
    if (target === undefined) return;
    this.get(a).monitors.delete(ref);
    this.get(target).watchers.delete(ref);
  }

  exitSignal(from: Pid, target: Pid, reason: ExitReason): void {
    this.signal({ down: false, target, from, reason, link: false, ref: 0 as Ref });
  }

  selfExit(pid: Pid, reason: ExitReason): void {
    this.terminate(this.get(pid), reason);
    this.flush();
  }

  private terminate(p: ModelProcess, reason: ExitReason): void {
    if (!p.alive) return;
    p.alive = false;
    p.reason = reason;
    p.mailbox.length = 0;
    for (const other of p.links) {
      this.get(other).links.delete(p.pid);
      this.queue.push({ down: false, target: other, from: p.pid, reason, link: true, ref: 0 as Ref });
    }
    p.links.clear();
    for (const [ref, target] of p.monitors) this.get(target).watchers.delete(ref);
    p.monitors.clear();
    for (const [ref, watcher] of p.watchers) {
      this.get(watcher).monitors.delete(ref);
      this.queue.push({ down: true, target: watcher, from: p.pid, reason, link: false, ref });
    }
    p.watchers.clear();
  }

  private signal(s: ModelSignal): void {
    this.queue.push(s);
    this.flush();
  }

  /** Erlang's receiving rules, one signal at a time, in order. */
  private flush(): void {
    while (this.queue.length > 0) {
      const { down, target, from, reason, link, ref } = this.queue.shift()!;
      const t = this.procs.get(target);
      if (t === undefined || !t.alive) continue;
      if (down) t.mailbox.push({ type: "DOWN", ref, pid: from, reason });
      else if (reason === "kill" && !link) this.terminate(t, "killed");
      else if (t.trap) t.mailbox.push({ type: "EXIT", from, reason });
      else if (reason === "normal") {
        if (from === target && !link) this.terminate(t, "normal");
      } else this.terminate(t, reason);
    }
  }
}

interface Real {
  readonly kernel: Kernel;
  readonly puppets: Map<Pid, ProcessContext>;
  readonly reasons: Map<Pid, ExitReason>;
}

type Cmd = fc.AsyncCommand<Model, Real>;

function pick(model: Readonly<Model>, index: number): Pid {
  return model.order[index % model.order.length];
}

function hasProcesses(model: Readonly<Model>): boolean {
  return model.order.length > 0;
}

function command(
  label: string,
  check: (m: Readonly<Model>) => boolean,
  run: (m: Model, r: Real) => void | Promise<void>,
): Cmd {
  return {
    check,
    run: async (model, real) => {
      await run(model, real);
      compare(model, real);
    },
    toString: () => label,
  };
}

/**
 * Runs `operation` on puppet `pid` after the model took the same step. A puppet that had ended
 * before, or that the step itself ended (a cascade through its links), must see ProcessExit.
 */
function fromPuppet(
  model: Model,
  real: Real,
  pid: Pid,
  wasAlive: boolean,
  operation: (ctx: ProcessContext) => void,
): void {
  try {
    operation(real.puppets.get(pid)!);
  } catch (error) {
    assert.ok(error instanceof ProcessExit, `unexpected ${String(error)}`);
    assert.ok(!model.alive(pid), "only an ended process's calls throw ProcessExit");
    return;
  }
  assert.ok(wasAlive, "calls from an ended process must throw ProcessExit");
}

function compare(model: Model, real: Real): void {
  const sorted = (xs: Iterable<Pid>) => [...xs].sort((x, y) => x - y);
  for (const pid of model.order) {
    const m = model.get(pid);
    assert.equal(real.kernel.isAlive(pid), m.alive, `alive ${pid}`);
    if (!m.alive) {
      assert.deepStrictEqual(real.reasons.get(pid), m.reason, `exit reason of ${pid}`);
      continue;
    }
    const info = real.kernel.processInfo(pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.deepEqual(sorted(info.links), sorted(m.links), `links of ${pid}`);
    assert.deepEqual(sorted(info.monitors), sorted(m.monitors.values()), `monitors of ${pid}`);
    assert.deepEqual(sorted(info.monitoredBy), sorted(m.watchers.values()), `monitored-by of ${pid}`);
    assert.equal(info.trapExit, m.trap);
    assert.equal(info.mailboxLength, m.mailbox.length, `mailbox of ${pid}`);
  }
}

type SpawnHow = "link" | "monitor" | "plain";

function spawnCommand(trap: boolean, parent: number | undefined, how: SpawnHow): Cmd {
  return command(
    `spawn(trap=${trap}, parent=${parent ?? "kernel"}, ${how})`,
    () => true,
    async (model, real) => {
      let pid: Pid | undefined;
      let ref: Ref | undefined;
      let ctx: ProcessContext | undefined;
      const spawnable = {
        backend: () => ({
          kind: "puppet",
          start(c: ProcessContext) {
            ctx = c;
            return undefined;
          },
          terminate(reason: ExitReason) {
            real.reasons.set(pid!, reason);
          },
        }),
      };
      const options = { trapExit: trap };
      if (parent === undefined || !hasProcesses(model)) {
        pid = real.kernel.spawn(spawnable, options);
        model.add(pid, trap);
      } else {
        const parentPid = pick(model, parent);
        const wasAlive = model.alive(parentPid);
        fromPuppet(model, real, parentPid, wasAlive, (p) => {
          if (how === "link") pid = p.spawnLink(spawnable, options);
          else if (how === "monitor") ({ pid, ref } = p.spawnMonitor(spawnable, options));
          else pid = p.spawn(spawnable, options);
        });
        if (pid === undefined) return;
        model.add(pid, trap);
        if (how === "link") model.link(parentPid, pid);
        if (how === "monitor") model.monitor(parentPid, pid, ref!);
      }
      await real.kernel.idle();
      real.puppets.set(pid, ctx!);
    },
  );
}

function linkCommand(a: number, b: number, unlink: boolean): Cmd {
  return command(`${unlink ? "unlink" : "link"}(${a}, ${b})`, hasProcesses, (model, real) => {
    const [pa, pb] = [pick(model, a), pick(model, b)];
    const wasAlive = model.alive(pa);
    if (wasAlive) {
      if (unlink) model.unlink(pa, pb);
      else model.link(pa, pb);
    }
    fromPuppet(model, real, pa, wasAlive, (ctx) => (unlink ? ctx.unlink(pb) : ctx.link(pb)));
  });
}

function monitorCommand(a: number, b: number): Cmd {
  return command(`monitor(${a}, ${b})`, hasProcesses, (model, real) => {
    const [pa, pb] = [pick(model, a), pick(model, b)];
    const wasAlive = model.alive(pa);
    let ref: Ref | undefined;
    fromPuppet(model, real, pa, wasAlive, (ctx) => {
      ref = ctx.monitor(pb);
    });
    if (wasAlive) model.monitor(pa, pb, ref!);
  });
}

function demonitorCommand(a: number): Cmd {
  return command(`demonitorLatest(${a})`, hasProcesses, (model, real) => {
    const pa = pick(model, a);
    const latest = model.alive(pa) ? [...model.get(pa).monitors.keys()].pop() : undefined;
    if (latest === undefined) return;
    model.demonitor(pa, latest);
    assert.equal(real.puppets.get(pa)!.demonitor(latest), true);
  });
}

function trapCommand(a: number, on: boolean): Cmd {
  return command(`trapExit(${a}, ${on})`, hasProcesses, (model, real) => {
    const pa = pick(model, a);
    const wasAlive = model.alive(pa);
    if (wasAlive) model.get(pa).trap = on;
    fromPuppet(model, real, pa, wasAlive, (ctx) => ctx.trapExit(on));
  });
}

function exitCommand(from: number | "kernel" | "self", target: number, reasonIndex: number): Cmd {
  const reason = REASONS[reasonIndex % REASONS.length];
  return command(`exit(from=${from}, ${target}, ${String(reason)})`, hasProcesses, (model, real) => {
    const pt = pick(model, target);
    if (from === "self") {
      const wasAlive = model.alive(pt);
      if (wasAlive) model.selfExit(pt, reason);
      assert.throws(() => real.puppets.get(pt)!.exit(reason), ProcessExit);
    } else if (from === "kernel") {
      model.exitSignal(KERNEL_PID, pt, reason);
      real.kernel.exit(pt, reason);
    } else {
      const pf = pick(model, from);
      const wasAlive = model.alive(pf);
      if (wasAlive) model.exitSignal(pf, pt, reason);
      fromPuppet(model, real, pf, wasAlive, (ctx) => ctx.exit(pt, reason));
    }
  });
}

function drainCommand(a: number): Cmd {
  return command(`drain(${a})`, hasProcesses, (model, real) => {
    const pa = pick(model, a);
    if (!model.alive(pa)) return;
    assert.deepStrictEqual(
      drain(real.puppets.get(pa)!).map(plain),
      model.get(pa).mailbox,
      `messages of ${pa}`,
    );
    model.get(pa).mailbox.length = 0;
  });
}

describe("exit signals (model-based)", () => {
  it("links, monitors, trap_exit and exits match a reference model of Erlang's rules", async () => {
    const index = fc.nat({ max: 50 });
    const commands = [
      fc
        .tuple(
          fc.boolean(),
          fc.option(index, { nil: undefined }),
          fc.constantFrom<SpawnHow>("link", "monitor", "plain"),
        )
        .map(([trap, parent, how]) => spawnCommand(trap, parent, how)),
      fc.tuple(index, index, fc.boolean()).map(([a, b, unlink]) => linkCommand(a, b, unlink)),
      fc.tuple(index, index).map(([a, b]) => monitorCommand(a, b)),
      index.map((a) => demonitorCommand(a)),
      fc.tuple(index, fc.boolean()).map(([a, on]) => trapCommand(a, on)),
      fc
        .tuple(fc.oneof(index, fc.constantFrom<"kernel" | "self">("kernel", "self")), index, fc.nat())
        .map(([from, target, reason]) => exitCommand(from, target, reason)),
      index.map((a) => drainCommand(a)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const kernel = createKernel({ reductionBudget: 1_000_000 });
        const setup = () => ({
          model: new Model(),
          real: { kernel, puppets: new Map(), reasons: new Map() } satisfies Real,
        });
        await fc.asyncModelRun(setup, cmds);
        await kernel.shutdown({ timeoutMs: 0 });
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
