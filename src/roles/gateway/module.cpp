#include "roles/gateway/module.hpp"

#include <array>
#include <future>

#include "auth/jwks.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/upstream.hpp"
#include "roles/gateway/accounts.hpp"
#include "roles/gateway/auth_middleware.hpp"
#include "roles/gateway/client_ip.hpp"
#include "roles/gateway/edge_middleware.hpp"
#include "roles/gateway/http_api.hpp"
#include "roles/gateway/idempotency.hpp"
#include "roles/gateway/rate_limit_middleware.hpp"
#include "roles/gateway/redis_stores.hpp"
#include "roles/gateway/static_files.hpp"
#include "store/store.hpp"

namespace tacos::gateway {

namespace {

using config::KeyDecl;
using T = config::Type;

std::string check_limit(std::string_view v) {
  auto l = Limit::parse(v);
  return l ? std::string() : l.error().message;
}
std::string check_networks(std::string_view v) {
  auto n = parse_networks(v);
  return n ? std::string() : n.error().message;
}
std::string check_url(std::string_view v) {
  auto u = net::parse_http_url(v);
  return u ? std::string() : u.error().message;
}
std::string at_least_32_bytes(std::string_view v) {
  return v.size() < 32 ? "must be at least 32 bytes" : std::string();
}

constexpr std::array kKeys{
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
            "Comma list of proxy addresses or networks (10.0.0.0/8, ::1) whose X-Forwarded-For names the client", 0, 0,
            "", false, check_networks},
    KeyDecl{"rate_limit.per_ip", T::string, "600/s 1200",
            "Every request per client IP, before authentication (COUNT/s|m|h [BURST])", 0, 0, "", false, check_limit},
    KeyDecl{"rate_limit.per_user", T::string, "50/s 100", "Every request per signed-in user", 0, 0, "", false,
            check_limit},
    KeyDecl{"rate_limit.queue_poll", T::string, "2/s 10", "GET /api/v1/queue/status per waiting place (or user)", 0, 0,
            "", false, check_limit},
    KeyDecl{"rate_limit.writes", T::string, "10/s 30",
            "POST/PUT/PATCH/DELETE under /api/v1 (but auth) per user, or per IP when anonymous", 0, 0, "", false,
            check_limit},
    KeyDecl{"rate_limit.auth_per_ip", T::string, "5/s 30", "Login and register attempts per client IP", 0, 0, "", false,
            check_limit},
    KeyDecl{"rate_limit.login_per_username", T::string, "10/m 10",
            "Login attempts per username, from any IP (credential stuffing)", 0, 0, "", false, check_limit},
    KeyDecl{"rate_limit.refuse_reads_when_down", T::boolean, "false",
            "kv.backend=redis and Redis unreachable: refuse reads (503) instead of serving them unchecked"},
    KeyDecl{"rate_limit.refuse_writes_when_down", T::boolean, "true",
            "kv.backend=redis and Redis unreachable: refuse writes (503) instead of serving them unchecked"},
    KeyDecl{"idempotency.ttl_sec", T::integer, "86400", "How long a POST's response is kept for replay by its key", 60,
            7 * 86400},
    KeyDecl{"idempotency.max_entries", T::integer, "200000",
            "Most stored responses; past it the oldest finished ones are dropped early", 1000, 100000000},

    KeyDecl{"auth.jwt_secret", T::string, "",
            "HS256 signing secret, at least 32 bytes; empty generates a random one per process (tokens die on "
            "restart)",
            0, 0, "", true, at_least_32_bytes},
    KeyDecl{"auth.jwt_issuer", T::string, "traffic-tacos", "`iss` claim issued and required"},
    KeyDecl{"auth.jwt_audience", T::string, "traffic-tacos-api", "`aud` claim issued and required"},
    KeyDecl{"auth.token_ttl_sec", T::integer, "3600", "Lifetime of issued access tokens", 60, 30 * 86400},
    KeyDecl{"auth.clock_skew_sec", T::integer, "30", "Leeway for exp/nbf/iat checks", 0, 300},
    KeyDecl{"auth.jwks_url", T::string, "",
            "JWKS URL of an external identity provider (https:// checked against the system trust store, or "
            "http://) whose RS256/ES256 tokens are accepted besides the platform's HS256 ones; empty: platform "
            "tokens only",
            0, 0, "", false, check_url},
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

    KeyDecl{"demo.seed_users", T::boolean, "false",
            "Create the demo accounts the original web app advertises (user01..user10, passwords pwd01..pwd10) if "
            "missing; local development only"},
    KeyDecl{"web.dir", T::string, "web/dist", "Built web UI served at / (skipped when missing)"},
};

// Which configuration key sets which class of rate limit.
struct LimitKey {
  std::string_view key;
  LimitClass cls;
};
constexpr std::array kLimitKeys{
    LimitKey{"rate_limit.per_ip", LimitClass::ip},
    LimitKey{"rate_limit.auth_per_ip", LimitClass::auth_ip},
    LimitKey{"rate_limit.login_per_username", LimitClass::login_user},
    LimitKey{"rate_limit.per_user", LimitClass::user},
    LimitKey{"rate_limit.queue_poll", LimitClass::queue_poll},
    LimitKey{"rate_limit.writes", LimitClass::writes},
};

RateLimitSettings rate_limit_settings(const config::Config& cfg) {
  RateLimitSettings s;
  s.enabled = cfg.boolean("rate_limit.enabled");
  s.shadow = cfg.boolean("rate_limit.shadow");
  s.refuse_reads_when_store_down = cfg.boolean("rate_limit.refuse_reads_when_down");
  s.refuse_writes_when_store_down = cfg.boolean("rate_limit.refuse_writes_when_down");
  s.trusted_proxies = parse_networks(cfg.string("rate_limit.trusted_proxies")).value();  // checked at load
  for (auto k : kLimitKeys) s[k.cls] = Limit::parse(cfg.string(k.key)).value();
  return s;
}

// The external identity provider's verifier, or null when auth.jwks_url is empty. Fetches the key
// set once now; a failure is only a warning (verification retries on demand).
std::unique_ptr<auth::JwksVerifier> make_jwks_verifier(runtime::Env& env) {
  const auto& cfg = env.config;
  auto url = cfg.string("auth.jwks_url");
  if (url.empty()) return nullptr;
  auto target = net::parse_http_url(url).value();  // checked at load
  auth::JwksSettings s;
  s.issuer = cfg.string("auth.jwks_issuer");
  s.audience = cfg.string("auth.jwks_audience");
  s.role_claim = cfg.string("auth.jwks_role_claim");
  s.leeway_sec = cfg.integer("auth.clock_skew_sec");
  s.refresh_min_interval_ms = cfg.integer("auth.jwks_refresh_min_sec") * 1000;
  s.cache_ttl_ms = cfg.integer("auth.jwks_cache_ttl_sec") * 1000;
  // Fetched like any upstream: pooled, with a deadline, retried and behind a breaker. A token
  // with an unknown key waits for this fetch, so it is kept short.
  net::UpstreamOptions o;
  o.name = "jwks";
  o.urls = {target};
  o.request_timeout_ms = 2000;
  o.max_attempts = 2;
  o.max_body_bytes = 1024 * 1024;  // a key set is a few kilobytes
  auto up = std::make_shared<net::Upstream>(env.io, o, env.clock, &env.metrics);
  auto v = std::make_unique<auth::JwksVerifier>(
      s,
      [up](auth::JwksVerifier::Fetched done) {
        net::OutboundRequest r;
        r.idempotent = true;
        up->send(std::move(r), [done = std::move(done)](Result<net::ClientResponse> res) {
          if (!res) return done(res.error());
          if (res->status != 200)
            return done(Error(Errc::unavailable, "the identity provider answered " + std::to_string(res->status)));
          done(std::move(res->body));
        });
      },
      env.clock);
  auto* raw = v.get();
  for (const char* outcome : {"ok", "error", "invalid"}) {
    env.metrics.counter_fn("tacos_auth_jwks_fetches_total", {{"outcome", outcome}}, [raw, o = std::string(outcome)] {
      auto st = raw->stats();
      return static_cast<double>(o == "ok" ? st.fetch_ok : o == "error" ? st.fetch_error : st.fetch_invalid);
    });
  }
  env.metrics.gauge_fn("tacos_auth_jwks_keys", {}, [raw] { return static_cast<double>(raw->stats().keys); });
  return v;
}

class GatewayModule final : public runtime::Module {
 public:
  std::string_view name() const override { return "gateway"; }
  std::vector<std::string_view> needs() const override { return {}; }

  std::vector<std::string> check(const config::Config& cfg) const override {
    std::vector<std::string> problems;
    const auto& admin_pw = cfg.value("auth.admin_password");
    if (!cfg.string("auth.admin_username").empty() && admin_pw.text.size() < 8) {
      problems.push_back(admin_pw.source +
                         ": auth.admin_password: must be at least 8 characters when auth.admin_username is set");
    }
    if (!cfg.string("auth.jwks_url").empty()) {
      for (const char* key : {"auth.jwks_issuer", "auth.jwks_audience"}) {
        if (cfg.string(key).empty()) problems.push_back(std::string(key) + ": required when auth.jwks_url is set");
      }
    }
    return problems;
  }

  void wire(runtime::Env& env) override {
    const auto& cfg = env.config;
    auto& store = env.need_store(name());
    auto secret = cfg.string("auth.jwt_secret");
    if (secret.empty()) {
      log::warn("auth.jwt_secret is not set: using a random secret, tokens will not survive a restart");
      secret = random_bytes(32);
    }
    jwt_ = std::make_unique<auth::HsJwt>(
        auth::JwtSettings{secret, cfg.string("auth.jwt_issuer"), cfg.string("auth.jwt_audience"),
                          cfg.integer("auth.token_ttl_sec"), cfg.integer("auth.clock_skew_sec")},
        env.clock);
    hasher_ = std::make_unique<auth::PasswordHasher>(
        auth::PasswordCost{static_cast<std::uint64_t>(cfg.integer("auth.argon2_ops")),
                           static_cast<std::uint64_t>(cfg.integer("auth.argon2_mem_kib")) * 1024});
    jwks_ = make_jwks_verifier(env);
    accounts_ = std::make_unique<Accounts>(store.users(), *hasher_, *jwt_, env.clock);
    const auto ttl_ms = cfg.integer("idempotency.ttl_sec") * 1000;
    if (env.redis) {
      rate_limits_ = std::make_unique<RedisRateLimitStore>(*env.redis, env.kv_prefix);
      // A claim outlives any request: the longest call to another role, twice, and a minute.
      idempotency_ = std::make_unique<RedisIdempotencyStore>(*env.redis, env.kv_prefix, ttl_ms,
                                                             2 * cfg.integer("internal.request_timeout_ms") + 60'000);
    } else {
      rate_limits_ = std::make_unique<MemoryRateLimitStore>();
      idempotency_ = std::make_unique<MemoryIdempotencyStore>(
          ttl_ms, static_cast<std::size_t>(cfg.integer("idempotency.max_entries")));
    }
    env.teardown.push("gateway services", [this] {
      accounts_.reset();
      jwks_.reset();
      idempotency_.reset();
      rate_limits_.reset();
      hasher_.reset();
      jwt_.reset();
    });
    // In order for before(), reversed for after(): headers decorate every answer, errors too.
    // Per-IP limits come before the cost of checking a token; per-user limits and idempotency
    // need to know the caller. (Request ids and metrics come first, on every listener.)
    auto limiter = std::make_shared<RateLimiter>(rate_limit_settings(cfg), *rate_limits_, env.clock, env.metrics);
    auto& mw = env.public_middleware;
    mw.push_back(std::make_shared<SecurityHeadersMiddleware>(cfg.boolean("http.behind_tls")));
    mw.push_back(
        std::make_shared<CorsMiddleware>(CorsMiddleware::parse_origins(cfg.string("http.cors_allowed_origins")),
                                         cfg.string("http.cors_allowed_headers")));
    mw.push_back(std::make_shared<RateLimitEdgeMiddleware>(limiter));
    mw.push_back(std::make_shared<AuthMiddleware>(*jwt_, jwks_.get()));
    mw.push_back(std::make_shared<RateLimitUserMiddleware>(limiter));
    mw.push_back(std::make_shared<IdempotencyMiddleware>(*idempotency_, env.clock, env.metrics));

    add_auth_routes(env.public_router, *accounts_, env.blocking);
    auto web = std::make_shared<StaticFiles>(cfg.string("web.dir"));
    if (web->empty()) {
      log::info("no web UI to serve", {log::str("web_dir", cfg.string("web.dir"))});
    } else {
      env.public_router.set_fallback([web](net::Request& req, net::Responder res) { res.send(web->serve(req)); });
      log::info("serving the web UI",
                {log::str("web_dir", cfg.string("web.dir")), log::num("files", static_cast<long long>(web->size()))});
    }
  }

  void start(runtime::Env& env) override {
    const auto& cfg = env.config;
    if (jwks_) {
      // Waited for, so the first tokens find their keys; the fetch runs on the I/O threads.
      std::promise<Status> loaded;
      jwks_->refresh([&loaded](Status st) { loaded.set_value(std::move(st)); });
      if (auto st = loaded.get_future().get(); !st) {
        log::warn("identity provider JWKS not loaded at start; retried when a token needs it",
                  {log::str("url", cfg.string("auth.jwks_url")), log::str("error", st.error().message)});
      }
    }
    auto admin = cfg.string("auth.admin_username");
    if (!admin.empty()) {
      auto st = accounts_->ensure_admin(admin, cfg.string("auth.admin_password"), cfg.string("auth.admin_email"));
      if (!st) throw std::runtime_error("initial admin: " + st.error().message);
    }
    if (cfg.boolean("demo.seed_users")) {
      log::warn("demo.seed_users: the demo accounts user01..user10 have well-known passwords (local development only)");
      // Ten Argon2id hashes take seconds: made on the blocking pool while the server starts.
      env.blocking.submit([accounts = accounts_.get()] {
        auto made = accounts->ensure_demo_users();
        if (!made)
          log::error("demo accounts not created", {log::str("error", made.error().message)});
        else if (*made > 0)
          log::info("demo accounts created", {log::num("accounts", *made)});
      });
    }
  }

 private:
  std::unique_ptr<auth::HsJwt> jwt_;
  std::unique_ptr<auth::PasswordHasher> hasher_;
  std::unique_ptr<auth::JwksVerifier> jwks_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<RateLimitStore> rate_limits_;
  std::unique_ptr<IdempotencyStore> idempotency_;
};

}  // namespace

std::span<const config::KeyDecl> keys() { return kKeys; }

std::unique_ptr<runtime::Module> make_module() { return std::make_unique<GatewayModule>(); }

}  // namespace tacos::gateway
