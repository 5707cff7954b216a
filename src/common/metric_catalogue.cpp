// Every metric family tacos exposes, in one table: the registry refuses a name, kind or label set
// that is not here, and `tacos metrics-reference` prints it as docs/metrics.md. Names follow
// tacos_<area>_<name>_<unit>; labels are low-cardinality by design (no user, seat or request ids).
#include "common/metrics.hpp"

namespace tacos::metrics {
namespace {

using enum Kind;

constexpr Family kFamilies[] = {
    // process
    {"tacos_build_info", gauge, "version,revision", "Always 1; the labels name the running build"},
    {"tacos_process_cpu_seconds_total", counter, "", "CPU time (user + system) used by the process"},
    {"tacos_process_resident_memory_bytes", gauge, "", "Resident memory of the process"},
    {"tacos_process_open_fds", gauge, "", "File descriptors open in the process (sockets included)"},
    {"tacos_trace_spans_exported_total", counter, "", "Spans the OTLP collector took"},
    {"tacos_trace_spans_dropped_total", counter, "",
     "Spans dropped: the export queue was full, or the collector did not take their batch"},
    // http (every role's server)
    {"tacos_http_requests_total", counter, "route,method,status", "HTTP requests by route, method and status"},
    {"tacos_http_request_duration_seconds", histogram, "route,method,status",
     "HTTP request latency by route, method and status"},
    {"tacos_http_open_connections", gauge, "", "HTTP connections open on this process's server"},
    // internal clients (split roles)
    {"tacos_client_requests_total", counter, "upstream,outcome", "Calls to other roles by outcome (ok, error)"},
    {"tacos_client_request_duration_seconds", histogram, "upstream", "Calls to other roles, retries included"},
    {"tacos_client_breaker_state", gauge, "upstream", "Circuit breaker per upstream: 0 closed, 1 open, 2 half-open"},
    {"tacos_client_breaker_trips_total", counter, "upstream", "Times an upstream's circuit breaker opened"},
    {"tacos_client_retries_total", counter, "upstream", "Calls sent again (idempotent only, within the budget)"},
    // gateway
    {"tacos_gateway_rate_limit_decisions_total", counter, "class,outcome",
     "Rate-limit decisions by bucket class and outcome (shadow_rejected: would have been refused)"},
    {"tacos_gateway_rate_limit_store_down_total", counter, "outcome",
     "Requests whose rate limits could not be checked (shared store down), by outcome"},
    {"tacos_gateway_idempotency_requests_total", counter, "outcome",
     "POSTs with an Idempotency-Key that did not run: replayed, in_flight, mismatch"},
    {"tacos_auth_jwks_fetches_total", counter, "outcome", "JWKS fetches from the identity provider by outcome"},
    {"tacos_auth_jwks_keys", gauge, "", "Usable keys in the cached JWKS"},
    // inventory (per event)
    {"tacos_inventory_seats", gauge, "event,status",
     "Seats (or general-admission places) available, held and sold, as this inventory replica's memory has them"},
    // queue (per event)
    {"tacos_queue_joins_total", counter, "", "Waiting-room joins (new places)"},
    {"tacos_queue_store_failures_total", counter, "", "Times the waiting rooms' changes could not be stored (retried)"},
    {"tacos_queue_waiting", gauge, "event", "People waiting in line (pre-queue included)"},
    {"tacos_queue_active_buyers", gauge, "event", "Admitted buyers who have not finished"},
    {"tacos_queue_oldest_wait_seconds", gauge, "event",
     "How long the place next in line has waited (to the second; the pre-queue from the opening); 0 when nobody "
     "waits"},
    {"tacos_queue_admission_rate", gauge, "event", "Measured admissions per second (smoothed)"},
    {"tacos_queue_admitted_total", counter, "event", "People admitted from the line"},
    {"tacos_queue_abandoned_total", counter, "event", "Places released because polling stopped"},
    // reservation
    {"tacos_reservation_holds_total", counter, "", "Holds made"},
    {"tacos_reservation_hold_failures_total", counter, "reason",
     "Holds refused, by reason (the error code: seat_unavailable, sold_out, limit_exceeded, ...)"},
    {"tacos_reservation_confirmed_total", counter, "", "Reservations confirmed (sales)"},
    {"tacos_reservation_seats_sold_total", counter, "event", "Seats (or general-admission places) sold"},
    {"tacos_reservation_expired_total", counter, "", "Holds released by expiry"},
    {"tacos_reservation_hold_expiry_lag_seconds", histogram, "",
     "From a hold's expiry time to the commit that released its seats"},
    {"tacos_reservation_cancelled_total", counter, "", "Holds cancelled (by the buyer or a failed payment)"},
    // payment
    {"tacos_payment_intents_total", counter, "outcome", "Payment intents by outcome: created, then approved or failed"},
    {"tacos_payment_client_price_mismatches_total", counter, "",
     "Intent requests whose amount or currency differed from the reservation's (charged the reservation's)"},
    // worker
    {"tacos_worker_jobs_total", counter, "kind,outcome,attempt",
     "Job attempts by kind, outcome (succeeded, failed) and attempt number (1, 2, 3, 4+)"},
    {"tacos_worker_job_lag_seconds", histogram, "kind", "Seconds from a job's due time to the start of its run"},
    {"tacos_worker_backlog_jobs", gauge, "kind", "Jobs due and not yet run"},
    {"tacos_worker_oldest_job_age_seconds", gauge, "kind", "Seconds the oldest due job has waited past its due time"},
    {"tacos_worker_dead_letters_total", counter, "", "Jobs moved to dead letters after their last attempt"},
    // store
    {"tacos_store_commits_total", counter, "", "Group commits (one transaction and one fsync each)"},
    {"tacos_store_ops_total", counter, "", "Write operations committed or rolled back"},
    {"tacos_store_batch_reruns_total", counter, "",
     "Group commits run again with a savepoint per op because one op failed"},
    {"tacos_store_queued_ops", gauge, "", "Write operations waiting for the next commit"},
    {"tacos_store_transaction_duration_seconds", histogram, "", "Write transactions, from BEGIN to COMMIT"},
    {"tacos_store_commit_duration_seconds", histogram, "", "COMMIT alone (the fsync, or PostgreSQL's WAL flush)"},
    {"tacos_store_commit_batch_size", histogram, "", "Write operations per group commit"},
    {"tacos_store_pool_wait_seconds", histogram, "", "Waits for a PostgreSQL connection from the pool"},
    {"tacos_store_connection_errors_total", counter, "", "PostgreSQL connections that failed or were dropped"},
    // kv (Redis)
    {"tacos_kv_call_duration_seconds", histogram, "", "Redis commands and scripts, from send to reply"},
    {"tacos_kv_errors_total", counter, "", "Redis calls that failed (unreachable, timed out, or an error reply)"},
};

}  // namespace

std::span<const Family> catalogue() { return kFamilies; }

}  // namespace tacos::metrics
