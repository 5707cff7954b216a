// The one place where configuration keys are declared.
#include <algorithm>
#include <array>
#include <vector>

#include "config/config.hpp"

namespace tacos::config {
namespace {

using T = Type;

std::string at_least_32_bytes(std::string_view v) {
  return v.size() < 32 ? "must be at least 32 bytes" : std::string();
}

// A comma list of http(s)://host:port base URLs. Checked by shape here (the net module parses
// them when the process starts).
std::string check_urls(std::string_view list) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.starts_with("http://") && !item.starts_with("https://")) {
      return "'" + std::string(item) + "' is not an http:// or https:// URL";
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return {};
}
constexpr std::int64_t kMiB = 1024 * 1024;

constexpr std::array kKeys{
    KeyDecl{"roles", T::string, "all",
            "Roles this process runs: `all` or a comma list of gateway,queue,inventory,reservation,payment,worker"},
    KeyDecl{"http.host", T::string, "0.0.0.0", "Address the HTTP server binds"},
    KeyDecl{"http.port", T::integer, "8080", "TCP port (0 picks a free one, see http.port_file)", 0, 65535},
    KeyDecl{"http.threads", T::integer, "0", "I/O threads (0 = one per CPU core)", 0, 256},
    KeyDecl{"http.max_header_bytes", T::integer, "16384", "Largest request header block; larger gets 431", 1024, kMiB},
    KeyDecl{"http.max_body_bytes", T::integer, "1048576", "Largest request body; larger gets 413", 1024, 64 * kMiB},
    KeyDecl{"http.max_header_count", T::integer, "100", "Most request header fields; more gets 431", 8, 10000},
    KeyDecl{"http.max_url_bytes", T::integer, "8192", "Longest request target (path and query); longer gets 414", 256,
            kMiB},
    KeyDecl{"http.max_connections", T::integer, "10000",
            "Open connections at once; a connection beyond it is answered 503 TOO_MANY_CONNECTIONS and closed", 1,
            1000000},
    KeyDecl{"http.read_timeout_ms", T::integer, "10000", "Time allowed to receive one whole request", 100, 600000},
    KeyDecl{"http.idle_timeout_ms", T::integer, "60000", "Keep-alive connection idle time before it is closed", 100,
            3600000},
    KeyDecl{"http.shutdown_timeout_ms", T::integer, "10000",
            "On SIGTERM, how long in-flight requests may take before the server exits", 0, 600000},
    KeyDecl{"http.port_file", T::string, "", "If set, the bound port is written to this file once listening"},
    KeyDecl{"http.access_log", T::boolean, "true", "Log one JSON line per request"},
    KeyDecl{"http.access_log_every", T::integer, "1",
            "Access log sampling: log one request in N (under load, say 100); 5xx answers always", 1, 1000000},
    KeyDecl{"tracing.otlp_endpoint", T::string, "",
            "OTLP/HTTP (JSON) traces endpoint, e.g. http://collector:4318/v1/traces; empty: "
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else tracing off"},
    KeyDecl{"tracing.service_name", T::string, "",
            "service.name on the spans; empty: OTEL_SERVICE_NAME, else tacos-<roles> (tacos for all)"},
    KeyDecl{"tracing.sample_ratio", T::string, "",
            "Share of new traces recorded, 0 to 1 (a traceparent's sampled flag decides for the rest); empty: "
            "OTEL_TRACES_SAMPLER_ARG, else 1"},
    KeyDecl{"tracing.queue_spans", T::integer, "8192",
            "Finished spans waiting for export at most; past it spans are dropped (counted), never waited for", 16,
            1048576},
    KeyDecl{"store.backend", T::choice, "sqlite",
            "Where durable state lives: sqlite (embedded, one process) or postgres (store.postgres_url; run "
            "`tacos migrate` first)",
            0, 0, "sqlite|postgres"},
    KeyDecl{"store.data_dir", T::string, "var", "Directory for the embedded database"},
    KeyDecl{"store.sqlite_synchronous", T::choice, "full",
            "SQLite synchronous mode: full survives power loss, normal survives process crashes", 0, 0, "full|normal"},
    KeyDecl{"store.postgres_url", T::string, "",
            "PostgreSQL libpq connection string without the password, e.g. host=db port=5432 dbname=tacos user=tacos"},
    KeyDecl{"store.postgres_password", T::string, "",
            "PostgreSQL password (set it as TACOS_STORE_POSTGRES_PASSWORD, not in a file that is committed)", 0, 0, "",
            true},
    KeyDecl{"store.postgres_password_file", T::string, "",
            "File whose first line is the PostgreSQL password (a mounted secret); used when store.postgres_password is "
            "empty"},
    KeyDecl{"store.postgres_connect_timeout_ms", T::integer, "2000", "Opening a PostgreSQL connection", 10, 600000},
    KeyDecl{"store.postgres_statement_timeout_ms", T::integer, "30000",
            "The server ends a statement that runs longer (statement_timeout)", 10, 3600000},
    KeyDecl{"store.postgres_writers", T::integer, "8",
            "Ledger writer connections: transactions a process runs at once (each holds one connection)", 1, 256},
    KeyDecl{"kv.backend", T::choice, "memory",
            "Where the waiting room and the gateway's rate limits and idempotency records live: memory (this "
            "process) or redis (shared by every replica; kv.redis_*)",
            0, 0, "memory|redis"},
    KeyDecl{"kv.redis_host", T::string, "127.0.0.1", "Redis host"},
    KeyDecl{"kv.redis_port", T::integer, "6379", "Redis port", 1, 65535},
    KeyDecl{"kv.redis_username", T::string, "", "Redis ACL user (empty: AUTH with the password alone)"},
    KeyDecl{"kv.redis_password", T::string, "",
            "Redis password (set it as TACOS_KV_REDIS_PASSWORD, not in a file that is committed)", 0, 0, "", true},
    KeyDecl{"kv.redis_password_file", T::string, "",
            "File whose first line is the Redis password (a mounted secret); used when kv.redis_password is empty"},
    KeyDecl{"kv.redis_connections", T::integer, "2", "Pipelined connections to Redis per process", 1, 64},
    KeyDecl{"kv.redis_timeout_ms", T::integer, "500",
            "A Redis call not answered by then fails (503 to the caller) and its connection is opened again", 10,
            60000},
    KeyDecl{"kv.redis_tls", T::boolean, "false",
            "TLS to Redis (ElastiCache in-transit encryption); the server's certificate and name are verified"},
    KeyDecl{"kv.redis_tls_ca_file", T::string, "",
            "CA certificates (PEM) for Redis's certificate; empty: the system's"},
    KeyDecl{"kv.redis_tls_server_name", T::string, "",
            "Name Redis's certificate must carry (and SNI); empty: kv.redis_host"},
    KeyDecl{"kv.key_prefix", T::string,
            "tacos:", "Prefix of every Redis key (deployments or tests sharing one Redis use different ones)"},
    KeyDecl{"log.level", T::choice, "info", "Log level", 0, 0, "debug|info|warn|error|off"},

    KeyDecl{"internal.host", T::string, "127.0.0.1",
            "Address of the internal listener (the roles' API to each other, /internal/v1), started when a role of "
            "this process is reached from another process or with --force-remote"},
    KeyDecl{"internal.port", T::integer, "9091", "Port of the internal listener (0 picks a free one)", 0, 65535},
    KeyDecl{"internal.port_file", T::string, "", "If set, the internal listener's port is written to this file"},
    KeyDecl{"internal.service_secret", T::string, "",
            "Shared secret every internal call carries (>= 32 bytes; the same in every process); empty: a random "
            "one, usable only within one process (--force-remote)",
            0, 0, "", true, at_least_32_bytes},
    KeyDecl{"internal.connect_timeout_ms", T::integer, "1000", "Connecting to another role", 10, 60000},
    KeyDecl{"internal.request_timeout_ms", T::integer, "10000",
            "The longest a call to another role may take (a nearer deadline of the request being served wins)", 10,
            600000},
    KeyDecl{"internal.max_attempts", T::integer, "3", "Tries of an idempotent call to another role", 1, 10},
    KeyDecl{"internal.breaker_failures", T::integer, "5",
            "Failures in a row that open the circuit breaker of another role", 1, 1000},
    KeyDecl{"internal.breaker_open_ms", T::integer, "2000",
            "How long an open breaker refuses calls before one probe goes through", 10, 600000},
    KeyDecl{"roles.inventory.url", T::string, "",
            "Where the inventory role runs when it is not in this process: http://host:port[,...]", 0, 0, "", false,
            check_urls},
    KeyDecl{"roles.queue.url", T::string, "", "Where the queue role runs when it is not in this process", 0, 0, "",
            false, check_urls},
    KeyDecl{"roles.reservation.url", T::string, "", "Where the reservation role runs when it is not in this process", 0,
            0, "", false, check_urls},
    KeyDecl{"roles.payment.url", T::string, "", "Where the payment role runs when it is not in this process", 0, 0, "",
            false, check_urls},
    KeyDecl{"roles.worker.url", T::string, "",
            "Where the worker runs when it is not in this process (a gateway forwards its admin routes there)", 0, 0,
            "", false, check_urls},
};

}  // namespace

namespace {
std::vector<KeyDecl>& registry() {
  static std::vector<KeyDecl> keys(kKeys.begin(), kKeys.end());
  return keys;
}
}  // namespace

void register_keys(std::span<const KeyDecl> keys) {
  auto& all = registry();
  for (const auto& k : keys) {
    if (std::none_of(all.begin(), all.end(), [&](const KeyDecl& d) { return d.name == k.name; })) all.push_back(k);
  }
}

std::span<const KeyDecl> declarations() { return registry(); }

}  // namespace tacos::config
