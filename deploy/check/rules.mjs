// The project's rules for rendered manifests (deploy/README.md): each takes every object of one
// environment and returns problems ("<Kind>/<name>: what is wrong"). check.mjs runs them all;
// rules.test.mjs breaks a good rendering one way per rule and expects that rule to refuse it.

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);
const SERVING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const id = (o) => `${o.kind}/${o.metadata?.name ?? "?"}`;
const podSpec = (o) => (o.kind === "CronJob" ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec);
const podLabels = (o) => o.spec?.template?.metadata?.labels ?? {};
const containersOf = (spec) => [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
const workloads = (objects) => objects.filter((o) => WORKLOADS.has(o.kind));
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const nsOf = (o) => o.metadata?.namespace ?? "default";

/** Pods run as the restricted Pod Security Standard wants, whatever the namespace enforces. */
export function podSecurity(objects) {
  const out = [];
  for (const o of workloads(objects)) {
    const spec = podSpec(o);
    const pod = spec?.securityContext ?? {};
    for (const c of containersOf(spec)) {
      const sc = c.securityContext ?? {};
      const where = `${id(o)} container ${c.name}`;
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${where}: capabilities do not drop ALL`);
      if ((sc.seccompProfile?.type ?? pod.seccompProfile?.type) !== "RuntimeDefault")
        out.push(`${where}: seccompProfile is not RuntimeDefault`);
    }
  }
  return out;
}

/** Every container asks for CPU and memory and is limited in both. */
export function resources(objects) {
  const out = [];
  for (const o of workloads(objects)) {
    for (const c of containersOf(podSpec(o))) {
      for (const kind of ["requests", "limits"]) {
        for (const r of ["cpu", "memory"]) {
          if (!c.resources?.[kind]?.[r]) out.push(`${id(o)} container ${c.name}: no ${kind}.${r}`);
        }
      }
    }
  }
  return out;
}

/** Long-running containers have startup, liveness and readiness probes. */
export function probes(objects) {
  const out = [];
  for (const o of objects.filter((x) => SERVING.has(x.kind))) {
    for (const c of podSpec(o)?.containers ?? []) {
      for (const p of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        if (!c[p]) out.push(`${id(o)} container ${c.name}: no ${p}`);
      }
    }
  }
  return out;
}

/** Every namespace enforces the restricted Pod Security Standard. */
export function podSecurityLabels(objects) {
  return objects
    .filter((o) => o.kind === "Namespace")
    .filter((o) => o.metadata?.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted")
    .map((o) => `${id(o)}: pod-security.kubernetes.io/enforce is not "restricted"`);
}

/** Each namespace with pods has a NetworkPolicy that denies everything to every pod. */
export function defaultDeny(objects) {
  const out = [];
  const namespaces = new Set(workloads(objects).map(nsOf));
  for (const ns of namespaces) {
    const deny = objects.some(
      (o) =>
        o.kind === "NetworkPolicy" &&
        nsOf(o) === ns &&
        Object.keys(o.spec?.podSelector ?? {}).length === 0 &&
        ["Ingress", "Egress"].every((t) => (o.spec?.policyTypes ?? []).includes(t)) &&
        !(o.spec?.ingress ?? []).length &&
        !(o.spec?.egress ?? []).length,
    );
    if (!deny) out.push(`namespace ${ns}: no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)`);
  }
  return out;
}

/** Images are pinned: a tag that is not `latest`, or a digest. */
export function pinnedImages(objects) {
  const out = [];
  for (const o of workloads(objects)) {
    for (const c of containersOf(podSpec(o))) {
      const image = c.image ?? "";
      const last = image.split("/").pop();
      if (image.includes("@sha256:")) continue;
      if (!last.includes(":")) out.push(`${id(o)} container ${c.name}: image ${image} has no tag`);
      else if (last.endsWith(":latest")) out.push(`${id(o)} container ${c.name}: image ${image} is :latest`);
    }
  }
  return out;
}

/** Nothing is left for a substitution that never happens (`${{env.X}}`, `${X}`). */
export function noPlaceholders(objects) {
  const out = [];
  for (const o of objects) {
    // A script in a ConfigMap (a k6 test) uses ${...} as its own language's syntax.
    const scriptless = o.kind === "ConfigMap" ? { ...o, data: Object.fromEntries(Object.entries(o.data ?? {}).filter(([k]) => !/\.(js|mjs|sh|lua)$/.test(k))) } : o;
    const text = JSON.stringify(scriptless);
    const found = text.match(/\$\{[^}]*\}?/);
    if (found) out.push(`${id(o)}: unsubstituted ${found[0]}`);
  }
  return out;
}

/** A Service selects pods, and each of its target ports is a port those pods' containers declare. */
export function services(objects) {
  const out = [];
  for (const s of objects.filter((o) => o.kind === "Service")) {
    if (s.spec?.type === "ExternalName") continue;
    const pods = workloads(objects).filter((w) => nsOf(w) === nsOf(s) && matches(s.spec?.selector, podLabels(w)));
    if (!s.spec?.selector || !pods.length) {
      out.push(`${id(s)}: its selector matches no pods`);
      continue;
    }
    for (const p of s.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const declared = pods.every((w) =>
        (podSpec(w)?.containers ?? []).some((c) =>
          (c.ports ?? []).some((cp) => cp.name === target || cp.containerPort === target),
        ),
      );
      if (!declared) out.push(`${id(s)}: targetPort ${target} is not a port of the pods it selects`);
    }
  }
  return out;
}

/** What an HPA scales, what a Rollout takes its pods from and analyses with, and what a PDB
 * protects exist. */
export function targets(objects) {
  const out = [];
  for (const h of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    const ref = h.spec?.scaleTargetRef ?? {};
    if (!objects.some((o) => o.kind === ref.kind && o.metadata?.name === ref.name && nsOf(o) === nsOf(h)))
      out.push(`${id(h)}: scales ${ref.kind}/${ref.name}, which is not there`);
    if ((h.spec?.maxReplicas ?? 0) <= (h.spec?.minReplicas ?? 1))
      out.push(`${id(h)}: maxReplicas is not above minReplicas (it can never scale)`);
  }
  for (const r of objects.filter((o) => o.kind === "Rollout")) {
    const ref = r.spec?.workloadRef;
    if (ref && !objects.some((o) => o.kind === ref.kind && o.metadata?.name === ref.name && nsOf(o) === nsOf(r)))
      out.push(`${id(r)}: takes its pods from ${ref.kind}/${ref.name}, which is not there`);
    for (const step of r.spec?.strategy?.canary?.steps ?? []) {
      for (const t of step.analysis?.templates ?? []) {
        if (!objects.some((o) => o.kind === (t.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate") && o.metadata?.name === t.templateName))
          out.push(`${id(r)}: its analysis ${t.templateName} is not rendered`);
      }
    }
  }
  for (const a of objects.filter((o) => o.kind === "AnalysisTemplate")) {
    for (const m of a.spec?.metrics ?? []) {
      if (!m.successCondition && !m.failureCondition) out.push(`${id(a)} metric ${m.name}: no success or failure condition`);
      if (m.provider?.prometheus && !(m.provider.prometheus.address && m.provider.prometheus.query))
        out.push(`${id(a)} metric ${m.name}: a Prometheus provider needs an address and a query`);
    }
  }
  for (const p of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
    const sel = p.spec?.selector?.matchLabels;
    if (!workloads(objects).some((w) => nsOf(w) === nsOf(p) && matches(sel, podLabels(w))))
      out.push(`${id(p)}: its selector matches no pods`);
  }
  return out;
}

// The value a container's environment gives `name` (env, or a ConfigMap it loads whole).
function envValue(objects, workload, container, name) {
  const direct = (container.env ?? []).find((e) => e.name === name);
  if (direct) return direct.value;
  for (const from of container.envFrom ?? []) {
    const m = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef?.name && nsOf(o) === nsOf(workload));
    if (m?.data?.[name] !== undefined) return m.data[name];
  }
  return undefined;
}

/** KEDA: a ScaledObject scales a Deployment that is rendered, which no HPA scales as well, over
 * a range; its PostgreSQL trigger reads the password the target's pods have and the database host
 * they use; its Prometheus trigger names a server and a query. */
export function autoscalers(objects) {
  const out = [];
  for (const so of objects.filter((o) => o.kind === "ScaledObject")) {
    const ref = so.spec?.scaleTargetRef ?? {};
    const kind = ref.kind ?? "Deployment";
    const target = objects.find((o) => o.kind === kind && o.metadata.name === ref.name && nsOf(o) === nsOf(so));
    if (!target) {
      out.push(`${id(so)}: scales ${kind}/${ref.name}, which is not there`);
      continue;
    }
    const hpa = objects.find(
      (o) => o.kind === "HorizontalPodAutoscaler" && nsOf(o) === nsOf(so) && o.spec?.scaleTargetRef?.name === ref.name,
    );
    if (hpa) out.push(`${id(so)}: ${id(hpa)} scales ${ref.name} too (they would fight)`);
    if ((so.spec?.maxReplicaCount ?? 100) <= (so.spec?.minReplicaCount ?? 0))
      out.push(`${id(so)}: maxReplicaCount is not above minReplicaCount`);
    const containers = podSpec(target)?.containers ?? [];
    for (const t of so.spec?.triggers ?? []) {
      const m = t.metadata ?? {};
      if (t.type === "postgresql") {
        const c = containers.find((x) => envValue(objects, target, x, m.passwordFromEnv) !== undefined || (x.env ?? []).some((e) => e.name === m.passwordFromEnv));
        if (!c) out.push(`${id(so)}: passwordFromEnv ${m.passwordFromEnv} is not in ${ref.name}'s environment`);
        const url = containers.map((x) => envValue(objects, target, x, "TACOS_STORE_POSTGRES_URL")).find(Boolean) ?? "";
        const host = url.match(/(?:^|\s)host=(\S+)/)?.[1];
        if (host && m.host !== host) out.push(`${id(so)}: reads host ${m.host}, but ${ref.name} uses ${host}`);
      }
      if (t.type === "prometheus" && (!m.serverAddress || !m.query)) out.push(`${id(so)}: a Prometheus trigger needs serverAddress and query`);
    }
  }
  return out;
}

// A rule of a Role that allows `verb` on Secrets, named `name` (resourceNames) or any.
const allowsOnSecret = (role, verb, name) =>
  (role.rules ?? []).some(
    (r) =>
      (r.apiGroups ?? []).includes("") &&
      (r.resources ?? []).includes("secrets") &&
      (r.verbs ?? []).includes(verb) &&
      (!(r.resourceNames ?? []).length || r.resourceNames.includes(name)),
  );

/** The Jobs of `ns` that make the Secret `name` in the cluster: their ServiceAccount is bound to a
 * Role that may create Secrets and read that one (components/generated-secrets), with the keys
 * each makes it with: the files its script writes into the directory it hands to
 * `kubectl create secret generic --from-file`. */
export function secretGenerators(objects, name, ns) {
  const roles = objects.filter(
    (o) => o.kind === "Role" && nsOf(o) === ns && allowsOnSecret(o, "create", name) && allowsOnSecret(o, "get", name),
  );
  const accounts = new Set(
    objects
      .filter((b) => b.kind === "RoleBinding" && nsOf(b) === ns && b.roleRef?.kind === "Role" && roles.some((r) => r.metadata.name === b.roleRef.name))
      .flatMap((b) => (b.subjects ?? []).filter((s) => s.kind === "ServiceAccount" && (s.namespace ?? ns) === ns).map((s) => s.name)),
  );
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return objects
    .filter((o) => o.kind === "Job" && nsOf(o) === ns && accounts.has(podSpec(o)?.serviceAccountName))
    .map((job) => {
      const keys = new Set();
      for (const c of containersOf(podSpec(job))) {
        const script = [...(c.command ?? []), ...(c.args ?? [])].join("\n");
        for (const [, dir] of script.matchAll(/--from-file=["']?([^\s"']+)/g)) {
          const written = new RegExp(`>\\s*["']?${escape(dir.replace(/\/$/, ""))}/([A-Za-z0-9._-]+)`, "g");
          for (const [, key] of script.matchAll(written)) keys.add(key);
        }
      }
      return { job, keys };
    });
}

/** The Secrets and ConfigMaps pods read are rendered, or made in the environment: by an
 * ExternalSecret, or in the cluster by a Job (`secretGenerators`); a key a pod reads from a Secret
 * made either way is one it is made with. `provided`: names created outside these manifests (none:
 * applying the manifests is the only step, deploy/README.md). */
export function references(objects, provided = new Set()) {
  const out = [];
  // What each made Secret holds: "ns/name" -> its keys (null: not known here).
  const made = new Map();
  for (const e of objects.filter((o) => o.kind === "ExternalSecret")) {
    made.set(`${nsOf(e)}/${e.spec?.target?.name ?? e.metadata.name}`, e.spec?.dataFrom?.length ? null : new Set((e.spec?.data ?? []).map((d) => d.secretKey)));
  }
  for (const o of workloads(objects)) {
    const spec = podSpec(o);
    const want = [];
    for (const c of containersOf(spec)) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) want.push(["Secret", e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]);
        if (e.valueFrom?.configMapKeyRef) want.push(["ConfigMap", e.valueFrom.configMapKeyRef.name]);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) want.push(["ConfigMap", e.configMapRef.name]);
        if (e.secretRef) want.push(["Secret", e.secretRef.name]);
      }
    }
    for (const v of spec?.volumes ?? []) {
      if (v.configMap) want.push(["ConfigMap", v.configMap.name]);
      if (v.secret) want.push(["Secret", v.secret.secretName]);
    }
    for (const [kind, name, key] of want) {
      if (kind === "Secret" && provided.has(name)) continue;
      const ns = nsOf(o);
      if (kind === "Secret" && !made.has(`${ns}/${name}`)) {
        const generators = secretGenerators(objects, name, ns);
        if (generators.length) made.set(`${ns}/${name}`, new Set(generators.flatMap((g) => [...g.keys])));
      }
      if (kind === "Secret" && made.has(`${ns}/${name}`)) {
        const keys = made.get(`${ns}/${name}`);
        if (key && keys && !keys.has(key)) out.push(`${id(o)}: reads key ${key} of Secret/${name}, which is not made with it`);
        continue;
      }
      if (!objects.some((x) => x.kind === kind && x.metadata?.name === name && nsOf(x) === ns))
        out.push(`${id(o)}: reads ${kind}/${name}, which is neither rendered nor made (an ExternalSecret, or a Job in the cluster)`);
    }
  }
  return out;
}

/** RBAC: a Role grants no "*", may not list or watch Secrets (every value of the namespace), and
 * reads or changes only the Secrets it names (create cannot be restricted to a name); a RoleBinding
 * binds a rendered Role of its namespace to rendered ServiceAccounts; a pod runs as a rendered
 * ServiceAccount, and mounts no token of the namespace's `default` one. */
export function rbac(objects) {
  const out = [];
  for (const r of objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole")) {
    for (const rule of r.rules ?? []) {
      const verbs = rule.verbs ?? [];
      if ([...verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])].includes("*")) out.push(`${id(r)}: a rule grants "*"`);
      if (!(rule.apiGroups ?? []).includes("") || !(rule.resources ?? []).includes("secrets")) continue;
      for (const v of verbs) {
        if (["list", "watch", "deletecollection"].includes(v)) out.push(`${id(r)}: may ${v} Secrets (every value of the namespace)`);
        else if (v !== "create" && !(rule.resourceNames ?? []).length) out.push(`${id(r)}: may ${v} any Secret (name the ones it needs: resourceNames)`);
      }
    }
  }
  for (const b of objects.filter((o) => o.kind === "RoleBinding")) {
    const ref = b.roleRef ?? {};
    if (ref.kind !== "Role") out.push(`${id(b)}: binds ${ref.kind}/${ref.name} (bind a Role of its namespace, whose rules are rendered)`);
    else if (!objects.some((o) => o.kind === "Role" && o.metadata.name === ref.name && nsOf(o) === nsOf(b))) out.push(`${id(b)}: its Role ${ref.name} is not rendered`);
    for (const s of b.subjects ?? []) {
      if (s.kind !== "ServiceAccount") out.push(`${id(b)}: binds ${s.kind} ${s.name} (only ServiceAccounts)`);
      else if (!objects.some((o) => o.kind === "ServiceAccount" && o.metadata.name === s.name && nsOf(o) === (s.namespace ?? nsOf(b))))
        out.push(`${id(b)}: its ServiceAccount ${s.name} is not rendered`);
    }
  }
  for (const o of workloads(objects)) {
    const spec = podSpec(o) ?? {};
    const name = spec.serviceAccountName ?? "default";
    const account = objects.find((x) => x.kind === "ServiceAccount" && x.metadata.name === name && nsOf(x) === nsOf(o));
    if (spec.serviceAccountName && !account) out.push(`${id(o)}: runs as ServiceAccount ${name}, which is not rendered`);
    else if (name === "default" && (spec.automountServiceAccountToken ?? true))
      out.push(`${id(o)}: mounts a token of the default ServiceAccount (give it one of its own, or automountServiceAccountToken: false)`);
  }
  return out;
}

/** No secret value is in the repository: no Secret is rendered with data, and every
 * ExternalSecret reads through a SecretStore that is rendered, whose ServiceAccount is too. */
export function secrets(objects) {
  const out = [];
  for (const s of objects.filter((o) => o.kind === "Secret")) {
    if (Object.keys(s.data ?? {}).length || Object.keys(s.stringData ?? {}).length)
      out.push(`${id(s)}: a secret value is in the manifests (use an ExternalSecret, or create it in the cluster)`);
  }
  for (const e of objects.filter((o) => o.kind === "ExternalSecret")) {
    const ref = e.spec?.secretStoreRef ?? {};
    const store = objects.find((o) => o.kind === (ref.kind ?? "SecretStore") && o.metadata.name === ref.name);
    if (!store) {
      out.push(`${id(e)}: its ${ref.kind ?? "SecretStore"} ${ref.name} is not rendered`);
      continue;
    }
    const account = store.spec?.provider?.aws?.auth?.jwt?.serviceAccountRef?.name;
    if (account && !objects.some((o) => o.kind === "ServiceAccount" && o.metadata.name === account && nsOf(o) === nsOf(store)))
      out.push(`${id(store)}: its ServiceAccount ${account} is not rendered`);
  }
  return out;
}

/** A tacos pod is given longer to stop than the server takes to drain: its grace period exceeds
 * its preStop pause plus http.shutdown_timeout_ms (from its environment, else its config file). */
export function gracefulStop(objects) {
  const out = [];
  for (const o of objects.filter((x) => SERVING.has(x.kind))) {
    const spec = podSpec(o);
    for (const c of spec?.containers ?? []) {
      if (!(c.image ?? "").includes("tacos")) continue;
      let drainMs = Number(envValue(objects, o, c, "TACOS_HTTP_SHUTDOWN_TIMEOUT_MS") ?? NaN);
      if (Number.isNaN(drainMs)) {
        const file = (spec.volumes ?? []).map((v) => v.configMap && objects.find((m) => m.kind === "ConfigMap" && m.metadata.name === v.configMap.name))
          .filter(Boolean).map((m) => Object.values(m.data ?? {}).join("\n")).join("\n");
        const section = file.split(/^\[/m).find((x) => x.startsWith("http]")) ?? "";
        drainMs = Number(section.match(/^shutdown_timeout_ms\s*=\s*(\d+)/m)?.[1] ?? 10000);
      }
      const pause = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      if (grace <= drainMs + pause)
        out.push(`${id(o)}: terminationGracePeriodSeconds ${grace / 1000} s is not longer than the preStop pause and the server's drain (${(pause + drainMs) / 1000} s)`);
    }
  }
  return out;
}

/** Every TACOS_* variable a pod sets, or a ConfigMap it loads with envFrom holds, is a key the
 * binary declares (`declared`: the TACOS_* names from `tacos config-reference`). */
export function declaredSettings(objects, declared) {
  const out = [];
  // TACOS_CONFIG names the config file: the one TACOS_* variable that is not a setting.
  const check = (where, name) => {
    if (name.startsWith("TACOS_") && name !== "TACOS_CONFIG" && !declared.has(name))
      out.push(`${where}: ${name} is not a setting tacos declares`);
  };
  for (const o of workloads(objects)) {
    for (const c of containersOf(podSpec(o))) {
      if (!(c.image ?? "").includes("tacos")) continue;
      for (const e of c.env ?? []) check(`${id(o)} container ${c.name}`, e.name);
    }
  }
  const loaded = new Set();
  for (const o of workloads(objects))
    for (const c of containersOf(podSpec(o))) for (const e of c.envFrom ?? []) if (e.configMapRef) loaded.add(e.configMapRef.name);
  for (const m of objects.filter((o) => o.kind === "ConfigMap" && loaded.has(o.metadata?.name))) {
    for (const k of Object.keys(m.data ?? {})) check(id(m), k);
  }
  return out;
}

/** Public routes: each attaches to a listener that exists; a plain-HTTP listener only redirects
 * to HTTPS; backends are Services and ports that exist; /metrics and /internal are never routed
 * (nor a prefix that would cover them, such as "/"). */
export function routes(objects) {
  const out = [];
  const gateways = objects.filter((o) => o.kind === "Gateway");
  for (const r of objects.filter((o) => o.kind === "HTTPRoute")) {
    for (const ref of r.spec?.parentRefs ?? []) {
      const g = gateways.find((x) => x.metadata.name === ref.name && nsOf(x) === (ref.namespace ?? nsOf(r)));
      const listener = g?.spec?.listeners?.find((l) => !ref.sectionName || l.name === ref.sectionName);
      if (!g || !listener) {
        out.push(`${id(r)}: attaches to ${ref.name}/${ref.sectionName ?? "*"}, which is not there`);
        continue;
      }
      if (listener.protocol === "HTTP") {
        const serves = (r.spec?.rules ?? []).some(
          (rule) => (rule.backendRefs ?? []).length || !(rule.filters ?? []).some((f) => f.type === "RequestRedirect"),
        );
        if (serves) out.push(`${id(r)}: serves plain HTTP on ${g.metadata.name}/${listener.name} instead of redirecting`);
      }
    }
    for (const rule of r.spec?.rules ?? []) {
      // A rule without backends (a redirect) reaches nothing.
      const reaches = (rule.backendRefs ?? []).length ? rule.matches ?? [{ path: { type: "PathPrefix", value: "/" } }] : [];
      for (const m of reaches) {
        const path = m.path?.value ?? "/";
        const prefix = (m.path?.type ?? "PathPrefix") !== "Exact";
        for (const hidden of ["/metrics", "/internal"]) {
          if (path.startsWith(hidden) || (prefix && hidden.startsWith(path.endsWith("/") ? path : `${path}/`)))
            out.push(`${id(r)}: routes ${path} publicly, which reaches ${hidden}`);
        }
      }
      for (const b of rule.backendRefs ?? []) {
        const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === b.name && nsOf(o) === nsOf(r));
        if (!svc) out.push(`${id(r)}: its backend Service ${b.name} is not there`);
        else if (!(svc.spec?.ports ?? []).some((p) => p.port === b.port))
          out.push(`${id(r)}: Service ${b.name} has no port ${b.port}`);
      }
    }
  }
  return out;
}

/** Every ServiceMonitor selects Services and scrapes a port they name. */
export function serviceMonitors(objects) {
  const out = [];
  for (const m of objects.filter((o) => o.kind === "ServiceMonitor")) {
    const services = objects.filter(
      (o) => o.kind === "Service" && nsOf(o) === nsOf(m) && matches(m.spec?.selector?.matchLabels, o.metadata?.labels ?? {}),
    );
    if (!services.length) out.push(`${id(m)}: its selector matches no Service`);
    for (const e of m.spec?.endpoints ?? []) {
      if (services.length && !services.every((s) => (s.spec?.ports ?? []).some((p) => p.name === e.port)))
        out.push(`${id(m)}: port ${e.port} is not a named port of the Services it selects`);
    }
  }
  return out;
}

/** Argo CD: the project allows this repository and the project's namespaces only (no "*"); every
 * Application (and each one an ApplicationSet's list makes) belongs to a rendered project, syncs
 * from a repository the project allows and a path that exists (`pathExists`), retries with
 * backoff, and, when automated, leaves Deployment replicas to the autoscalers. */
export function argo(objects, pathExists = () => true) {
  const out = [];
  const projects = new Map(objects.filter((o) => o.kind === "AppProject").map((p) => [p.metadata.name, p]));
  for (const p of projects.values()) {
    const repos = p.spec?.sourceRepos ?? [];
    if (!repos.length || repos.some((r) => r.includes("*"))) out.push(`${id(p)}: sourceRepos must name this repository only, not ${JSON.stringify(repos)}`);
    for (const d of p.spec?.destinations ?? []) {
      if ((d.namespace ?? "*").includes("*") || (d.server ?? d.name ?? "*").includes("*"))
        out.push(`${id(p)}: a destination allows any ${(d.namespace ?? "*").includes("*") ? "namespace" : "cluster"}`);
    }
    for (const w of p.spec?.clusterResourceWhitelist ?? []) {
      if (w.kind === "*" || w.group === "*") out.push(`${id(p)}: clusterResourceWhitelist allows every cluster-scoped kind`);
    }
  }
  const apps = [];
  for (const a of objects.filter((o) => o.kind === "Application")) apps.push([id(a), a.spec]);
  for (const set of objects.filter((o) => o.kind === "ApplicationSet")) {
    const elements = (set.spec?.generators ?? []).flatMap((g) => g.list?.elements ?? []);
    for (const e of elements) {
      const spec = JSON.parse(JSON.stringify(set.spec.template.spec).replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => e[k] ?? `{{.${k}}}`));
      apps.push([`${id(set)} (${Object.values(e).join(", ")})`, spec]);
    }
  }
  for (const [name, spec] of apps) {
    const project = projects.get(spec?.project);
    if (!project) {
      out.push(`${name}: its project ${spec?.project} is not rendered`);
      continue;
    }
    const source = spec.source ?? {};
    if (!(project.spec?.sourceRepos ?? []).includes(source.repoURL)) out.push(`${name}: ${source.repoURL} is not a repository of its project`);
    if (!pathExists(source.path)) out.push(`${name}: path ${source.path} is not in the repository`);
    const dest = spec.destination ?? {};
    if (!(project.spec?.destinations ?? []).some((d) => d.namespace === dest.namespace && (d.server ?? d.name) === (dest.server ?? dest.name)))
      out.push(`${name}: its destination ${dest.server ?? dest.name}/${dest.namespace} is not one its project allows`);
    if (!spec.syncPolicy?.retry?.backoff) out.push(`${name}: no sync retry with backoff`);
    const overlay = (source.path ?? "").startsWith("deploy/overlays/");
    if (overlay && spec.syncPolicy?.automated) {
      const ignores = (spec.ignoreDifferences ?? []).some(
        (d) => d.kind === "Deployment" && (d.jsonPointers ?? []).includes("/spec/replicas"),
      );
      if (!ignores) out.push(`${name}: automated sync would fight the HPAs over Deployment replicas (ignoreDifferences)`);
    }
  }
  return out;
}

/** Argo CD may sync every kind the environments render: each is in the project's whitelist
 * (Namespace in the cluster-scoped one, the rest in the namespaced one). */
export function projectAllows(project, rendered) {
  const out = [];
  const has = (list, o) => {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    return (list ?? []).some((w) => w.group === group && w.kind === o.kind);
  };
  const seen = new Set();
  for (const o of rendered) {
    const key = `${o.apiVersion} ${o.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const list = o.kind === "Namespace" ? project.spec?.clusterResourceWhitelist : project.spec?.namespaceResourceWhitelist;
    if (!has(list, o)) out.push(`AppProject/${project.metadata.name}: does not allow ${o.kind} (${o.apiVersion}), which the environments render`);
  }
  return out;
}

/** Alerts: each has a severity, a summary and a runbook_url whose section exists (`sections`:
 * the GitHub anchors of docs/runbook.md's headings). */
export function alerts(objects, sections = new Set()) {
  const out = [];
  for (const r of objects.filter((o) => o.kind === "PrometheusRule")) {
    for (const g of r.spec?.groups ?? []) {
      for (const rule of (g.rules ?? []).filter((x) => x.alert)) {
        const where = `${id(r)} alert ${rule.alert}`;
        if (!rule.labels?.severity) out.push(`${where}: no severity label`);
        if (!rule.annotations?.summary) out.push(`${where}: no summary`);
        const anchor = (rule.annotations?.runbook_url ?? "").match(/docs\/runbook\.md#([\w-]+)$/)?.[1];
        if (!anchor) out.push(`${where}: its runbook_url does not point at a section of docs/runbook.md`);
        else if (!sections.has(anchor)) out.push(`${where}: docs/runbook.md has no section #${anchor}`);
      }
    }
  }
  return out;
}

/** The platform (deploy/platform) and what the environments ask of it: every priority class and
 * Karpenter pool a pod names exists, no pod but a load test tolerates the load-test pool's taint,
 * nodes allow IMDSv2 only with a hop limit of 1, and the pools are Karpenter v1. */
export function platform(platformObjects, environments) {
  const out = [];
  const priorities = new Set(platformObjects.filter((o) => o.kind === "PriorityClass").map((o) => o.metadata.name));
  const pools = new Map(
    platformObjects.filter((o) => o.kind === "NodePool").map((o) => [o.spec?.template?.metadata?.labels?.["tacos/pool"], o]),
  );
  for (const c of platformObjects.filter((o) => o.kind === "EC2NodeClass")) {
    const m = c.spec?.metadataOptions ?? {};
    if (m.httpTokens !== "required") out.push(`${id(c)}: IMDSv1 is allowed (metadataOptions.httpTokens is not "required")`);
    if ((m.httpPutResponseHopLimit ?? 2) > 1) out.push(`${id(c)}: pods can reach the node's metadata (hop limit above 1)`);
  }
  for (const p of platformObjects.filter((o) => o.kind === "NodePool")) {
    if (p.apiVersion !== "karpenter.sh/v1") out.push(`${id(p)}: ${p.apiVersion} (Karpenter v1 is karpenter.sh/v1)`);
    const ref = p.spec?.template?.spec?.nodeClassRef ?? {};
    if (!platformObjects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)) out.push(`${id(p)}: its node class ${ref.kind}/${ref.name} is not rendered`);
  }
  const tainted = [...pools.values()].filter((p) => (p.spec?.template?.spec?.taints ?? []).length);
  for (const [env, objects] of environments) {
    for (const o of workloads(objects)) {
      const spec = podSpec(o) ?? {};
      const where = `${env}: ${id(o)}`;
      if (spec.priorityClassName && !priorities.has(spec.priorityClassName)) out.push(`${where}: priority class ${spec.priorityClassName} is not in deploy/platform`);
      const pool = spec.nodeSelector?.["tacos/pool"];
      if (pool && !pools.has(pool)) out.push(`${where}: node pool ${pool} is not in deploy/platform`);
      for (const p of tainted) {
        const tolerates = (p.spec.template.spec.taints ?? []).every((t) => (spec.tolerations ?? []).some((x) => x.key === t.key));
        if (tolerates && spec.priorityClassName !== "tacos-loadtest") out.push(`${where}: tolerates the ${p.metadata.name} pool's taint but is not a load test`);
      }
    }
  }
  return out;
}

/** Chaos Mesh: every experiment (or scheduled one) is bounded, and each of its selectors — the
 * pods it hits and, for network chaos, the pods it targets — matches pods `environment` renders. */
export function chaos(experiments, environment) {
  const out = [];
  const pods = workloads(environment);
  const selects = (sel) =>
    pods.some((w) => (sel?.namespaces ?? [nsOf(w)]).includes(nsOf(w)) && matches(sel?.labelSelectors, podLabels(w)));
  for (const e of experiments.filter((o) => o.apiVersion?.startsWith("chaos-mesh.org/"))) {
    const spec = e.kind === "Schedule" ? e.spec?.[`${e.spec.type?.[0]?.toLowerCase()}${e.spec.type?.slice(1)}`] : e.spec;
    if (!spec) {
      out.push(`${id(e)}: no experiment of type ${e.spec?.type}`);
      continue;
    }
    if (e.kind !== "Schedule" && !spec.duration && spec.action !== "pod-kill") out.push(`${id(e)}: no duration (it would never end)`);
    if (!spec.mode) out.push(`${id(e)}: no mode`);
    if (!Object.keys(spec.selector?.labelSelectors ?? {}).length) out.push(`${id(e)}: no label selector (it would hit every pod)`);
    else if (!selects(spec.selector)) out.push(`${id(e)}: its selector matches no pod`);
    if (spec.target && !selects(spec.target.selector)) out.push(`${id(e)}: its target selector matches no pod`);
  }
  return out;
}

/** k6-operator: a TestRun's script is a ConfigMap it renders, holding the named file, and its
 * runners run on the load-test pool at the load-test priority, as non-root. */
export function loadtest(objects) {
  const out = [];
  for (const t of objects.filter((o) => o.kind === "TestRun")) {
    const ref = t.spec?.script?.configMap ?? {};
    const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ref.name && nsOf(o) === nsOf(t));
    if (!map) out.push(`${id(t)}: its script's ConfigMap ${ref.name} is not rendered under that name`);
    else if (!(ref.file in (map.data ?? {}))) out.push(`${id(t)}: ConfigMap ${ref.name} has no ${ref.file}`);
    const runner = t.spec?.runner ?? {};
    if (runner.nodeSelector?.["tacos/pool"] !== "loadtest") out.push(`${id(t)}: its runners are not on the loadtest pool`);
    if (runner.priorityClassName !== "tacos-loadtest") out.push(`${id(t)}: its runners are not at the tacos-loadtest priority`);
    if (runner.securityContext?.runAsNonRoot !== true) out.push(`${id(t)}: its runners may run as root`);
    if (!runner.resources?.limits?.cpu || !runner.resources?.limits?.memory) out.push(`${id(t)}: its runners have no limits`);
  }
  return out;
}

export const RULES = {
  podSecurity,
  resources,
  probes,
  podSecurityLabels,
  defaultDeny,
  pinnedImages,
  noPlaceholders,
  services,
  targets,
  references,
  routes,
  serviceMonitors,
  secrets,
  rbac,
  autoscalers,
  gracefulStop,
};
