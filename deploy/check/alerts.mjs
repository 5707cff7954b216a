// The alert rules' tests (ctest deploy_alerts): the PrometheusRule's spec.groups (deploy/base/
// alerts.yaml, or any file holding a PrometheusRule, rendered or not) written out as a plain
// Prometheus rule file, then
//   1. `promtool check rules` on it (syntax, PromQL, templates, duplicate rules);
//   2. every alert has, in alerts.test.yaml, a case where it fires (exp_alerts not empty) and one
//      where it does not (exp_alerts empty), and no case names an alert that is not there (its
//      empty expectation would pass for nothing);
//   3. `promtool test rules` on alerts.test.yaml, against that rule file.
// An expected alert's runbook_url is the rule's own (added here, so the test file need not repeat
// it); its summary must be written out in the test, as promtool compares annotations exactly.
//
//   node alerts.mjs [--promtool PATH] [--rules FILE]
//   node alerts.mjs --write FILE      only writes the plain rule file (a Prometheus loads it:
//                                     tests/functional/prometheus_ftest.cpp)
//
// Exit code 0: all three passed.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const ALERTS_FILE = resolve(here, "../base/alerts.yaml");
export const TESTS_FILE = join(here, "alerts.test.yaml");

/** The rule groups of every PrometheusRule in a YAML file (several documents allowed). */
export function ruleGroups(file = ALERTS_FILE) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true }).map((d) => d.toJS());
  const groups = docs.filter((o) => o?.kind === "PrometheusRule").flatMap((o) => o.spec?.groups ?? []);
  if (!groups.length) throw new Error(`${file}: no PrometheusRule with groups`);
  return groups;
}

/** Every alerting rule: { alert, expr, for, labels, annotations, group }. */
export function alertRules(file = ALERTS_FILE) {
  return ruleGroups(file).flatMap((g) => (g.rules ?? []).filter((r) => r.alert).map((r) => ({ ...r, group: g.name })));
}

/** What the test file lacks: an alert without a firing or a quiet case, or a case for no alert. */
export function coverageProblems(rules, tests) {
  const out = [];
  const names = new Set(rules.map((r) => r.alert));
  const cases = (tests.tests ?? []).flatMap((t) => t.alert_rule_test ?? []);
  for (const c of cases) if (!names.has(c.alertname)) out.push(`a test case names ${c.alertname}, which is not an alert`);
  for (const name of names) {
    const mine = cases.filter((c) => c.alertname === name);
    if (!mine.some((c) => (c.exp_alerts ?? []).length)) out.push(`${name}: no test case where it fires`);
    if (!mine.some((c) => !(c.exp_alerts ?? []).length)) out.push(`${name}: no test case where it does not fire`);
  }
  return out;
}

/** The test file as promtool gets it: reading `rulesPath`, each expected alert with its rule's
 * runbook_url. */
export function promtoolTests(rules, tests, rulesPath) {
  const out = structuredClone(tests);
  out.rule_files = [rulesPath];
  const urls = new Map(rules.map((r) => [r.alert, r.annotations?.runbook_url]));
  for (const t of out.tests ?? []) {
    for (const c of t.alert_rule_test ?? []) {
      for (const a of c.exp_alerts ?? []) {
        a.exp_annotations = { ...(a.exp_annotations ?? {}) };
        if (urls.get(c.alertname) && !("runbook_url" in a.exp_annotations)) a.exp_annotations.runbook_url = urls.get(c.alertname);
      }
    }
  }
  return out;
}

function main() {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const promtool = flag("--promtool", "promtool");
  const file = resolve(flag("--rules", ALERTS_FILE));
  const groups = ruleGroups(file);
  if (args.includes("--write")) {
    writeFileSync(flag("--write"), stringify({ groups }));
    return;
  }
  const rules = alertRules(file);
  const tests = parseAllDocuments(readFileSync(TESTS_FILE, "utf8"), { uniqueKeys: true })[0].toJS();
  const dir = mkdtempSync(join(tmpdir(), "tacos-alerts-"));
  let failed = 0;
  const step = (name, fn) => {
    try {
      const said = fn();
      console.log(`ok ${name}`);
      if (said) console.log(said.trim().replace(/^/gm, "    "));
    } catch (e) {
      failed++;
      console.log(`not ok ${name}`);
      console.log(String(e.stdout || "").trim().replace(/^/gm, "    "));
      console.log(String(e.stderr || e.message).trim().replace(/^/gm, "    "));
    }
  };
  try {
    const rulesPath = join(dir, "tacos.rules.yaml");
    writeFileSync(rulesPath, stringify({ groups }));
    step(`promtool check rules (${rules.length} alerts in ${groups.length} groups)`, () =>
      execFileSync(promtool, ["check", "rules", rulesPath], { encoding: "utf8", stdio: "pipe" }),
    );
    step("every alert has a case where it fires and one where it does not", () => {
      const problems = coverageProblems(rules, tests);
      if (problems.length) throw new Error(problems.join("\n"));
    });
    const testsPath = join(dir, "tacos.test.yaml");
    writeFileSync(testsPath, stringify(promtoolTests(rules, tests, rulesPath)));
    step("promtool test rules alerts.test.yaml", () => execFileSync(promtool, ["test", "rules", testsPath], { encoding: "utf8", stdio: "pipe" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`alerts: ${3 - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
