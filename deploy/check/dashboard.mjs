// The Grafana dashboard "Traffic Tacos" as code (npm @grafana/grafana-foundation-sdk): one row per
// concern, the organiser's view of one event first (pick it in the `event` variable), then the
// operator's view of the roles. Written to deploy/base/dashboards/tacos.json, which is committed and
// shipped as the ConfigMap tacos-dashboards (label grafana_dashboard: "1", for Grafana's sidecar).
//
//   node dashboard.mjs            writes deploy/base/dashboards/tacos.json
//   node dashboard.mjs --check    fails if the committed file differs from what this script makes
//                                 (ctest deploy_dashboard)
//
// Every selector is on namespace="tacos"; the Prometheus Operator adds service (tacos-<role>) and
// pod to each target. Queue numbers use max, not sum: every queue replica of a shared waiting room
// reports the room's numbers; so do the workers for the jobs table they share.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ReduceDataOptionsBuilder, VizLegendOptionsBuilder, VizTooltipOptionsBuilder, GraphDrawStyle, LegendDisplayMode,
  LegendPlacement, SortOrder, StackingMode, StackingConfigBuilder, TooltipDisplayMode, BigValueGraphMode } from "@grafana/grafana-foundation-sdk/common";
import { DashboardBuilder, DashboardCursorSync, DatasourceVariableBuilder, MappingType, QueryVariableBuilder, RowBuilder,
  ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh, VariableSort } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as StateTimelineBuilder } from "@grafana/grafana-foundation-sdk/statetimeline";
import { PanelBuilder as TableBuilder } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

const here = dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_FILE = resolve(here, "../base/dashboards/tacos.json");

const DS = { type: "prometheus", uid: "$datasource" };
const RI = "$__rate_interval";
const EVENT = 'namespace="tacos", event="$event"';

// p99 of a histogram, by the labels given (le added).
const p99 = (metric, by) =>
  `histogram_quantile(0.99, sum by (${[...by, "le"].join(", ")}) (rate(${metric}_bucket{namespace="tacos"}[${RI}])))`;

// A panel: a time series unless `kind` says otherwise; `targets`: [expr, legend] pairs.
const ts = (title, unit, targets, more = {}) => ({ kind: "timeseries", title, unit, targets, ...more });
const stat = (title, unit, targets, more = {}) => ({ kind: "stat", title, unit, targets, ...more });

/** The rows and their panels (what the dashboard shows; build() turns it into Grafana's JSON). */
export const ROWS = [
  {
    title: "Event $event (the organiser's view)",
    panels: [
      stat("Waiting now", "short", [[`max(tacos_queue_waiting{${EVENT}})`, "waiting"]], { description: "People in the line, pre-queue included" }),
      stat("Active buyers", "short", [[`max(tacos_queue_active_buyers{${EVENT}})`, "active buyers"]], { description: "Admitted and not finished (counts against the event's active-buyer cap)" }),
      stat("Oldest wait", "s", [[`max(tacos_queue_oldest_wait_seconds{${EVENT}})`, "oldest wait"]], { description: "How long the place next in line has waited (to the second; the pre-queue from the opening)" }),
      stat("Seats sold in the time range", "short", [[`sum(increase(tacos_reservation_seats_sold_total{${EVENT}}[$__range]))`, "seats"]]),
      ts("Waiting and active buyers", "short", [
        [`max(tacos_queue_waiting{${EVENT}})`, "waiting"],
        [`max(tacos_queue_active_buyers{${EVENT}})`, "active buyers"],
      ]),
      ts("Admitted, admission rate and abandonment", "ops", [
        [`max(rate(tacos_queue_admitted_total{${EVENT}}[${RI}]))`, "admitted/s"],
        [`max(tacos_queue_admission_rate{${EVENT}})`, "admission rate (measured)"],
        [`max(rate(tacos_queue_abandoned_total{${EVENT}}[${RI}]))`, "abandoned/s"],
      ], { description: "Admissions per second from the counter and the queue's own smoothed measure; places released because their holder stopped polling" }),
      ts("Seats sold per second", "ops", [[`sum(rate(tacos_reservation_seats_sold_total{${EVENT}}[${RI}]))`, "seats/s"]]),
      ts("Seats by status", "short", [[`max by (status) (tacos_inventory_seats{${EVENT}})`, "{{status}}"]], {
        description: "Available, held and sold, as the inventory sees them (max over its replicas)",
      }),
      ts("Holds taken and failed by reason (all events)", "ops", [
        [`sum(rate(tacos_reservation_holds_total{namespace="tacos"}[${RI}]))`, "taken"],
        [`sum by (reason) (rate(tacos_reservation_hold_failures_total{namespace="tacos"}[${RI}]))`, "failed: {{reason}}"],
      ]),
      ts("Sales and released holds (all events)", "ops", [
        [`sum(rate(tacos_reservation_confirmed_total{namespace="tacos"}[${RI}]))`, "confirmed (sales)"],
        [`sum(rate(tacos_reservation_expired_total{namespace="tacos"}[${RI}]))`, "expired"],
        [`sum(rate(tacos_reservation_cancelled_total{namespace="tacos"}[${RI}]))`, "cancelled"],
      ]),
      ts("Joins (all events)", "ops", [[`sum(rate(tacos_queue_joins_total{namespace="tacos"}[${RI}]))`, "joins/s"]]),
    ],
  },
  {
    title: "HTTP per route",
    panels: [
      ts("Requests per second", "reqps", [[`sum by (service, route) (rate(tacos_http_requests_total{namespace="tacos"}[${RI}]))`, "{{service}} {{route}}"]]),
      ts("Error ratio (5xx)", "percentunit", [[
        // "or 0 * ...": a route without a 5xx shows 0, not a gap.
        `(sum by (service, route) (rate(tacos_http_requests_total{namespace="tacos", status=~"5.."}[${RI}]))
    or 0 * sum by (service, route) (rate(tacos_http_requests_total{namespace="tacos"}[${RI}])))
  / sum by (service, route) (rate(tacos_http_requests_total{namespace="tacos"}[${RI}]))`,
        "{{service}} {{route}}",
      ]], { description: "The objective is 99.5 % below 500 (alerts TacosErrorBudgetFastBurn and SlowBurn)" }),
      ts("p99 latency", "s", [[p99("tacos_http_request_duration_seconds", ["service", "route"]), "{{service}} {{route}}"]], {
        exemplars: true,
        description: "With tracing on, the dots are exemplars: traces of requests in those buckets",
      }),
      ts("Responses by status class", "reqps", [[
        `sum by (service, status) (rate(tacos_http_requests_total{namespace="tacos", status=~"[45].."}[${RI}]))`,
        "{{service}} {{status}}",
      ]], { description: "4xx and 5xx answers by role" }),
      ts("Gateway: rate-limit decisions", "reqps", [[
        `sum by (class, outcome) (rate(tacos_gateway_rate_limit_decisions_total{namespace="tacos"}[${RI}]))`,
        "{{class}} {{outcome}}",
      ]]),
      ts("Gateway: idempotent replays", "reqps", [[
        `sum by (outcome) (rate(tacos_gateway_idempotency_requests_total{namespace="tacos"}[${RI}]))`,
        "{{outcome}}",
      ]], { description: "POSTs with an Idempotency-Key that did not run: replayed, in_flight, mismatch" }),
    ],
  },
  {
    title: "Internal clients (role to role)",
    panels: [
      ts("Call p99 by upstream", "s", [[p99("tacos_client_request_duration_seconds", ["service", "upstream"]), "{{service}} → {{upstream}}"]], { description: "Retries included" }),
      ts("Failed calls by upstream", "reqps", [[
        `sum by (service, upstream) (rate(tacos_client_requests_total{namespace="tacos", outcome="error"}[${RI}]))`,
        "{{service}} → {{upstream}}",
      ]]),
      {
        kind: "statetimeline",
        title: "Breaker state",
        unit: "short",
        targets: [[`max by (service, upstream) (tacos_client_breaker_state{namespace="tacos"})`, "{{service}} → {{upstream}}"]],
        description: "0 closed, 1 open (calls fail fast), 2 half-open (one probe at a time)",
      },
      ts("Breaker trips", "short", [[
        `sum by (service, upstream) (increase(tacos_client_breaker_trips_total{namespace="tacos"}[${RI}]))`,
        "{{service}} → {{upstream}}",
      ]], { bars: true }),
      ts("Retries per second", "ops", [[
        `sum by (service, upstream) (rate(tacos_client_retries_total{namespace="tacos"}[${RI}]))`,
        "{{service}} → {{upstream}}",
      ]]),
    ],
  },
  {
    title: "Worker and jobs",
    panels: [
      ts("Backlog by kind (due, not run)", "short", [[`max by (kind) (tacos_worker_backlog_jobs{namespace="tacos"})`, "{{kind}}"]]),
      ts("Oldest due job by kind", "s", [[`max by (kind) (tacos_worker_oldest_job_age_seconds{namespace="tacos"})`, "{{kind}}"]]),
      ts("Job lag p99 by kind", "s", [[p99("tacos_worker_job_lag_seconds", ["kind"]), "{{kind}}"]], {
        description: "From a job's due time to the start of its run",
      }),
      ts("Hold expiry lag p99", "s", [[p99("tacos_reservation_hold_expiry_lag_seconds", []), "p99"]], {
        description: "From a hold's expiry time to the commit that released its seats (alert above 30 s)",
      }),
      ts("Attempts by kind and outcome", "ops", [[
        `sum by (kind, outcome) (rate(tacos_worker_jobs_total{namespace="tacos"}[${RI}]))`,
        "{{kind}} {{outcome}}",
      ]]),
      ts("Dead letters", "short", [[`sum(increase(tacos_worker_dead_letters_total{namespace="tacos"}[${RI}]))`, "dead letters"]], { bars: true }),
    ],
  },
  {
    title: "Payments",
    panels: [
      ts("Payment intents by outcome", "ops", [[`sum by (outcome) (rate(tacos_payment_intents_total{namespace="tacos"}[${RI}]))`, "{{outcome}}"]]),
      ts("Webhook deliveries by outcome and attempt", "ops", [[
        `sum by (outcome, attempt) (rate(tacos_worker_jobs_total{namespace="tacos", kind="webhook.deliver"}[${RI}]))`,
        "{{outcome}} (attempt {{attempt}})",
      ]]),
      ts("Settlements by outcome and attempt", "ops", [[
        `sum by (outcome, attempt) (rate(tacos_worker_jobs_total{namespace="tacos", kind="payment.settle"}[${RI}]))`,
        "{{outcome}} (attempt {{attempt}})",
      ]]),
    ],
  },
  {
    title: "Store",
    panels: [
      ts("Transaction p99", "s", [[p99("tacos_store_transaction_duration_seconds", ["service"]), "{{service}}"]], { exemplars: true, description: "Write transactions, BEGIN to COMMIT (alert above 250 ms); with tracing on, the dots are exemplars" }),
      ts("Commit (fsync) p99", "s", [[p99("tacos_store_commit_duration_seconds", ["service"]), "{{service}}"]]),
      ts("Pool wait p99", "s", [[p99("tacos_store_pool_wait_seconds", ["service"]), "{{service}}"]], { description: "Waits for a PostgreSQL writer connection (store.postgres_writers)" }),
      ts("Commit batch size", "short", [
        [`sum by (service) (rate(tacos_store_commit_batch_size_sum{namespace="tacos"}[${RI}]))
  / sum by (service) (rate(tacos_store_commit_batch_size_count{namespace="tacos"}[${RI}]))`, "{{service}} mean"],
        [p99("tacos_store_commit_batch_size", ["service"]), "{{service}} p99"],
      ], { description: "Write operations per group commit" }),
      ts("Commits and operations per second", "ops", [
        [`sum by (service) (rate(tacos_store_commits_total{namespace="tacos"}[${RI}]))`, "{{service}} commits"],
        [`sum by (service) (rate(tacos_store_ops_total{namespace="tacos"}[${RI}]))`, "{{service}} ops"],
      ]),
      ts("Queued operations and connection errors", "short", [
        [`sum by (service) (tacos_store_queued_ops{namespace="tacos"})`, "{{service}} queued"],
        [`sum by (service) (increase(tacos_store_connection_errors_total{namespace="tacos"}[${RI}]))`, "{{service}} connection errors"],
      ]),
    ],
  },
  {
    title: "Redis",
    panels: [
      ts("Call p99", "s", [[p99("tacos_kv_call_duration_seconds", ["service"]), "{{service}}"]], { exemplars: true }),
      ts("Calls and errors per second", "ops", [
        [`sum by (service) (rate(tacos_kv_call_duration_seconds_count{namespace="tacos"}[${RI}]))`, "{{service}} calls"],
        [`sum by (service) (rate(tacos_kv_errors_total{namespace="tacos"}[${RI}]))`, "{{service}} errors"],
      ]),
    ],
  },
  {
    title: "Process",
    panels: [
      ts("CPU", "short", [[`sum by (service, pod) (rate(tacos_process_cpu_seconds_total{namespace="tacos"}[${RI}]))`, "{{pod}}"]], { description: "Cores used" }),
      ts("Resident memory", "bytes", [[`sum by (service, pod) (tacos_process_resident_memory_bytes{namespace="tacos"})`, "{{pod}}"]]),
      ts("Open file descriptors", "short", [[`sum by (service, pod) (tacos_process_open_fds{namespace="tacos"})`, "{{pod}}"]]),
      ts("Open HTTP connections", "short", [[`sum by (service, pod) (tacos_http_open_connections{namespace="tacos"})`, "{{pod}}"]]),
      {
        kind: "table",
        title: "Builds running",
        targets: [[`count by (service, version, revision) (tacos_build_info{namespace="tacos"})`, ""]],
        columns: { Value: "pods" },
        description: "Pods per role and build (two builds of a role: a rollout in progress)",
      },
    ],
  },
];

const REF_IDS = "ABCDEFGHIJ";

function panelBuilder(p) {
  const targets = p.targets.map(([expr, legend], i) => {
    let q = new DataqueryBuilder().refId(REF_IDS[i]).expr(expr).legendFormat(legend);
    // Exemplars: the traces of requests in the buckets (tacos serves them in OpenMetrics).
    if (p.exemplars) q = q.exemplar(true);
    // Tables and stats show the value now (one instant query); the others a range.
    if (p.kind === "table") return q.instant().format(PromQueryFormat.Table);
    return p.kind === "stat" ? q.instant() : q.range();
  });
  let b;
  switch (p.kind) {
    case "stat":
      b = new StatBuilder().graphMode(BigValueGraphMode.None).reduceOptions(new ReduceDataOptionsBuilder().calcs(["lastNotNull"]));
      break;
    case "table":
      // The labels and the value (renamed), not the time.
      b = new TableBuilder().withTransformation({
        id: "organize",
        options: { excludeByName: { Time: true }, renameByName: p.columns ?? {} },
      });
      break;
    case "statetimeline":
      b = new StateTimelineBuilder()
        .mappings([{ type: MappingType.ValueToText, options: {
          0: { text: "closed", color: "green", index: 0 },
          1: { text: "open", color: "red", index: 1 },
          2: { text: "half-open", color: "orange", index: 2 },
        } }])
        .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: "green" }]));
      break;
    default:
      b = new TimeseriesBuilder()
        .min(0)
        .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
        .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
      if (p.bars) b = b.drawStyle(GraphDrawStyle.Bars).fillOpacity(80).stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  }
  // Four stats or three other panels a line (the SDK wraps a full line of 24 columns).
  b = b.title(p.title).datasource(DS).span(p.kind === "stat" ? 6 : 8).height(p.kind === "stat" ? 4 : 8);
  if (p.unit) b = b.unit(p.unit);
  if (p.description) b = b.description(p.description);
  for (const t of targets) b = b.withTarget(t);
  return b;
}

/** The dashboard as Grafana's JSON model. */
export function build() {
  let d = new DashboardBuilder("Traffic Tacos")
    .uid("traffic-tacos")
    .description("An on-sale as the organiser and the operator see it (generated by deploy/check/dashboard.mjs)")
    .tags(["tacos"])
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .timezone("browser")
    .tooltip(DashboardCursorSync.Crosshair)
    .editable()
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(
      new QueryVariableBuilder("event")
        .label("Event")
        .datasource(DS)
        .query("label_values(tacos_queue_waiting, event)")
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    );
  let id = 1;
  for (const row of ROWS) {
    d = d.withRow(new RowBuilder(row.title).id(id++));
    for (const p of row.panels) d = d.withPanel(panelBuilder(p).id(id++));
  }
  const model = d.build();
  // The SDK wraps a line only once it is full: widths must add up to 24 on every line.
  for (const p of model.panels) {
    if (p.gridPos.x + p.gridPos.w > 24) throw new Error(`panel ${p.title} runs past the grid's 24 columns`);
  }
  return model;
}

/** The file's text: the model, two-space indented, with a final newline. */
export const render = () => `${JSON.stringify(build(), null, 2)}\n`;

function main() {
  if (process.argv.includes("--check")) {
    // Regenerated into a temporary file, then compared with the committed one.
    const dir = mkdtempSync(join(tmpdir(), "tacos-dashboard-"));
    try {
      const fresh = join(dir, "tacos.json");
      writeFileSync(fresh, render());
      let committed = "";
      try {
        committed = readFileSync(DASHBOARD_FILE, "utf8");
      } catch {
        // missing: reported below
      }
      if (readFileSync(fresh, "utf8") !== committed) {
        console.log(`not ok ${DASHBOARD_FILE} is not what dashboard.mjs makes: run \`node dashboard.mjs\` in deploy/check and commit it`);
        console.log("dashboard: 0 passed, 1 failed");
        process.exit(1);
      }
      console.log(`ok ${DASHBOARD_FILE} is up to date`);
      console.log("dashboard: 1 passed, 0 failed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  writeFileSync(DASHBOARD_FILE, render());
  console.log(`wrote ${DASHBOARD_FILE}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
