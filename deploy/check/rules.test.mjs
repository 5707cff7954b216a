// Each check refuses a manifest broken its way: the local environment is rendered once, passes
// every check, and then one copy per defect (each a defect the original deployment repositories
// shipped) must be refused by the check that owns it. TACOS_BIN is the binary to ask.
//
//   TACOS_BIN=build/ci/src/app/tacos node --test rules.test.mjs

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  binaryProblems,
  declaredNames,
  helmDifferences,
  helmLint,
  parseYaml,
  render,
  renderHelm,
  renderPath,
  repoPathExists,
  runbookSections,
  schemaProblems,
} from "./check.mjs";
import { RULES, alerts, argo, chaos, declaredSettings, loadtest, platform, projectAllows } from "./rules.mjs";

const tacos = process.env.TACOS_BIN;
const good = render("local");
const copy = () => structuredClone(good);
const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const gateway = (objects) => find(objects, "Deployment", "tacos-gateway");
const container = (objects) => gateway(objects).spec.template.spec.containers[0];

test("the good rendering passes every check", async () => {
  for (const [name, rule] of Object.entries(RULES)) assert.deepEqual(rule(good), [], name);
  assert.deepEqual(declaredSettings(good, declaredNames(tacos)), []);
  for (const o of good) assert.deepEqual(await schemaProblems(o), [], `${o.kind}/${o.metadata.name}`);
  assert.deepEqual(binaryProblems(good, tacos), []);
});

// One defect per case: what breaks, and the rule that must refuse it.
const cases = [
  ["a container that may escalate privileges", "podSecurity", (o) => { container(o).securityContext.allowPrivilegeEscalation = true; }],
  ["a writable root filesystem", "podSecurity", (o) => { delete container(o).securityContext.readOnlyRootFilesystem; }],
  ["capabilities not dropped", "podSecurity", (o) => { container(o).securityContext.capabilities = {}; }],
  ["a pod that may run as root", "podSecurity", (o) => { delete gateway(o).spec.template.spec.securityContext.runAsNonRoot; }],
  ["no seccomp profile", "podSecurity", (o) => { delete gateway(o).spec.template.spec.securityContext.seccompProfile; }],
  ["no memory limit", "resources", (o) => { delete container(o).resources.limits.memory; }],
  ["no readiness probe", "probes", (o) => { delete container(o).readinessProbe; }],
  ["a namespace without Pod Security", "podSecurityLabels", (o) => { delete find(o, "Namespace", "tacos").metadata.labels["pod-security.kubernetes.io/enforce"]; }],
  ["no default-deny NetworkPolicy", "defaultDeny", (o) => { o.splice(o.indexOf(find(o, "NetworkPolicy", "default-deny")), 1); }],
  ["a :latest image", "pinnedImages", (o) => { container(o).image = "ghcr.io/traffic-tacos/tacos:latest"; }],
  ["an image without a tag", "pinnedImages", (o) => { container(o).image = "ghcr.io/traffic-tacos/tacos"; }],
  ["a ${{env.AMP_WORKSPACE}} nobody substituted", "noPlaceholders", (o) => { find(o, "ConfigMap", gateway(o).spec.template.spec.containers[0].envFrom[0].configMapRef.name).data.TACOS_LOG_LEVEL = "${{env.AMP_WORKSPACE}}"; }],
  ["a Service port no container exposes", "services", (o) => { find(o, "Service", "tacos-queue").spec.ports[0].targetPort = 8081; }],
  ["a Service that selects no pods", "services", (o) => { find(o, "Service", "tacos-queue").spec.selector["app.kubernetes.io/component"] = "queue-v2"; }],
  ["an HPA of a Deployment that is not there", "targets", (o) => {
    o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "payment-api", namespace: "tacos" },
             spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "payment-api" }, minReplicas: 1, maxReplicas: 3 } });
  }],
  ["an HPA pinned to one replica", "targets", (o) => {
    o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "tacos-payment", namespace: "tacos" },
             spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "tacos-payment" }, minReplicas: 1, maxReplicas: 1 } });
  }],
  ["a PDB that protects no pods", "targets", (o) => { find(o, "PodDisruptionBudget", "tacos-queue").spec.selector.matchLabels["app.kubernetes.io/component"] = "queueing"; }],
  ["an HTTP listener that serves instead of redirecting", "routes", (o) => {
    const rule = find(o, "HTTPRoute", "tacos-redirect-to-https").spec.rules[0];
    delete rule.filters;
    rule.backendRefs = [{ name: "tacos-gateway", port: 80 }];
  }],
  ["/metrics routed publicly", "routes", (o) => { find(o, "HTTPRoute", "tacos").spec.rules[0].matches.push({ path: { type: "PathPrefix", value: "/metrics" } }); }],
  ["a catch-all prefix that reaches /internal", "routes", (o) => { find(o, "HTTPRoute", "tacos").spec.rules[0].matches = [{ path: { type: "PathPrefix", value: "/" } }]; }],
  ["a route to a Service port that does not exist", "routes", (o) => { find(o, "HTTPRoute", "tacos").spec.rules[0].backendRefs[0].port = 8080; }],
  ["a route on a listener that does not exist", "routes", (o) => { find(o, "HTTPRoute", "tacos").spec.parentRefs[0].sectionName = "https-v2"; }],
  ["a ServiceMonitor scraping a port the Service does not name", "serviceMonitors", (o) => { find(o, "ServiceMonitor", "tacos-queue").spec.endpoints[0].port = "metrics"; }],
  ["a ServiceMonitor that selects no Service", "serviceMonitors", (o) => { find(o, "ServiceMonitor", "tacos-queue").spec.selector.matchLabels["app.kubernetes.io/component"] = "queue-api"; }],
  ["a grace period shorter than the server's drain", "gracefulStop", (o) => { gateway(o).spec.template.spec.terminationGracePeriodSeconds = 15; }],
  ["a drain made longer than the grace period", "gracefulStop", (o) => {
    find(o, "ConfigMap", container(o).envFrom[0].configMapRef.name).data.TACOS_HTTP_SHUTDOWN_TIMEOUT_MS = "60000";
  }],
  ["a ConfigMap nobody renders", "references", (o) => { gateway(o).spec.template.spec.volumes[0].configMap.name = "tacos-config-old"; }],
  // tacos-secrets is made in the cluster (components/generated-secrets): without its Job the manual
  // `kubectl create secret` step would be back; a key the Job does not make would stop the pods.
  ["tacos-secrets that nothing makes", "references", (o) => { o.splice(o.indexOf(find(o, "Job", "tacos-secrets-generator")), 1); }],
  ["tacos-secrets made by a Job that may not create Secrets", "references", (o) => { find(o, "Role", "tacos-secrets-generator").rules.pop(); }],
  ["a key of tacos-secrets the generator does not make", "references", (o) => {
    container(o).env.push({ name: "TACOS_AUTH_JWT_SECRET_PREVIOUS", valueFrom: { secretKeyRef: { name: "tacos-secrets", key: "jwt-secret-previous" } } });
  }],
  ["a Role that may list every Secret", "rbac", (o) => { find(o, "Role", "tacos-secrets-generator").rules[0].verbs.push("list"); }],
  ["a Role that may read any Secret", "rbac", (o) => { delete find(o, "Role", "tacos-secrets-generator").rules[0].resourceNames; }],
  ["a Role that grants everything", "rbac", (o) => { find(o, "Role", "tacos-secrets-generator").rules.push({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }); }],
  ["a RoleBinding to a cluster role", "rbac", (o) => { find(o, "RoleBinding", "tacos-secrets-generator").roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }; }],
  ["a RoleBinding to a ServiceAccount that is not rendered", "rbac", (o) => { find(o, "RoleBinding", "tacos-secrets-generator").subjects[0].name = "tacos-secrets-writer"; }],
  ["a pod with the default ServiceAccount's token", "rbac", (o) => { find(o, "Job", "tacos-migrate").spec.template.spec.automountServiceAccountToken = true; }],
  ["a pod whose ServiceAccount is not rendered", "rbac", (o) => { find(o, "Job", "tacos-secrets-generator").spec.template.spec.serviceAccountName = "kubectl"; }],
];

for (const [what, rule, breakIt] of cases) {
  test(`${rule} refuses ${what}`, () => {
    const broken = copy();
    breakIt(broken);
    const problems = RULES[rule](broken);
    assert.ok(problems.length > 0, `${rule} accepted ${what}`);
  });
}

test("an environment variable the service no longer reads is refused", () => {
  const broken = copy();
  container(broken).env.push({ name: "TACOS_AMP_WORKSPACE", value: "x" });
  assert.ok(declaredSettings(broken, declaredNames(tacos)).some((p) => p.includes("TACOS_AMP_WORKSPACE")));
});

test("a value the binary refuses is refused, and so is a config file key it does not know", () => {
  const badValue = copy();
  container(badValue).env.push({ name: "TACOS_KV_BACKEND", value: "memcached" });
  assert.ok(binaryProblems(badValue, tacos).some((p) => p.includes("memcached")));
  const badFile = copy();
  const config = find(badFile, "ConfigMap", gateway(badFile).spec.template.spec.volumes[0].configMap.name);
  config.data["tacos.ini"] += "\n[queue]\nadmission_rate_per_sec = 10\n";
  assert.ok(binaryProblems(badFile, tacos).some((p) => p.includes("admission_rate_per_sec")));
});

test("a field in the wrong place fails its schema", async () => {
  const broken = copy();
  gateway(broken).spec.replicas = "two";
  assert.ok((await schemaProblems(gateway(broken))).length > 0);
});

test("a misspelt or misplaced field is an unknown field, and a label is not", async () => {
  const broken = copy();
  container(broken).securityContext.readOnlyRootFilesystme = true;
  gateway(broken).spec.replica = 3;
  gateway(broken).spec.template.metadata.labels["example.com/team"] = "tickets";
  const problems = await schemaProblems(gateway(broken));
  assert.equal(problems.length, 2, problems.join("; "));
  assert.ok(problems.some((p) => p.endsWith("/securityContext/readOnlyRootFilesystme")));
  assert.ok(problems.some((p) => p.endsWith("/spec/replica")));
});

test("a YAML key declared twice is refused, not silently dropped", () => {
  const text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports: []\n  ports:\n    - port: 80\n";
  assert.throws(() => parseYaml(text, "twice.yaml"), /twice\.yaml/);
});

// Argo CD: the app-of-apps renders clean, and each defect of the original AppProject and
// Applications is refused.
const argoGood = renderPath("argocd");
const argoCases = [
  ["a project that allows every repository", (o) => { find(o, "AppProject", "tacos").spec.sourceRepos = ["*"]; }],
  ["a project that allows every namespace", (o) => { find(o, "AppProject", "tacos").spec.destinations[0].namespace = "*"; }],
  ["a project that allows every cluster-scoped kind", (o) => { find(o, "AppProject", "tacos").spec.clusterResourceWhitelist = [{ group: "*", kind: "*" }]; }],
  ["an application from another repository", (o) => { find(o, "Application", "tacos-root").spec.source.repoURL = "https://github.com/someone/else.git"; }],
  ["an environment whose overlay does not exist", (o) => { find(o, "ApplicationSet", "tacos").spec.template.spec.source.path = "deploy/overlay/{{.env}}"; }],
  ["syncs without retries", (o) => { delete find(o, "ApplicationSet", "tacos").spec.template.spec.syncPolicy.retry; }],
  ["an automated sync that fights the HPAs", (o) => { delete find(o, "ApplicationSet", "tacos").spec.template.spec.ignoreDifferences; }],
  ["a destination the project does not allow", (o) => { find(o, "Application", "tacos-root").spec.destination.namespace = "default"; }],
];
test("the Argo CD objects pass", () => assert.deepEqual(argo(argoGood, repoPathExists), []));
for (const [what, breakIt] of argoCases) {
  test(`argo refuses ${what}`, () => {
    const broken = structuredClone(argoGood);
    breakIt(broken);
    assert.ok(argo(broken, repoPathExists).length > 0, `argo accepted ${what}`);
  });
}

// The Helm chart renders what the overlay renders, and a drift between them is caught.
test("the chart with values-local.yaml renders the local overlay's objects", () => {
  assert.deepEqual(helmDifferences(good, renderHelm("local")), []);
  assert.deepEqual(helmLint("local"), []);
});
test("a drift between the chart and the overlay is refused", () => {
  const helmed = renderHelm("local");
  const missing = helmed.filter((o) => !(o.kind === "Deployment" && o.metadata.name === "tacos-worker"));
  assert.ok(helmDifferences(good, missing).some((p) => p.includes("Deployment/tacos/tacos-worker")));
  const otherArgs = structuredClone(helmed);
  find(otherArgs, "Deployment", "tacos-queue").spec.template.spec.containers[0].args = ["serve", "--roles", "queue,inventory"];
  assert.ok(helmDifferences(good, otherArgs).some((p) => p.includes("Deployment/tacos/tacos-queue pod template")));
  const otherEnv = structuredClone(helmed);
  find(otherEnv, "ConfigMap", "tacos-env").data.TACOS_LOG_LEVEL = "warn";
  assert.ok(helmDifferences(good, otherEnv).some((p) => p.includes("tacos-env")));
  // The dashboard: another copy of its JSON, or a ConfigMap Grafana's sidecar would not load.
  const otherDashboard = structuredClone(helmed);
  find(otherDashboard, "ConfigMap", "tacos-dashboards").data["tacos.json"] = "{}";
  delete find(otherDashboard, "ConfigMap", "tacos-dashboards").metadata.labels.grafana_dashboard;
  const problems = helmDifferences(good, otherDashboard);
  assert.ok(problems.some((p) => p.includes("tacos-dashboards") && p.includes("data")));
  assert.ok(problems.some((p) => p.includes("tacos-dashboards") && p.includes("grafana_dashboard")));
});

test("a secret value in the manifests is refused, and so is an ExternalSecret without its store", () => {
  // Local and dev make tacos-secrets in the cluster: no Secret is rendered, with a value or without.
  for (const objects of [good, render("dev")]) {
    assert.deepEqual(objects.filter((o) => o.kind === "Secret"), []);
    assert.ok(find(objects, "Job", "tacos-secrets-generator"));
  }
  const withValue = copy();
  withValue.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "tacos-secrets", namespace: "tacos" }, stringData: { "jwt-secret": "hunter2" } });
  assert.ok(RULES.secrets(withValue).length > 0);
  const prod = render("prod");
  assert.deepEqual(RULES.secrets(prod), []);
  find(prod, "ExternalSecret", "tacos-secrets").spec.secretStoreRef.name = "vault";
  assert.ok(RULES.secrets(prod).length > 0);
});

test("a kind the environments render but the Argo CD project does not allow is refused", () => {
  const project = structuredClone(find(argoGood, "AppProject", "tacos"));
  project.spec.namespaceResourceWhitelist = project.spec.namespaceResourceWhitelist.filter((w) => w.kind !== "NetworkPolicy");
  assert.ok(projectAllows(project, good).some((p) => p.includes("NetworkPolicy")));
  // The generator of tacos-secrets (local, dev) needs its Role and RoleBinding.
  const noRbac = structuredClone(find(argoGood, "AppProject", "tacos"));
  noRbac.spec.namespaceResourceWhitelist = noRbac.spec.namespaceResourceWhitelist.filter((w) => w.group !== "rbac.authorization.k8s.io");
  const refused = projectAllows(noRbac, good);
  assert.ok(refused.some((p) => p.includes("does not allow Role ")) && refused.some((p) => p.includes("RoleBinding")), refused.join("; "));
  assert.deepEqual(projectAllows(find(argoGood, "AppProject", "tacos"), good), []);
});

test("KEDA: a ScaledObject fighting an HPA, reading another database, or a password the pods lack is refused", () => {
  const prod = render("prod");
  assert.deepEqual(RULES.autoscalers(prod), []);
  const fight = structuredClone(prod);
  find(fight, "ScaledObject", "tacos-queue").spec.scaleTargetRef.name = "tacos-gateway";
  assert.ok(RULES.autoscalers(fight).some((p) => p.includes("would fight")));
  const otherHost = structuredClone(prod);
  find(otherHost, "ScaledObject", "tacos-worker").spec.triggers[0].metadata.host = "old-db.example.com";
  assert.ok(RULES.autoscalers(otherHost).some((p) => p.includes("old-db.example.com")));
  const noPassword = structuredClone(prod);
  find(noPassword, "ScaledObject", "tacos-worker").spec.triggers[0].metadata.passwordFromEnv = "PGPASSWORD";
  assert.ok(RULES.autoscalers(noPassword).some((p) => p.includes("PGPASSWORD")));
});

test("an alert without a severity, or whose runbook section is missing, is refused", () => {
  const sections = runbookSections();
  assert.deepEqual(alerts(good, sections), []);
  const broken = copy();
  const rules = find(broken, "PrometheusRule", "tacos").spec.groups[0].rules;
  delete rules[0].labels.severity;
  rules[1].annotations.runbook_url = "https://github.com/traffic-tacos/tacos/blob/main/docs/runbook.md#tacosnosuchalert";
  const problems = alerts(broken, sections);
  assert.ok(problems.some((p) => p.includes("no severity")));
  assert.ok(problems.some((p) => p.includes("#tacosnosuchalert")));
});

test("a Rollout from a Deployment that is not there, or analysed by a missing template, is refused", () => {
  const prod = render("prod");
  assert.deepEqual(RULES.targets(prod), []);
  const broken = structuredClone(prod);
  find(broken, "Rollout", "tacos-gateway").spec.workloadRef.name = "gateway";
  find(broken, "AnalysisTemplate", "tacos-gateway-health").metadata.name = "gateway-health";
  const problems = RULES.targets(broken);
  assert.ok(problems.some((p) => p.includes("Deployment/gateway")));
  assert.ok(problems.some((p) => p.includes("tacos-gateway-health")));
});

// The platform: Karpenter and priority classes, and what the environments ask of them.
test("the platform refuses IMDSv1, a pool or priority nobody defined, and a pod on the load-test pool", () => {
  const platformGood = renderPath("platform");
  const prod = render("prod");
  assert.deepEqual(platform(platformGood, [["prod", prod]]), []);
  const imds = structuredClone(platformGood);
  find(imds, "EC2NodeClass", "tacos").spec.metadataOptions.httpTokens = "optional";
  assert.ok(platform(imds, []).some((p) => p.includes("IMDSv1")));
  const oldApi = structuredClone(platformGood);
  find(oldApi, "NodePool", "general").apiVersion = "karpenter.sh/v1beta1";
  assert.ok(platform(oldApi, []).some((p) => p.includes("v1beta1")));
  const asks = structuredClone(prod);
  find(asks, "Deployment", "tacos-queue").spec.template.spec.priorityClassName = "high";
  find(asks, "Deployment", "tacos-worker").spec.template.spec.nodeSelector["tacos/pool"] = "batch";
  find(asks, "Deployment", "tacos-payment").spec.template.spec.tolerations = [{ key: "tacos/loadtest", operator: "Exists" }];
  const problems = platform(platformGood, [["prod", asks]]);
  assert.ok(problems.some((p) => p.includes("priority class high")));
  assert.ok(problems.some((p) => p.includes("node pool batch")));
  assert.ok(problems.some((p) => p.includes("tacos-payment") && p.includes("loadtest")));
});

test("a chaos experiment whose selector matches no pod, or that never ends, is refused", () => {
  const dev = render("dev");
  const experiments = renderPath("chaos");
  assert.deepEqual(chaos(experiments, dev), []);
  const broken = structuredClone(experiments);
  find(broken, "Schedule", "kill-queue").spec.podChaos.selector.labelSelectors["app.kubernetes.io/component"] = "queue-service";
  delete find(broken, "NetworkChaos", "delay-to-redis").spec.duration;
  find(broken, "NetworkChaos", "delay-to-postgres").spec.target.selector.labelSelectors["app.kubernetes.io/name"] = "rds";
  const problems = chaos(broken, dev);
  assert.ok(problems.some((p) => p.includes("kill-queue") && p.includes("matches no pod")));
  assert.ok(problems.some((p) => p.includes("delay-to-redis") && p.includes("no duration")));
  assert.ok(problems.some((p) => p.includes("delay-to-postgres") && p.includes("target")));
});

test("a load test whose script is not rendered, or that runs off the load-test pool, is refused", () => {
  const objects = renderPath("loadtest");
  assert.deepEqual(loadtest(objects), []);
  const broken = structuredClone(objects);
  find(broken, "TestRun", "fan-flow").spec.script.configMap.file = "script.js";
  delete find(broken, "TestRun", "fan-flow").spec.runner.nodeSelector;
  const problems = loadtest(broken);
  assert.ok(problems.some((p) => p.includes("script.js")));
  assert.ok(problems.some((p) => p.includes("loadtest pool")));
});
