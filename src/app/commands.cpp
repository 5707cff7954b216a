#include "app/commands.hpp"

#include <array>
#include <cstdio>
#include <iostream>
#include <thread>

#include "app/build_info.hpp"
#include "app/context.hpp"
#include "app/roles.hpp"
#include "auth/jwks.hpp"
#include "auth/signed_token.hpp"
#include "auth/webhook_signer.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "net/http_fetch.hpp"
#include "net/middleware.hpp"
#include "net/ops.hpp"
#include "roles/gateway/accounts.hpp"
#include "roles/gateway/auth_middleware.hpp"
#include "roles/gateway/edge_middleware.hpp"
#include "roles/gateway/idempotency.hpp"
#include "roles/gateway/rate_limit_middleware.hpp"
#include "roles/inventory/catalogue.hpp"
#include "roles/inventory/client.hpp"
#include "roles/inventory/hold_book.hpp"
#include "roles/payment/service.hpp"
#include "roles/queue/service.hpp"
#include "roles/reservation/service.hpp"
#include "roles/worker/job_runner.hpp"

namespace tacos::app {

Context::Context(const config::Config& c, const Clock& clk) : config(c), clock(clk) {}
Context::~Context() = default;

namespace {

constexpr const char* kTopHelp = R"(tacos: the Traffic Tacos ticketing platform in one binary.

Usage:
  tacos serve   [--roles all|ROLE,...] [--config FILE] [--print-config] [--KEY=VALUE ...]
  tacos migrate [--config FILE] [--KEY=VALUE ...]
  tacos version
  tacos config-reference
  tacos COMMAND --help

Configuration: defaults < --config FILE (or TACOS_CONFIG) < TACOS_* environment < --KEY=VALUE flags.
Run `tacos config-reference` for every key.
)";

constexpr const char* kServeHelp = R"(tacos serve: run the server with the given roles.

Usage: tacos serve [--roles all|ROLE,...] [--config FILE] [--print-config] [--KEY=VALUE ...]

  --roles LIST      `all` (default) or a comma list of: gateway, queue, inventory, reservation,
                    payment, worker. Roles start in dependency order and stop in reverse.
  --config FILE     INI file ([section] then key = value); also TACOS_CONFIG.
  --print-config    print the effective configuration (secrets redacted) and exit.
  --KEY=VALUE       any configuration key, e.g. --http.port=9090 (see `tacos config-reference`).

In embedded mode the SQLite schema is migrated at start-up. SIGTERM/SIGINT stop accepting
connections and let in-flight requests finish within http.shutdown_timeout_ms.
Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on bad configuration.
)";

constexpr const char* kMigrateHelp = R"(tacos migrate: apply pending schema migrations and exit.

Usage: tacos migrate [--config FILE] [--KEY=VALUE ...]

Uses store.data_dir (the embedded SQLite store). Prints each migration it applies.
)";

constexpr const char* kVersionHelp = R"(tacos version: print version, git commit and build time.

Usage: tacos version
)";

struct ParsedFlags {
  std::string config_file;
  bool print_config = false;
  bool help = false;
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<std::string> errors;
};

ParsedFlags parse_flags(const std::vector<std::string>& args, std::size_t from) {
  ParsedFlags f;
  if (const char* env = std::getenv("TACOS_CONFIG")) f.config_file = env;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      f.help = true;
      continue;
    }
    if (a == "--print-config") {
      f.print_config = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      f.errors.push_back("unexpected argument '" + a + "'");
      continue;
    }
    std::string key = a.substr(2);
    std::string value;
    auto eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      value = args[++i];
    } else {
      f.errors.push_back("flag --" + key + " needs a value");
      continue;
    }
    if (key == "config")
      f.config_file = value;
    else
      f.settings.emplace_back(key, value);
  }
  return f;
}

// Which configuration key sets which class of rate limit.
struct LimitKey {
  std::string_view key;
  gateway::LimitClass cls;
};
constexpr std::array kLimitKeys{
    LimitKey{"rate_limit.per_ip", gateway::LimitClass::ip},
    LimitKey{"rate_limit.auth_per_ip", gateway::LimitClass::auth_ip},
    LimitKey{"rate_limit.login_per_username", gateway::LimitClass::login_user},
    LimitKey{"rate_limit.per_user", gateway::LimitClass::user},
    LimitKey{"rate_limit.queue_poll", gateway::LimitClass::queue_poll},
    LimitKey{"rate_limit.writes", gateway::LimitClass::writes},
};

gateway::RateLimitSettings rate_limit_settings(const config::Config& cfg) {
  gateway::RateLimitSettings s;
  s.enabled = cfg.boolean("rate_limit.enabled");
  s.shadow = cfg.boolean("rate_limit.shadow");
  s.trusted_proxies = gateway::parse_networks(cfg.string("rate_limit.trusted_proxies")).value();  // validated
  for (auto k : kLimitKeys) s[k.cls] = gateway::Limit::parse(cfg.string(k.key)).value();
  return s;
}

// Loads configuration or prints every problem and returns nullopt.
std::optional<config::Config> load_config(const ParsedFlags& flags) {
  auto loaded = config::load(flags.config_file, config::process_environment(), flags.settings);
  auto errors = flags.errors;
  errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
  if (loaded.ok()) {
    if (auto roles = resolve_roles(loaded.config.string("roles")); !roles) {
      errors.push_back(loaded.config.value("roles").source + ": roles: " + roles.error().message);
    }
    if (const auto& s = loaded.config.value("payment.webhook_secret"); !s.text.empty() && s.text.size() < 32) {
      errors.push_back(s.source + ": payment.webhook_secret: must be at least 32 bytes");
    }
    for (auto cls : kLimitKeys) {
      const auto& v = loaded.config.value(cls.key);
      if (auto l = gateway::Limit::parse(v.text); !l)
        errors.push_back(v.source + ": " + std::string(cls.key) + ": " + l.error().message);
    }
    if (const auto& v = loaded.config.value("rate_limit.trusted_proxies"); !gateway::parse_networks(v.text)) {
      errors.push_back(v.source + ": rate_limit.trusted_proxies: " + gateway::parse_networks(v.text).error().message);
    }
    if (const auto& keys = loaded.config.value("queue.token_keys"); !keys.text.empty()) {
      if (auto ring = auth::TokenSigner::parse_keyring(keys.text); !ring) {
        errors.push_back(keys.source + ": queue.token_keys: " + ring.error().message);
      }
    }
    if (const auto& url = loaded.config.value("auth.jwks_url"); !url.text.empty()) {
      if (auto u = net::parse_http_url(url.text); !u)
        errors.push_back(url.source + ": auth.jwks_url: " + u.error().message);
      for (const char* key : {"auth.jwks_issuer", "auth.jwks_audience"}) {
        if (loaded.config.string(key).empty())
          errors.push_back(std::string(key) + ": required when auth.jwks_url is set");
      }
    }
  }
  if (!errors.empty()) {
    std::cerr << "tacos: invalid configuration (" << errors.size() << " problem" << (errors.size() == 1 ? "" : "s")
              << "):\n";
    for (const auto& e : errors) std::cerr << "  - " << e << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// The external identity provider's verifier, or null when auth.jwks_url is empty. Fetches the
// key set once now; a failure is only a warning (verification retries on demand).
std::unique_ptr<auth::JwksVerifier> make_jwks_verifier(const config::Config& cfg, Context& ctx) {
  auto url = cfg.string("auth.jwks_url");
  if (url.empty()) return nullptr;
  auto target = net::parse_http_url(url).value();  // checked by load_config
  auth::JwksSettings s;
  s.issuer = cfg.string("auth.jwks_issuer");
  s.audience = cfg.string("auth.jwks_audience");
  s.role_claim = cfg.string("auth.jwks_role_claim");
  s.leeway_sec = cfg.integer("auth.clock_skew_sec");
  s.refresh_min_interval_ms = cfg.integer("auth.jwks_refresh_min_sec") * 1000;
  s.cache_ttl_ms = cfg.integer("auth.jwks_cache_ttl_sec") * 1000;
  net::FetchOptions fetch;
  fetch.timeout_ms = 2000;  // an unknown kid fetches on the request's I/O thread: keep it short
  auto* pool = ctx.blocking.get();
  auto v = std::make_unique<auth::JwksVerifier>(
      s, [target, fetch] { return net::http_get(target, fetch); }, ctx.clock,
      [pool](std::function<void()> work) { pool->submit(std::move(work)); });
  auto* raw = v.get();
  for (const char* outcome : {"ok", "error", "invalid"}) {
    ctx.metrics.counter_fn(
        "tacos_auth_jwks_fetches_total", "JWKS fetches from the identity provider by outcome", {{"outcome", outcome}},
        [raw, o = std::string(outcome)] {
          auto st = raw->stats();
          return static_cast<double>(o == "ok" ? st.fetch_ok : o == "error" ? st.fetch_error : st.fetch_invalid);
        });
  }
  ctx.metrics.gauge_fn("tacos_auth_jwks_keys", "Usable keys in the cached JWKS", {},
                       [raw] { return static_cast<double>(raw->stats().keys); });
  if (auto st = v->refresh(); !st) {
    log::warn("identity provider JWKS not loaded at start; retried when a token needs it",
              {log::str("url", url), log::str("error", st.error().message)});
  }
  return v;
}

std::unique_ptr<store::Store> open_store(const config::Config& cfg) {
  store::SqliteOptions o;
  o.data_dir = cfg.string("store.data_dir");
  o.synchronous_full = cfg.string("store.sqlite_synchronous") == "full";
  return store::open_sqlite(o);
}

void init_logging(const config::Config& cfg, std::string_view role) {
  log::Level level = log::Level::info;
  log::parse_level(cfg.string("log.level"), level);
  log::init(level, role);
}

int cmd_serve(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1);
  if (flags.help) {
    std::cout << kServeHelp;
    return 0;
  }
  auto cfg = load_config(flags);
  if (!cfg) return 2;
  if (flags.print_config) {
    std::cout << cfg->print();
    return 0;
  }
  auto roles = resolve_roles(cfg->string("roles")).value();
  std::string role_names;
  for (const auto* r : roles) role_names += (role_names.empty() ? "" : ",") + std::string(r->name);
  init_logging(*cfg, cfg->string("roles") == "all" ? "all" : role_names);

  Context ctx(*cfg, SystemClock::instance());
  std::vector<const RoleSpec*> started;
  // Stops what started, in reverse, then drains the ledger (whose callbacks use the services)
  // and background work. Runs on a clean exit and on a failed start alike: threads must not
  // outlive the services they call.
  auto stop_all = [&] {
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      try {
        (*it)->stop(ctx);
        log::info("role stopped", {log::str("role", (*it)->name)});
      } catch (const std::exception& e) {
        log::error("role failed to stop", {log::str("role", (*it)->name), log::str("error", e.what())});
      }
    }
    started.clear();
    if (ctx.store) ctx.store->ledger().stop();
    if (ctx.blocking) ctx.blocking->join();
  };
  try {
    ctx.store = open_store(*cfg);
    auto applied = ctx.store->migrate();
    auto secret = cfg->string("auth.jwt_secret");
    if (secret.empty()) {
      log::warn("auth.jwt_secret is not set: using a random secret, tokens will not survive a restart");
      secret = random_bytes(32);
    }
    ctx.jwt = std::make_unique<auth::HsJwt>(
        auth::JwtSettings{secret, cfg->string("auth.jwt_issuer"), cfg->string("auth.jwt_audience"),
                          cfg->integer("auth.token_ttl_sec"), cfg->integer("auth.clock_skew_sec")},
        ctx.clock);
    ctx.hasher = std::make_unique<auth::PasswordHasher>(
        auth::PasswordCost{static_cast<std::uint64_t>(cfg->integer("auth.argon2_ops")),
                           static_cast<std::uint64_t>(cfg->integer("auth.argon2_mem_kib")) * 1024});
    int threads = static_cast<int>(cfg->integer("http.threads"));
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ctx.blocking = std::make_unique<net::BlockingPool>(std::max(2, threads));
    ctx.jwks = make_jwks_verifier(*cfg, ctx);

    // In order for before(), reversed for after(): ids and metrics see every request (CORS
    // preflights, refusals and auth failures included); headers decorate every answer, errors
    // too. Per-IP limits come before the cost of checking a token; per-user limits and
    // idempotency need to know the caller.
    ctx.rate_limits = std::make_unique<gateway::MemoryRateLimitStore>();
    ctx.idempotency = std::make_unique<gateway::MemoryIdempotencyStore>(
        cfg->integer("idempotency.ttl_sec") * 1000, static_cast<std::size_t>(cfg->integer("idempotency.max_entries")));
    auto limiter =
        std::make_shared<gateway::RateLimiter>(rate_limit_settings(*cfg), *ctx.rate_limits, ctx.clock, ctx.metrics);
    ctx.middleware = {
        std::make_shared<net::RequestIdMiddleware>(),
        std::make_shared<net::ObservabilityMiddleware>(ctx.metrics, cfg->boolean("http.access_log")),
        std::make_shared<gateway::SecurityHeadersMiddleware>(cfg->boolean("http.behind_tls")),
        std::make_shared<gateway::CorsMiddleware>(
            gateway::CorsMiddleware::parse_origins(cfg->string("http.cors_allowed_origins")),
            cfg->string("http.cors_allowed_headers")),
        std::make_shared<gateway::RateLimitEdgeMiddleware>(limiter),
        std::make_shared<gateway::AuthMiddleware>(*ctx.jwt, ctx.jwks.get()),
        std::make_shared<gateway::RateLimitUserMiddleware>(limiter),
        std::make_shared<gateway::IdempotencyMiddleware>(*ctx.idempotency, ctx.clock, ctx.metrics),
    };

    for (const auto* r : roles) {
      started.push_back(r);  // a role that throws half-way may have started threads: stop it too
      r->start(ctx);
      log::info("role started", {log::str("role", r->name)});
    }
    {
      auto* ledger = &ctx.store->ledger();
      ctx.metrics.counter_fn("tacos_store_commits_total", "Group commits (one fsync each)", {},
                             [ledger] { return static_cast<double>(ledger->stats().batches); });
      ctx.metrics.counter_fn("tacos_store_ops_total", "Write operations committed or rolled back", {},
                             [ledger] { return static_cast<double>(ledger->stats().ops); });
      ctx.metrics.counter_fn("tacos_store_batch_reruns_total",
                             "Group commits run again with a savepoint per op because one op failed", {},
                             [ledger] { return static_cast<double>(ledger->stats().reruns); });
      ctx.metrics.gauge_fn("tacos_store_queued_ops", "Write operations waiting for the next commit", {},
                           [ledger] { return static_cast<double>(ledger->stats().queued); });
    }
    net::add_ops_routes(
        ctx.router, ctx.metrics, [&ctx] { return ctx.store->ping(); }, build_info());

    net::ServerOptions so;
    so.host = cfg->string("http.host");
    so.port = static_cast<std::uint16_t>(cfg->integer("http.port"));
    so.threads = threads;
    so.max_header_bytes = static_cast<std::size_t>(cfg->integer("http.max_header_bytes"));
    so.max_body_bytes = static_cast<std::size_t>(cfg->integer("http.max_body_bytes"));
    so.max_header_count = static_cast<std::size_t>(cfg->integer("http.max_header_count"));
    so.max_url_bytes = static_cast<std::size_t>(cfg->integer("http.max_url_bytes"));
    so.max_connections = static_cast<int>(cfg->integer("http.max_connections"));
    so.read_timeout_ms = static_cast<int>(cfg->integer("http.read_timeout_ms"));
    so.idle_timeout_ms = static_cast<int>(cfg->integer("http.idle_timeout_ms"));
    so.shutdown_timeout_ms = static_cast<int>(cfg->integer("http.shutdown_timeout_ms"));
    so.port_file = cfg->string("http.port_file");
    net::Server server(so, std::move(ctx.router), ctx.middleware);
    server.listen();
    server.run();

    stop_all();
    log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log::error("fatal", {log::str("error", e.what())});
    std::cerr << "tacos: " << e.what() << "\n";
    stop_all();
    return 1;
  }
}

int cmd_migrate(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, 1);
  if (flags.help) {
    std::cout << kMigrateHelp;
    return 0;
  }
  auto cfg = load_config(flags);
  if (!cfg) return 2;
  if (flags.print_config) {
    std::cout << cfg->print();
    return 0;
  }
  init_logging(*cfg, "migrate");
  try {
    auto store = open_store(*cfg);
    auto applied = store->migrate();
    if (applied.empty()) std::cout << "schema is up to date\n";
    for (const auto& m : applied) std::cout << "applied " << m.version << "_" << m.name << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tacos migrate: " << e.what() << "\n";
    return 1;
  }
}

int cmd_version(const std::vector<std::string>& args) {
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    std::cout << kVersionHelp;
    return 0;
  }
  auto b = build_info();
  std::cout << "tacos " << b.version << " (commit " << b.git_commit << ", built " << b.build_time << ")\n";
  return 0;
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kTopHelp;
    return args.empty() ? 2 : 0;
  }
  const auto& cmd = args[0];
  if (cmd == "serve") return cmd_serve(args);
  if (cmd == "migrate") return cmd_migrate(args);
  if (cmd == "version" || cmd == "--version") return cmd_version(args);
  if (cmd == "config-reference") {
    if (args.size() > 1) {
      std::cout << "tacos config-reference: print every configuration key as a Markdown table.\n";
      return args[1] == "--help" || args[1] == "-h" ? 0 : 2;
    }
    std::cout << config::reference_markdown();
    return 0;
  }
  std::cerr << "tacos: unknown command '" << cmd << "'\n\n" << kTopHelp;
  return 2;
}

}  // namespace tacos::app
