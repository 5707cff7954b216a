// The one place where configuration keys are declared.
#include <array>

#include "config/config.hpp"

namespace tacos::config {
namespace {

using T = Type;
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
    KeyDecl{"http.cors_allowed_origins", T::string, "",
            "Comma list of origins browsers may call the API from (e.g. https://tickets.example); empty: none; `*` "
            "allows any origin without credentials"},
    KeyDecl{"http.cors_allowed_headers", T::string,
            "Authorization, Content-Type, Idempotency-Key, X-Request-ID, X-Client-ID, X-Trace-Id, traceparent, "
            "tracestate",
            "Request headers a CORS preflight may ask for (Access-Control-Allow-Headers)"},
    KeyDecl{"http.behind_tls", T::boolean, "false", "Served over TLS (by a proxy): adds Strict-Transport-Security"},

    KeyDecl{"rate_limit.enabled", T::boolean, "true", "Enforce the gateway's rate limits (token buckets)"},
    KeyDecl{"rate_limit.shadow", T::boolean, "false",
            "Count would-be refusals (metric outcome `shadow_rejected`) without refusing anyone"},
    KeyDecl{"rate_limit.trusted_proxies", T::string, "",
            "Comma list of proxy addresses or networks (10.0.0.0/8, ::1) whose X-Forwarded-For names the client"},
    KeyDecl{"rate_limit.per_ip", T::string, "600/s 1200",
            "Every request per client IP, before authentication (COUNT/s|m|h [BURST])"},
    KeyDecl{"rate_limit.per_user", T::string, "50/s 100", "Every request per signed-in user"},
    KeyDecl{"rate_limit.queue_poll", T::string, "2/s 10", "GET /api/v1/queue/status per waiting place (or user)"},
    KeyDecl{"rate_limit.writes", T::string, "10/s 30",
            "POST/PUT/PATCH/DELETE under /api/v1 (but auth) per user, or per IP when anonymous"},
    KeyDecl{"rate_limit.auth_per_ip", T::string, "5/s 30", "Login and register attempts per client IP"},
    KeyDecl{"rate_limit.login_per_username", T::string, "10/m 10",
            "Login attempts per username, from any IP (credential stuffing)"},
    KeyDecl{"idempotency.ttl_sec", T::integer, "86400", "How long a POST's response is kept for replay by its key", 60,
            7 * 86400},
    KeyDecl{"idempotency.max_entries", T::integer, "200000",
            "Most stored responses; past it the oldest finished ones are dropped early", 1000, 100000000},

    KeyDecl{"store.data_dir", T::string, "var", "Directory for the embedded database"},
    KeyDecl{"store.sqlite_synchronous", T::choice, "full",
            "SQLite synchronous mode: full survives power loss, normal survives process crashes", 0, 0, "full|normal"},

    KeyDecl{"auth.jwt_secret", T::string, "",
            "HS256 signing secret, at least 32 bytes; empty generates a random one per process (tokens die on "
            "restart)",
            0, 0, "", true},
    KeyDecl{"auth.jwt_issuer", T::string, "traffic-tacos", "`iss` claim issued and required"},
    KeyDecl{"auth.jwt_audience", T::string, "traffic-tacos-api", "`aud` claim issued and required"},
    KeyDecl{"auth.token_ttl_sec", T::integer, "3600", "Lifetime of issued access tokens", 60, 30 * 86400},
    KeyDecl{"auth.clock_skew_sec", T::integer, "30", "Leeway for exp/nbf/iat checks", 0, 300},
    KeyDecl{"auth.jwks_url", T::string, "",
            "JWKS URL of an external identity provider (https:// checked against the system trust store, or "
            "http://) whose RS256/ES256 tokens are accepted besides the platform's HS256 ones; empty: platform "
            "tokens only"},
    KeyDecl{"auth.jwks_issuer", T::string, "",
            "`iss` required in identity-provider tokens (needed with auth.jwks_url)"},
    KeyDecl{"auth.jwks_audience", T::string, "",
            "`aud` required in identity-provider tokens (needed with auth.jwks_url)"},
    KeyDecl{"auth.jwks_role_claim", T::string, "roles",
            "Claim (string or array; a dotted path for nested ones) that makes an identity-provider user admin "
            "when it holds `admin`"},
    KeyDecl{"auth.jwks_refresh_min_sec", T::integer, "60",
            "Least time between JWKS fetches caused by tokens with an unknown `kid`", 1, 86400},
    KeyDecl{"auth.jwks_cache_ttl_sec", T::integer, "3600", "The JWKS is refetched in the background after this", 10,
            7 * 86400},
    KeyDecl{"auth.argon2_ops", T::integer, "2", "Argon2id passes (libsodium opslimit)", 1, 10},
    KeyDecl{"auth.argon2_mem_kib", T::integer, "65536", "Argon2id memory per hash in KiB", 8, 1048576},
    KeyDecl{"auth.admin_username", T::string, "", "If set with auth.admin_password, this admin is created at start"},
    KeyDecl{"auth.admin_password", T::string, "", "Password of the initial admin", 0, 0, "", true},
    KeyDecl{"auth.admin_email", T::string, "admin@traffic-tacos.local", "Email of the initial admin"},

    KeyDecl{"events.default_hold_ttl_sec", T::integer, "60", "Hold time when an event does not set one", 5, 3600},
    KeyDecl{"events.default_admission_rate", T::integer, "100", "Admissions per second when an event does not set one",
            1, 1000000},
    KeyDecl{"events.default_active_buyer_cap", T::integer, "1000",
            "Admitted buyers who may shop at once when an event does not set it", 1, 1000000},
    KeyDecl{"events.default_max_tickets_per_user", T::integer, "0",
            "Seats or places one user may hold and buy per event, when an event does not set it (0: no limit)", 0,
            1000},

    KeyDecl{"queue.token_keys", T::string, "",
            "Waiting/reservation token keys `kid:secret[,kid:secret...]` (first signs, all verify; secrets >= 32 "
            "bytes); empty uses `<store.data_dir>/queue-token-keys`, created once",
            0, 0, "", true},
    KeyDecl{"queue.waiting_token_ttl_sec", T::integer, "86400", "How long a waiting token stays valid", 60, 30 * 86400},
    KeyDecl{"queue.abandon_after_sec", T::integer, "60", "A waiting user who does not poll this long loses the place",
            5, 86400},
    KeyDecl{"queue.entry_window_sec", T::integer, "120", "Time an admitted user has to call enter", 5, 86400},
    KeyDecl{"queue.reservation_token_ttl_sec", T::integer, "120", "Validity of the single-use reservation token", 5,
            3600},
    KeyDecl{"queue.buyer_timeout_sec", T::integer, "900",
            "An admitted buyer not reported finished by then stops counting against the active-buyer cap", 30, 86400},
    KeyDecl{"queue.tick_ms", T::integer, "20", "How often admission advances", 1, 1000},

    KeyDecl{"payment.webhook_secret", T::string, "",
            "HMAC key of payment webhooks (>= 32 bytes); empty makes a random one per process", 0, 0, "", true},
    KeyDecl{"payment.webhook_url", T::string, "",
            "Where the simulator POSTs webhooks (http://host:port/api/v1/webhooks/payment); empty delivers "
            "in-process, still signed and verified"},
    KeyDecl{"payment.delay_ms", T::integer, "3000", "How long the 'delay' scenario takes to approve", 0, 600000},
    KeyDecl{"payment.settle_after_ms", T::integer, "2000",
            "An intent created with scenario approve, fail or random settles by itself after this", 0, 600000},
    KeyDecl{"payment.random_approval_percent", T::integer, "70", "Share of 'random' payments that are approved", 0,
            100},

    KeyDecl{"worker.max_attempts", T::integer, "8", "Attempts before a job becomes a dead letter", 1, 100},
    KeyDecl{"worker.backoff_base_ms", T::integer, "500", "First retry delay; doubles per attempt, with jitter", 1,
            3600000},
    KeyDecl{"worker.backoff_max_ms", T::integer, "60000", "Longest retry delay", 1, 86400000},
    KeyDecl{"worker.concurrency", T::integer, "256", "Jobs running at once", 1, 100000},

    KeyDecl{"demo.seed", T::boolean, "false", "Create the demo event (10,000 seats, on sale now) if missing"},
    KeyDecl{"demo.seed_users", T::boolean, "false",
            "Create the demo accounts the original web app advertises (user01..user10, passwords pwd01..pwd10) if "
            "missing; local development only"},
    KeyDecl{"web.dir", T::string, "web/dist", "Built web UI served at / (skipped when missing)"},
    KeyDecl{"log.level", T::choice, "info", "Log level", 0, 0, "debug|info|warn|error|off"},
};

}  // namespace

std::span<const KeyDecl> declarations() { return kKeys; }

}  // namespace tacos::config
