import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { createNodeMetrics } from "../../src/observe/metrics.ts";

/** The dashboard and the documented alerts may only query metrics a node really exports. */

/** Grafana's reference to the dashboard's data-source variable, spelled as Grafana stores it. */
const GRAFANA_DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

const read = (path: string): Promise<string> => readFile(new URL(`../../${path}`, import.meta.url), "utf8");

let exported: Set<string>;
before(async () => {
  const metrics = createNodeMetrics({ version: "0" });
  exported = new Set(
    [...(await metrics.render()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => match[1]),
  );
});

function metricNamesIn(expression: string): string[] {
  return [...expression.matchAll(/\b((?:numax|process|nodejs)_[a-z0-9_]+)/g)].map((match) =>
    match[1].replace(/_(bucket|count|sum)$/, ""),
  );
}

function assertExported(expression: string, where: string): void {
  const names = metricNamesIn(expression);
  for (const name of names)
    assert.ok(exported.has(name), `${where}: ${name} is not an exported metric (${expression})`);
}

describe("ready-made observability files", () => {
  test("every dashboard query uses exported metrics, and the dashboard covers the core ones", async () => {
    const dashboard = JSON.parse(await read("docs/dashboards/numax.json"));
    const expressions: string[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        assert.equal(
          target.datasource.uid,
          GRAFANA_DATASOURCE_VARIABLE,
          `${panel.title} uses the datasource variable`,
        );
        expressions.push(target.expr);
        assertExported(target.expr, `panel "${panel.title}"`);
      }
    }
    const used = new Set(expressions.flatMap(metricNamesIn));
    for (const name of exported) {
      if (name.startsWith("numax_")) assert.ok(used.has(name), `the dashboard shows ${name}`);
    }
    const ids = dashboard.panels.map((panel: { id: number }) => panel.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  });

  test("every alert example in docs/observability.md uses exported metrics", async () => {
    const doc = await read("docs/observability.md");
    const alerts = [...doc.matchAll(/^ {8}expr: (.+)$/gm)].map((match) => match[1]);
    assert.ok(alerts.length >= 8, "the alert examples are there");
    for (const expression of alerts) assertExported(expression, "alert");
  });

  test("the metrics table in docs/observability.md lists every numax_ metric", async () => {
    const doc = await read("docs/observability.md");
    const documented = new Set([...doc.matchAll(/^\| `(numax_[a-z0-9_]+)` +\|/gm)].map((match) => match[1]));
    const numax = [...exported].filter((name) => name.startsWith("numax_"));
    assert.deepEqual([...documented].sort(), numax.sort());
  });

  test("the compose setup mounts the dashboard and Prometheus scrapes numax targets", async () => {
    const compose = await read("docs/compose/observability.yml");
    assert.match(compose, /- \.\.\/dashboards\/numax\.json:\/etc\/grafana\/dashboards\/numax\.json:ro/);
    assert.match(compose, /- \.\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml:ro/);
    assert.match(compose, /\$\{NUMAX_TARGETS:-"host\.docker\.internal:9100"\}/);
    assert.match(compose, /host\.docker\.internal:host-gateway/);
    const prometheus = await read("docs/compose/prometheus.yml");
    assert.match(prometheus, /job_name: numax/);
    assert.match(prometheus, /files: \["\/etc\/prometheus\/targets\/\*\.json"\]/);
  });
});
