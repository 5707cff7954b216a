// Every PromQL expression that ships: each alert rule of deploy/base/alerts.yaml, each target of
// each panel of the dashboard deploy/base/dashboards/tacos.json (as committed, what Grafana runs),
// the query behind the dashboard's `event` variable, and the queries of the autoscalers and the
// canary analysis under deploy/components (KEDA's Prometheus triggers, Argo Rollouts' analysis),
// made runnable by a plain Prometheus.
//
//   node promql.mjs                      prints the list (below) to stdout
//   node promql.mjs --check [--promtool PATH]
//                                        ctest deploy_promql: every expression parses (promtool
//                                        check rules, each one as a recording rule) and every
//                                        tacos_* metric it reads is one tacos declares (the
//                                        catalogue, src/common/metric_catalogue.cpp)
//
// Output: a JSON array, one object per expression, in file order:
//   {
//     "source":  "alert TacosQueueStalled" | "panel <panel title>" | "variable event"
//                | "keda <ScaledObject>" | "analysis <AnalysisTemplate>/<metric>",
//     "expr":    the PromQL, runnable as is (instant or range query),
//     "metrics": ["tacos_queue_waiting", ...]   the metric names it reads, exactly as written
//                (a histogram's tacos_x_bucket, _sum or _count stays so; sorted, no duplicates;
//                names that are not tacos_* appear too: up, kube_pod_status_ready)
//   }
// A panel with several queries gives one object per query, each with the panel's source (panel
// titles are unique). Grafana's variables are replaced: $__rate_interval and $__interval by 1m,
// $__range by 1h, event="$event" by event=~".+" (any event), any other $event by .+; the variable
// query label_values(tacos_queue_waiting, event) becomes group by (event) (tacos_queue_waiting).
// Selectors are on namespace="tacos" and group by service (and pod): a Prometheus that scrapes
// tacos must attach namespace="tacos" and service="tacos-<role>" to its targets, as the Prometheus
// Operator does. Alert expressions return data only while their condition holds.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";

import { alertRules } from "./alerts.mjs";
import { DASHBOARD_FILE } from "./dashboard.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const CATALOGUE = resolve(here, "../../src/common/metric_catalogue.cpp");
const COMPONENTS = resolve(here, "../components");

/** An expression with Grafana's variables replaced by values Prometheus accepts. */
export function substitute(expr) {
  return expr
    .replace(/\$__rate_interval|\$__interval\b/g, "1m")
    .replace(/\$__range\b/g, "1h")
    .replace(/(\w+)\s*=\s*"\$event"/g, '$1=~".+"')
    .replace(/\$event\b/g, ".+");
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]);

/** The metric names an expression reads: identifiers that are not functions, keywords, label
 * names or strings. */
export function metricsOf(expr) {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings (label values, label_replace's arguments)
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " "); // grouping labels
  const out = new Set();
  for (const m of bare.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[1].toLowerCase())) out.add(m[1]);
  }
  return [...out].sort();
}

/** Every expression: the alerts', the dashboard panels', the event variable's, KEDA's and the
 * canary analysis's. */
export function expressions({ dashboardFile = DASHBOARD_FILE, alertsFile } = {}) {
  const out = [];
  const add = (source, expr) => {
    const runnable = substitute(expr.trim());
    const left = runnable.match(/\$(?:__)?[a-zA-Z]\w*/);
    if (left) throw new Error(`${source}: ${left[0]} has no substitute`);
    out.push({ source, expr: runnable, metrics: metricsOf(runnable) });
  };
  for (const r of alertRules(alertsFile)) add(`alert ${r.alert}`, r.expr);
  const dashboard = JSON.parse(readFileSync(dashboardFile, "utf8"));
  // A collapsed row holds its panels.
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
  if (!panels.length) throw new Error(`${dashboardFile}: no panels`);
  const titles = new Set();
  for (const p of panels) {
    if (titles.has(p.title)) throw new Error(`two panels are titled ${p.title}`);
    titles.add(p.title);
    for (const t of p.targets ?? []) if (t.expr) add(`panel ${p.title}`, t.expr);
  }
  for (const v of dashboard.templating?.list ?? []) {
    const m = typeof v.query === "string" && v.query.match(/^label_values\((.+),\s*(\w+)\)$/);
    if (v.type === "query" && m) add(`variable ${v.name}`, `group by (${m[2]}) (${m[1]})`);
  }
  for (const dir of readdirSync(COMPONENTS).sort()) {
    for (const name of readdirSync(join(COMPONENTS, dir)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(COMPONENTS, dir, name), "utf8"))) {
        const o = doc.toJS();
        if (o?.kind === "ScaledObject")
          for (const t of o.spec?.triggers ?? []) if (t.type === "prometheus") add(`keda ${o.metadata.name}`, t.metadata.query);
        if (o?.kind === "AnalysisTemplate")
          for (const m of o.spec?.metrics ?? []) if (m.provider?.prometheus) add(`analysis ${o.metadata.name}/${m.name}`, m.provider.prometheus.query);
      }
    }
  }
  return out;
}

/** The metric families tacos declares: name -> kind (counter, gauge, histogram). */
export function catalogue(file = CATALOGUE) {
  const text = readFileSync(file, "utf8");
  const families = new Map([...text.matchAll(/\{\s*"(tacos_[a-z0-9_]+)",\s*(counter|gauge|histogram)\b/g)].map((m) => [m[1], m[2]]));
  if (!families.size) throw new Error(`${file}: no metric family found (has its table's layout changed?)`);
  return families;
}

/** tacos_* names an expression reads that tacos does not expose (a histogram as _bucket, _sum or
 * _count; counters and gauges by their own name). */
export function undeclared(list, families) {
  const out = [];
  for (const { source, metrics } of list) {
    for (const name of metrics.filter((m) => m.startsWith("tacos_"))) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      const ok = families.has(name) ? families.get(name) !== "histogram" : families.get(base) === "histogram" && base !== name;
      if (!ok) out.push(`${source}: ${name} is not a metric tacos exposes`);
    }
  }
  return out;
}

function check(promtool) {
  const list = expressions();
  let failed = 0;
  const report = (name, problems) => {
    if (problems.length) failed++;
    console.log(`${problems.length ? "not ok" : "ok"} ${name}`);
    for (const p of problems) console.log(`    ${p}`);
  };
  const dir = mkdtempSync(join(tmpdir(), "tacos-promql-"));
  try {
    const file = join(dir, "exprs.rules.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "exprs", rules: list.map((e, i) => ({ record: `tacos:expr:${i}`, expr: e.expr })) }] }));
    let problems = [];
    try {
      execFileSync(promtool, ["check", "rules", file], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      problems = [`${e.stdout ?? ""}${e.stderr ?? e.message}`.trim()];
      // tacos:expr:N names the expression.
      problems = problems.map((p) => p.replace(/tacos:expr:(\d+)/g, (_, i) => `${list[i].source}`));
    }
    report(`${list.length} expressions parse (promtool check rules)`, problems);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report("every tacos_* metric they read is in tacos's catalogue", undeclared(list, catalogue()));
  report("every expression reads a metric", list.filter((e) => !e.metrics.length).map((e) => `${e.source}: ${e.expr}`));
  console.log(`promql: ${3 - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

function main() {
  const args = process.argv.slice(2);
  if (args.includes("--check")) {
    const i = args.indexOf("--promtool");
    return check(i >= 0 ? args[i + 1] : "promtool");
  }
  process.stdout.write(`${JSON.stringify(expressions(), null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
